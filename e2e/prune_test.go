package e2e

import (
	"slices"
	"strings"
	"testing"
)

// TestPrune: of three backups, `prune --keep-last 1 --dry-run` names the two older ones and
// deletes nothing; `prune --keep-last 1` leaves the newest, with its object, and removes the
// others' manifests and objects; what is left still verifies.
func TestPrune(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	db := e.smallDB()
	var made []string
	for range 3 {
		b := decode[backupResult](t, must(t, e.local("backup", "now", "--local", "-d", db, "-o", "json")))
		checkVerified(t, b)
		made = append(made, b.ID)
	}
	newest := made[2]
	older := slices.Sorted(slices.Values(made[:2]))
	if l := e.list(); len(l) != 3 || l[0].ID != newest {
		t.Fatalf("list = %v, want 3, newest (%s) first", ids(l), newest)
	}
	before := e.objects()

	dry := decode[pruneReport](t, must(t, e.withKeys("prune", "--keep-last", "1", "--dry-run", "-o", "json")))
	slices.Sort(dry.Deleted)
	if !dry.DryRun || !slices.Equal(dry.Deleted, older) || !slices.Equal(dry.Kept, []string{newest}) {
		t.Errorf("dry run: %+v, want %v deleted and %s kept", dry, older, newest)
	}
	if after := e.objects(); !slices.Equal(after, before) {
		t.Errorf("a dry run changed the bucket: %v → %v", before, after)
	}

	rep := decode[pruneReport](t, must(t, e.withKeys("prune", "--keep-last", "1", "-o", "json")))
	slices.Sort(rep.Deleted)
	if rep.DryRun || !slices.Equal(rep.Deleted, older) || !slices.Equal(rep.Kept, []string{newest}) {
		t.Errorf("prune: %+v, want %v deleted and %s kept", rep, older, newest)
	}
	if l := e.list(); len(l) != 1 || l[0].ID != newest {
		t.Errorf("list after prune = %v, want [%s]", ids(l), newest)
	}
	for _, k := range e.objects() {
		if !strings.HasPrefix(k, newest+"/") {
			t.Errorf("object %s of a pruned backup is left", k)
		}
	}
	must(t, e.withKeys("verify", newest))
	// Once more changes nothing: the newest is always kept.
	again := decode[pruneReport](t, must(t, e.withKeys("prune", "--keep-last", "1", "-o", "json")))
	if len(again.Deleted) != 0 {
		t.Errorf("second prune deleted %v", again.Deleted)
	}
}
