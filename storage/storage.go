// Package storage stores backup objects: S3-compatible buckets through minio-go, and a local
// directory for the embedded default.
package storage

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNotFound is returned when an object does not exist.
var ErrNotFound = errors.New("object not found")

// ObjectInfo describes one stored object.
type ObjectInfo struct {
	Key      string    `json:"key"`
	Size     int64     `json:"size"`
	Modified time.Time `json:"modified"`
	// RetainUntil is the end of the object's object-lock retention (zero: none); only Stat
	// fills it.
	RetainUntil time.Time `json:"retain_until,omitzero"`
}

// Bucket is where backups live. Keys are slash-separated and relative to the bucket's prefix.
type Bucket interface {
	// Put streams r into key. size is the exact length, or -1 when unknown. The object becomes
	// visible only when r has been read to EOF and the upload completed; on any error or
	// cancellation nothing is left behind (no object, no incomplete upload).
	Put(ctx context.Context, key string, r io.Reader, size int64) (ObjectInfo, error)
	// Get reads a whole object.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// GetRange reads length bytes starting at offset.
	GetRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error)
	// Stat describes an object, or returns ErrNotFound.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// List returns every object whose key starts with prefix, sorted by key.
	List(ctx context.Context, prefix string) ([]ObjectInfo, error)
	// Delete removes an object; deleting a missing object is not an error.
	Delete(ctx context.Context, key string) error
	// String names the bucket for messages (never with credentials).
	String() string
}
