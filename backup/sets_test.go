package backup

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/backup/internal/backuptest"
)

// fakeInSet stores a whole fake backup of set started at t.
func fakeInSet(t *testing.T, b *backuptest.MemBucket, id, set string, at time.Time) *Manifest {
	t.Helper()
	m := backuptest.FakeBackup(t, b, id, format.CompressZstd, format.Footer(id))
	m.Set, m.Origin, m.StartedAt = set, format.OriginScheduled, at
	if err := format.PutManifest(context.Background(), b, m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestResolveLatestAndDelete(t *testing.T) {
	ctx := context.Background()
	b := backuptest.NewMemBucket()
	now := time.Now().UTC()
	fakeInSet(t, b, "a-old", "a", now.Add(-2*time.Hour))
	fakeInSet(t, b, "a-new", "a", now.Add(-time.Hour))
	fakeInSet(t, b, "a-2099", "a", time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC))
	fakeInSet(t, b, "b-new", "b", now)

	if id, err := Resolve(ctx, b, "a-old", ""); err != nil || id != "a-old" {
		t.Errorf("Resolve of an id = %q, %v", id, err)
	}
	if _, err := Resolve(ctx, b, Latest, ""); !errors.Is(err, ErrAmbiguousLatest) {
		t.Errorf("latest with two sets: %v, want ErrAmbiguousLatest", err)
	}
	if id, err := Resolve(ctx, b, Latest, "a"); err != nil || id != "a-new" {
		t.Errorf("latest of a = %q, %v; want a-new (never the future-dated one)", id, err)
	}
	if _, err := Resolve(ctx, b, Latest, "c"); !errors.Is(err, ErrUnknownSet) {
		t.Errorf("latest of an unknown set: %v, want ErrUnknownSet", err)
	}

	rep, err := Delete(ctx, b, []string{"a-old", "b-new", "a-old"}, true)
	if err != nil || !rep.DryRun || !slices.Equal(rep.WouldDelete, []string{"a-old", "b-new"}) || len(rep.Deleted) != 0 {
		t.Fatalf("dry run: %+v, %v", rep, err)
	}
	if _, err := Delete(ctx, b, []string{"a-old", "no-such"}, false); !errors.Is(err, ErrNoManifest) {
		t.Fatalf("delete of a missing id: %v, want ErrNoManifest", err)
	}
	if l := listed(t, b); !slices.Equal(l, []string{"a-2099", "b-new", "a-new", "a-old"}) {
		t.Fatalf("a dry run or a refused delete changed the backups: %v", l)
	}
	if rep, err = Delete(ctx, b, []string{"a-old"}, false); err != nil || !slices.Equal(rep.Deleted, []string{"a-old"}) {
		t.Fatalf("delete: %+v, %v", rep, err)
	}
	if l := listed(t, b); !slices.Equal(l, []string{"a-2099", "b-new", "a-new"}) {
		t.Errorf("after delete: %v", l)
	}
	if objs, _ := b.List(ctx, "a-old/"); len(objs) != 0 {
		t.Errorf("objects of a deleted backup are left: %v", objs)
	}
}

func listed(t *testing.T, b *backuptest.MemBucket) []string {
	t.Helper()
	ms, err := List(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	return idsOf(ms)
}
