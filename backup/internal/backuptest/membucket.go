package backuptest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/storage"
)

// MemBucket is an in-memory storage.Bucket for tests. FailPutAfter > 0 makes a Put of a dump
// object fail once it has read that many bytes, as a broken upload would.
type MemBucket struct {
	mu           sync.Mutex
	objs         map[string][]byte
	FailPutAfter int64
	Puts         []string
	// ReadBack, when SetObject, changes what a Get of a dump object returns.
	ReadBack func(stored []byte) []byte
}

var _ storage.Bucket = (*MemBucket)(nil)

// NewMemBucket returns an empty MemBucket.
func NewMemBucket() *MemBucket { return &MemBucket{objs: map[string][]byte{}} }

// Put stores what r holds under key; FailPutAfter makes it fail part way.
func (b *MemBucket) Put(ctx context.Context, key string, r io.Reader, size int64) (storage.ObjectInfo, error) {
	b.mu.Lock()
	b.Puts = append(b.Puts, key)
	fail := b.FailPutAfter
	b.mu.Unlock()
	var buf bytes.Buffer
	src := r
	if fail > 0 && !strings.HasSuffix(key, format.ManifestName) {
		src = io.LimitReader(r, fail)
	}
	if _, err := io.Copy(&buf, src); err != nil {
		return storage.ObjectInfo{}, err
	}
	if fail > 0 && !strings.HasSuffix(key, format.ManifestName) {
		return storage.ObjectInfo{}, errors.New("injected upload failure")
	}
	if err := ctx.Err(); err != nil {
		return storage.ObjectInfo{}, err
	}
	if size >= 0 && int64(buf.Len()) != size {
		return storage.ObjectInfo{}, fmt.Errorf("size %d, got %d", size, buf.Len())
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.objs[key] = buf.Bytes()
	return storage.ObjectInfo{Key: key, Size: int64(buf.Len()), Modified: time.Now()}, nil
}

// Object returns the bytes stored under key.
func (b *MemBucket) Object(key string) ([]byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.objs[key]
	return v, ok
}

// SetObject stores v under key, replacing what was there.
func (b *MemBucket) SetObject(key string, v []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.objs[key] = v
}

// Get reads the object under key; ReadBack may change what it returns.
func (b *MemBucket) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	v, ok := b.Object(key)
	if !ok {
		return nil, fmt.Errorf("%s: %w", key, storage.ErrNotFound)
	}
	if b.ReadBack != nil && !strings.HasSuffix(key, format.ManifestName) {
		v = b.ReadBack(bytes.Clone(v))
	}
	return io.NopCloser(bytes.NewReader(v)), nil
}

// GetRange reads length bytes of key from offset.
func (b *MemBucket) GetRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	v, ok := b.Object(key)
	if !ok {
		return nil, fmt.Errorf("%s: %w", key, storage.ErrNotFound)
	}
	if offset > int64(len(v)) {
		offset = int64(len(v))
	}
	end := min(offset+length, int64(len(v)))
	return io.NopCloser(bytes.NewReader(v[offset:end])), nil
}

// Stat returns the size of the object under key.
func (b *MemBucket) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	v, ok := b.Object(key)
	if !ok {
		return storage.ObjectInfo{}, fmt.Errorf("%s: %w", key, storage.ErrNotFound)
	}
	return storage.ObjectInfo{Key: key, Size: int64(len(v))}, nil
}

// List returns the objects whose keys start with prefix, in key order.
func (b *MemBucket) List(ctx context.Context, prefix string) ([]storage.ObjectInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []storage.ObjectInfo
	for k, v := range b.objs {
		if strings.HasPrefix(k, prefix) {
			out = append(out, storage.ObjectInfo{Key: k, Size: int64(len(v))})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Delete removes the object under key.
func (b *MemBucket) Delete(ctx context.Context, key string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.objs, key)
	return nil
}

// String names the bucket in messages.
func (b *MemBucket) String() string { return "mem://" }

// Keys returns the keys stored, sorted.
func (b *MemBucket) Keys() []string {
	l, _ := b.List(context.Background(), "")
	var ks []string
	for _, o := range l {
		ks = append(ks, o.Key)
	}
	return ks
}
