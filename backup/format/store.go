package format

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/backupctl/backupctl/storage"
)

// PutManifest writes m as its backup's manifest.
func PutManifest(ctx context.Context, b storage.Bucket, m *Manifest) error {
	enc, err := m.Encode()
	if err != nil {
		return err
	}
	if _, err := b.Put(ctx, ManifestKey(m.ID), bytes.NewReader(enc), int64(len(enc))); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	return nil
}

// noManifestError is returned for an id without a manifest; it is ErrNoManifest.
type noManifestError struct {
	id    string
	cause error
}

// Error says the backup has no manifest and where to look.
func (e *noManifestError) Error() string {
	return fmt.Sprintf("backup %s has no manifest: it is incomplete or does not exist; `backupctl list` shows the backups", e.id)
}

// Unwrap makes the error ErrNoManifest and its cause.
func (e *noManifestError) Unwrap() []error { return []error{ErrNoManifest, e.cause} }

// LoadManifest reads and checks the manifest of backup id. A missing manifest is ErrNoManifest.
func LoadManifest(ctx context.Context, b storage.Bucket, id string) (*Manifest, error) {
	if err := CheckID(id); err != nil {
		return nil, &noManifestError{id: fmt.Sprintf("%q", id), cause: err}
	}
	data, err := FetchManifest(ctx, b, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, &noManifestError{id: id, cause: err}
	}
	if err != nil {
		return nil, err
	}
	m, err := DecodeManifest(data)
	if err != nil {
		return nil, err
	}
	if m.ID != id {
		return nil, fmt.Errorf("%w: manifest under %s is for backup %s", ErrVerify, id, m.ID)
	}
	return m, nil
}

// FetchManifest reads the bytes of id's manifest; a missing one is an error that is
// storage.ErrNotFound, returned as the bucket gave it. A manifest beyond the limits of limits.go
// is refused as ErrVerify: one larger than MaxManifestBytes before it is read, and at most
// MaxManifestBytes+1 bytes of it are ever read.
func FetchManifest(ctx context.Context, b storage.Bucket, id string) ([]byte, error) {
	return fetchManifest(ctx, b, id, -1)
}

// fetchManifest is FetchManifest for a manifest of size bytes, as a listing says; -1 when
// unknown, and then the bucket is asked.
func fetchManifest(ctx context.Context, b storage.Bucket, id string, size int64) ([]byte, error) {
	key := ManifestKey(id)
	if size < 0 {
		info, err := b.Stat(ctx, key)
		if errors.Is(err, storage.ErrNotFound) {
			return nil, err
		}
		if err != nil {
			return nil, fmt.Errorf("read manifest of %s from %s: %w", id, b, err)
		}
		size = info.Size
	}
	if size > MaxManifestBytes {
		return nil, manifestLimit(id, size, fmt.Errorf("is larger than %d bytes (%d MiB), the limit of a backupctl manifest", MaxManifestBytes, MaxManifestBytes>>20))
	}
	rc, err := b.Get(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("read manifest of %s from %s: %w", id, b, err)
	}
	defer rc.Close()
	data, limit, err := readBounded(rc, size)
	if limit != nil {
		return nil, manifestLimit(id, size, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("read manifest of %s from %s: %w", id, b, err)
	}
	return data, nil
}

// manifestLimit is the error for the manifest of id, of size bytes, beyond a limit.
func manifestLimit(id string, size int64, limit error) error {
	return fmt.Errorf("%w: manifest of backup %s (%d bytes) %v: it was not written by backupctl; do not restore it", ErrVerify, id, size, limit)
}
