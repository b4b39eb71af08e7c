//go:build !race

package storagetest

// raceEnabled says whether the race detector, which inflates RSS, is on.
const raceEnabled = false
