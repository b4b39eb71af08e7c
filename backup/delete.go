package backup

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/backupctl/backupctl/storage"
)

// Latest is the id alias that names the newest backup (of a set, with several sets).
const Latest = "latest"

// ErrAmbiguousLatest means `latest` was asked for where several backup sets exist and no set
// was named.
var ErrAmbiguousLatest = errors.New("latest is ambiguous")

// Resolve returns id, or for Latest the id of the newest backup of set (of the only set when
// set is empty). A backup dated in the future is never the latest. Other ids are returned as
// they are, for the caller's own checks.
func Resolve(ctx context.Context, b storage.Bucket, id, set string) (string, error) {
	if id != Latest {
		return id, nil
	}
	all, err := List(ctx, b)
	if err != nil {
		return "", err
	}
	names := setNames(all)
	switch {
	case set != "":
		if groupSets(all)[set] == nil {
			return "", unknownSet(set, b, names)
		}
	case len(names) > 1:
		return "", fmt.Errorf("%w: %s holds %d backup sets (%s); name one with --set", ErrAmbiguousLatest, b, len(names), quoteSets(names))
	case len(names) == 0:
		return "", fmt.Errorf("%w: %s holds no backup, so there is no latest; `backupctl list` shows the backups", ErrNoManifest, b)
	default:
		set = names[0]
	}
	now := time.Now()
	for _, m := range groupSets(all)[set] {
		if futureReason(m, now) == "" {
			return m.ID, nil
		}
	}
	return "", fmt.Errorf("%w: set %q has no backup that is not dated in the future", ErrNoManifest, set)
}

// DeleteReport says which backups a delete removed (or would remove).
type DeleteReport struct {
	DryRun      bool     `json:"dry_run"`
	WouldDelete []string `json:"would_delete,omitempty"`
	Deleted     []string `json:"deleted,omitempty"`
}

// Delete removes the backups ids (resolve Latest first with Resolve), each manifest first and
// then its objects, as Prune does. Every id must name a backup with a valid manifest: one that
// does not fails the delete before anything is removed.
func Delete(ctx context.Context, b storage.Bucket, ids []string, dryRun bool) (*DeleteReport, error) {
	var resolved []string
	for _, id := range ids {
		if _, err := LoadManifest(ctx, b, id); err != nil {
			return nil, err
		}
		if !slices.Contains(resolved, id) {
			resolved = append(resolved, id)
		}
	}
	rep := &DeleteReport{DryRun: dryRun}
	if dryRun {
		rep.WouldDelete = resolved
		return rep, nil
	}
	for _, id := range resolved {
		if err := deleteBackup(ctx, b, id); err != nil {
			return rep, err
		}
		rep.Deleted = append(rep.Deleted, id)
	}
	return rep, nil
}
