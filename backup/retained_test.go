package backup

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/backup/internal/backuptest"
	"github.com/backupctl/backupctl/storage"
)

// retainingBucket is a MemBucket whose objects under the ids of until are retained until then,
// as S3 object lock reports it; it records every delete asked of a retained object.
type retainingBucket struct {
	*backuptest.MemBucket
	until   map[string]time.Time
	refused []string
}

func (b *retainingBucket) retained(key string) time.Time {
	id, _, _ := strings.Cut(key, "/")
	return b.until[id]
}

func (b *retainingBucket) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	info, err := b.MemBucket.Stat(ctx, key)
	info.RetainUntil = b.retained(key)
	return info, err
}

func (b *retainingBucket) Delete(ctx context.Context, key string) error {
	if b.retained(key).After(pruneNow) {
		b.refused = append(b.refused, key)
		return fmt.Errorf("%s: %w", key, storage.ErrRetained)
	}
	return b.MemBucket.Delete(ctx, key)
}

// TestPruneKeepsRetained: a backup the rules would delete but whose objects are retained is kept,
// listed as "retained until ...", and never asked to be deleted; one whose retention is over is
// deleted.
func TestPruneKeepsRetained(t *testing.T) {
	b := &retainingBucket{MemBucket: backuptest.NewMemBucket(), until: map[string]time.Time{}}
	var ms []*Manifest
	for i := range 4 {
		m := sched(fmt.Sprintf("b%02d", i), pruneNow.Add(-time.Duration(4-i)*time.Hour))
		m.Format, m.ServerID = FormatVersion, "db-0:3306"
		m.Databases = []Database{{Name: "shop"}}
		m.Object = format.Object{Key: m.ID + "/dump.sql", Size: 3}
		putBackup(t, b.MemBucket, m, true)
		ms = append(ms, m)
	}
	until := pruneNow.Add(24 * time.Hour)
	b.until["b01"], b.until["b02"] = until, until
	b.until["b00"] = pruneNow.Add(-time.Hour) // over
	rep, err := Prune(context.Background(), b, PruneOptions{KeepLast: 1, Now: func() time.Time { return pruneNow }})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.refused) > 0 {
		t.Errorf("prune tried to delete retained objects %q", b.refused)
	}
	s := rep.Sets[0]
	var kept []string
	for _, k := range s.Kept {
		kept = append(kept, k.ID+": "+strings.Join(k.Rules, ","))
	}
	want := []string{"b03: newest,newest-verified,keep-last", "b02: retained until 2026-11-30T12:00:00Z", "b01: retained until 2026-11-30T12:00:00Z"}
	if !slices.Equal(kept, want) {
		t.Errorf("kept %q, want %q", kept, want)
	}
	if !slices.Equal(s.Deleted, []string{"b00"}) {
		t.Errorf("deleted %q, want b00 (its retention is over)", s.Deleted)
	}
	if got := liveIDs(t, b.MemBucket); !slices.Equal(got, []string{"b01", "b02", "b03"}) {
		t.Errorf("left %q", got)
	}
}
