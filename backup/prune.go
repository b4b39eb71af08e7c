package backup

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/backupctl/backupctl/storage"
)

// PruneOptions is a retention policy. A backup is kept when any rule keeps it.
type PruneOptions struct {
	// KeepLast keeps the newest N backups.
	KeepLast int
	// KeepDaily keeps the newest backup of each of the newest N days (UTC) that have one.
	KeepDaily int
	// DryRun reports what would be deleted and deletes nothing.
	DryRun bool
	// VerifyKey, when set, leaves out of the policy every backup it does not authenticate.
	VerifyKey *VerifyKey
}

// PruneReport says what a prune kept and deleted (or would delete).
type PruneReport struct {
	DryRun  bool     `json:"dry_run"`
	Kept    []string `json:"kept"`
	Deleted []string `json:"deleted"`
}

// ErrNoPolicy means a prune was asked for without any rule to keep backups by.
var ErrNoPolicy = errors.New("no retention rule given: set --keep-last or --keep-daily (at least 1)")

// Prune applies the policy to the backups in b. It never deletes the newest backup, so the
// only verified backup is never lost. A backup's manifest is deleted first, so an interrupted
// prune leaves an incomplete backup (never listed or restored), not a manifest without data.
func Prune(ctx context.Context, b storage.Bucket, opts PruneOptions) (*PruneReport, error) {
	if opts.KeepLast < 0 || opts.KeepDaily < 0 {
		return nil, fmt.Errorf("--keep-last and --keep-daily cannot be negative")
	}
	if opts.KeepLast == 0 && opts.KeepDaily == 0 {
		return nil, ErrNoPolicy
	}
	all, err := List(ctx, b)
	if err != nil {
		return nil, err
	}
	all = OnlyAuthenticated(all, opts.VerifyKey)
	keep := keepSet(all, opts)
	rep := &PruneReport{DryRun: opts.DryRun, Kept: []string{}, Deleted: []string{}}
	for _, m := range all {
		if keep[m.ID] {
			rep.Kept = append(rep.Kept, m.ID)
			continue
		}
		if !opts.DryRun {
			if err := deleteBackup(ctx, b, m.ID); err != nil {
				return rep, err
			}
		}
		rep.Deleted = append(rep.Deleted, m.ID)
	}
	return rep, nil
}

// keepSet decides which backups the policy keeps; all is newest first.
func keepSet(all []*Manifest, opts PruneOptions) map[string]bool {
	keep := map[string]bool{}
	for i, m := range all {
		if i < opts.KeepLast {
			keep[m.ID] = true
		}
	}
	days := map[string]bool{}
	for _, m := range all {
		day := m.StartedAt.UTC().Format("2006-01-02")
		if days[day] || len(days) >= opts.KeepDaily {
			continue
		}
		days[day] = true
		keep[m.ID] = true
	}
	if len(all) > 0 {
		keep[all[0].ID] = true
	}
	return keep
}

// deleteBackup removes a backup: the manifest first, then every object under its id.
func deleteBackup(ctx context.Context, b storage.Bucket, id string) error {
	if err := b.Delete(ctx, ManifestKey(id)); err != nil {
		return fmt.Errorf("delete manifest of %s: %w", id, err)
	}
	objs, err := b.List(ctx, id+"/")
	if err != nil {
		return fmt.Errorf("list objects of %s: %w", id, err)
	}
	for _, o := range objs {
		if !strings.HasPrefix(o.Key, id+"/") {
			continue
		}
		if err := b.Delete(ctx, o.Key); err != nil {
			return fmt.Errorf("delete %s: %w", o.Key, err)
		}
	}
	return nil
}
