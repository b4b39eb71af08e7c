package storage

// Hooks for the external tests (package storage_test), which cannot be internal because the
// shared suite imports this package.

// TempPrefix starts the names of files being written.
const TempPrefix = tempPrefix

// TempFile is what a Local Put writes through.
type TempFile = tempFile

// LocalDir returns the directory (with the prefix) of a Local bucket.
func LocalDir(b Bucket) string { return b.(*Local).dir }

// SetCreateTemp replaces how a Local bucket creates its temp files.
func SetCreateTemp(b Bucket, f func(dir, pattern string) (TempFile, error)) {
	b.(*Local).createTemp = f
}

// LoadCAFile reads a CA bundle as Open does.
var LoadCAFile = loadCAFile

// SetDialObserver makes every bucket opened from now on report the addresses it dials to f
// (nil: stop).
func SetDialObserver(f func(network, addr string)) { dialObserver = f }
