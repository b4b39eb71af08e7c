package cli

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/backupctl/backupctl/storage"
)

// readCounter is a bucket whose reads are counted and reported as "verify progress" records
// (at most twice a second), so a verification shows a progress bar on a terminal.
type readCounter struct {
	storage.Bucket
	log   *slog.Logger
	total int64 // the object's size, from the manifest

	mu   sync.Mutex
	read int64
	last time.Time
}

func (b *readCounter) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	rc, err := b.Bucket.Get(ctx, key)
	return b.wrap(rc, err)
}

func (b *readCounter) GetRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	rc, err := b.Bucket.GetRange(ctx, key, offset, length)
	return b.wrap(rc, err)
}

func (b *readCounter) wrap(rc io.ReadCloser, err error) (io.ReadCloser, error) {
	if err != nil {
		return nil, err
	}
	return &countedReader{ReadCloser: rc, b: b}, nil
}

// add counts n bytes read and reports them when the last report is old enough.
func (b *readCounter) add(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.read += int64(n)
	if time.Since(b.last) >= 500*time.Millisecond {
		b.last = time.Now()
		b.log.Info("verify progress", "bytes", b.read, "bytes_total", b.total)
	}
}

// done reports the end of the verification.
func (b *readCounter) done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.log.Info("verify complete", "bytes", b.read, "bytes_total", b.total)
}

type countedReader struct {
	io.ReadCloser
	b *readCounter
}

func (r *countedReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if n > 0 {
		r.b.add(n)
	}
	return n, err
}
