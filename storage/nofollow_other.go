//go:build !unix

package storage

// oNoFollow is not available here; the Lstat of each component still refuses links.
const oNoFollow = 0
