package backup

import (
	"context"
	"fmt"

	"github.com/backupctl/backupctl/storage"
)

// Restore applies backup id from b to the target server, as selected by opts. It refuses a
// backup without a manifest, verifies the object first unless opts.NoVerifyFirst, and never
// replaces a non-empty database or table unless opts.DropExisting. With opts.DryRun the report
// (and, when a real restore would be refused, an error) is all it produces.
func Restore(ctx context.Context, target DBConfig, b storage.Bucket, id string, opts RestoreOptions) (*RestoreReport, error) {
	m, err := LoadManifest(ctx, b, id)
	if err != nil {
		// LoadManifest's message already says what to do (ErrNoManifest: see `backupctl list`).
		return nil, fmt.Errorf("restore %s: %w", id, err)
	}
	verify := func(ctx context.Context, b storage.Bucket, m *Manifest) error {
		_, err := Verify(ctx, b, m)
		return err
	}
	return restoreManifest(ctx, target, b, m, opts, verify)
}
