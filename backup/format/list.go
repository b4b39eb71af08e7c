package format

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/backupctl/backupctl/storage"
)

// List returns the backups in b, newest first, from their manifests only: a prefix without a
// manifest is an incomplete backup and is not listed, and neither is a manifest that fails its
// own checksum or is beyond the limits of a manifest (`backupctl verify ID` says why).
func List(ctx context.Context, b storage.Bucket) ([]*Manifest, error) {
	objs, err := b.List(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", b, err)
	}
	var out []*Manifest
	for _, o := range objs {
		id, ok := strings.CutSuffix(o.Key, "/"+ManifestName)
		if !ok || strings.Contains(id, "/") || CheckID(id) != nil {
			continue
		}
		m, err := readManifest(ctx, b, id, o.Size)
		if err != nil {
			return nil, err
		}
		if m != nil {
			out = append(out, m)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].StartedAt.Equal(out[j].StartedAt) {
			return out[i].StartedAt.After(out[j].StartedAt)
		}
		return out[i].ID > out[j].ID
	})
	return out, nil
}

// readManifest reads the manifest of id for List: nil when it is gone, damaged or beyond the
// limits of a manifest, an error only when the bucket fails.
func readManifest(ctx context.Context, b storage.Bucket, id string, size int64) (*Manifest, error) {
	data, err := fetchManifest(ctx, b, id, size)
	if errors.Is(err, storage.ErrNotFound) || errors.Is(err, ErrVerify) {
		return nil, nil // deleted since the listing, or not a manifest backupctl wrote
	}
	if err != nil {
		return nil, err
	}
	m, err := DecodeManifest(data)
	if err != nil || m.ID != id {
		return nil, nil
	}
	return m, nil
}
