package format

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

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

// maxManifest bounds the bytes read as a manifest, so that a wrong object is not read whole.
const maxManifest = 256 << 20

// FetchManifest reads the bytes of id's manifest; a missing one is an error that is
// storage.ErrNotFound, returned as the bucket gave it.
func FetchManifest(ctx context.Context, b storage.Bucket, id string) ([]byte, error) {
	rc, err := b.Get(ctx, ManifestKey(id))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("read manifest of %s from %s: %w", id, b, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxManifest))
	if err != nil {
		return nil, fmt.Errorf("read manifest of %s from %s: %w", id, b, err)
	}
	return data, nil
}
