package backup

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/backupctl/backupctl/storage"
)

// KeepRetainedPrefix starts the rule of a backup a prune keeps because its objects are under an
// object-lock retention (--retain-days when it was written): "retained until <RFC 3339 time>".
const KeepRetainedPrefix = "retained until "

// retainedUntil is when the last retention on m's manifest and object ends (zero: none).
func retainedUntil(ctx context.Context, b storage.Bucket, m *Manifest) (time.Time, error) {
	var until time.Time
	for _, key := range []string{ManifestKey(m.ID), m.Object.Key} {
		info, err := b.Stat(ctx, key)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return time.Time{}, fmt.Errorf("check the retention of %s: %w", m.ID, err)
		}
		if info.RetainUntil.After(until) {
			until = info.RetainUntil
		}
	}
	return until, nil
}

// keepRetained moves out of p's deletions every backup still retained at now: the store would
// refuse to delete it (or, in a versioned bucket, only hide it), so the prune keeps it and says
// until when.
func keepRetained(ctx context.Context, b storage.Bucket, p *setPlan, now time.Time) error {
	var del []*Manifest
	for _, m := range p.delete {
		until, err := retainedUntil(ctx, b, m)
		if err != nil {
			return err
		}
		if !until.After(now) {
			del = append(del, m)
			continue
		}
		p.rep.Kept = append(p.rep.Kept, KeptBackup{ID: m.ID, StartedAt: m.StartedAt, Origin: m.OriginName(),
			Rules: []string{KeepRetainedPrefix + until.UTC().Format(time.RFC3339)}})
	}
	p.delete = del
	slices.SortStableFunc(p.rep.Kept, func(a, b KeptBackup) int { return b.StartedAt.Compare(a.StartedAt) })
	return nil
}
