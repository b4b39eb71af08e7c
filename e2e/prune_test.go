package e2e

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/contract"
)

// backupNow takes a --local backup with extra flags and checks it is verified.
func (e *env) backupNow(extra ...string) backupResult {
	e.t.Helper()
	b := decode[backupResult](e.t, must(e.t, e.local(append([]string{"backup", "now", "--local", "-o", "json"}, extra...)...)))
	checkVerified(e.t, b)
	return b
}

// TestPrune: of three manual backups, `prune --keep-last 1` keeps them all (manual backups are
// kept without --include-manual); with --include-manual and --dry-run it names the two older
// ones and deletes nothing; without --dry-run it leaves the newest, with its object, and removes
// the others' manifests and objects; what is left still verifies.
func TestPrune(t *testing.T) {
	e := newParallelEnv(t)
	db := e.smallDB()
	var made []string
	for range 3 {
		made = append(made, e.backupNow("-d", db).ID)
	}
	newest := made[2]
	older := slices.Sorted(slices.Values(made[:2]))
	if l := e.list(); len(l) != 3 || l[0].ID != newest {
		t.Fatalf("list = %v, want 3, newest (%s) first", ids(l), newest)
	}
	before := e.objects()

	manual := decode[pruneReport](t, must(t, e.withKeys("prune", "--keep-last", "1", "-o", "json")))
	if len(manual.deleted()) != 0 || len(manual.kept()) != 3 {
		t.Errorf("prune of manual backups without --include-manual: %+v, want all 3 kept", manual)
	}
	dry := decode[pruneReport](t, must(t, e.withKeys("prune", "--keep-last", "1", "--include-manual", "--dry-run", "-o", "json")))
	if !dry.DryRun || len(dry.Sets) != 1 || !slices.Equal(dry.deleted(), older) || len(dry.Sets[0].Deleted) != 0 || !slices.Equal(dry.kept(), []string{newest}) {
		t.Errorf("dry run: %+v, want %v under would_delete and %s kept", dry, older, newest)
	}
	text := must(t, e.withKeys("prune", "--keep-last", "1", "--include-manual", "--dry-run"))
	for _, id := range older {
		if !strings.Contains(text.Stdout, "would delete  "+id) || strings.Contains(text.Stdout, "deleted       "+id) {
			t.Errorf("dry-run text does not say %s would be deleted:\n%s", id, text.Stdout)
		}
	}
	if after := e.objects(); !slices.Equal(after, before) {
		t.Errorf("a dry run changed the bucket: %v → %v", before, after)
	}

	rep := decode[pruneReport](t, must(t, e.withKeys("prune", "--keep-last", "1", "--include-manual", "-o", "json")))
	if rep.DryRun || !slices.Equal(rep.Sets[0].Deleted, []string{made[1], made[0]}) || !slices.Equal(rep.kept(), []string{newest}) {
		t.Errorf("prune: %+v, want %v deleted (newest first) and %s kept", rep, older, newest)
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
	again := decode[pruneReport](t, must(t, e.withKeys("prune", "--keep-last", "1", "--include-manual", "-o", "json")))
	if len(again.deleted()) != 0 {
		t.Errorf("second prune deleted %v", again.deleted())
	}
}

// TestPruneNeverAcrossSets: three sets in one prefix — big (two scheduled backups, the oldest),
// shop (an explicit --set with a manual backup between two scheduled ones) and hr (two
// scheduled) — and every rule, each at 1: each set keeps its own newest and its manual backup,
// and would delete only its own older scheduled backups. Then `prune --keep-last 2` deletes
// nothing of big, although newer shop and hr backups exist.
func TestPruneNeverAcrossSets(t *testing.T) {
	e := newParallelEnv(t)
	big, shop, hr := e.smallDB(), e.smallDB(), e.smallDB()
	shopSet := "shop-" + e.ns
	big1 := e.backupNow("-d", big, "--scheduled")
	big2 := e.backupNow("-d", big, "--scheduled")
	shop1 := e.backupNow("-d", shop, "--set", shopSet, "--scheduled")
	shopManual := e.backupNow("-d", shop, "--set", shopSet)
	shop2 := e.backupNow("-d", shop, "--set", shopSet, "--scheduled")
	hr1 := e.backupNow("-d", hr, "--scheduled")
	hr2 := e.backupNow("-d", hr, "--scheduled")
	before := e.objects()

	wantKept := slices.Sorted(slices.Values([]string{big2.ID, shopManual.ID, shop2.ID, hr2.ID}))
	wantDeleted := slices.Sorted(slices.Values([]string{big1.ID, shop1.ID, hr1.ID}))
	bySet := map[string][]string{}
	for _, rule := range [][]string{
		{"--keep-last", "1"}, {"--keep-hourly", "1"}, {"--keep-daily", "1"}, {"--keep-weekly", "1"},
		{"--keep-monthly", "1"}, {"--keep-within", "1ms"},
	} {
		rep := decode[pruneReport](t, must(t, e.withKeys(append([]string{"prune", "--dry-run", "-o", "json"}, rule...)...)))
		if len(rep.Sets) != 3 || !slices.Equal(rep.kept(), wantKept) || !slices.Equal(rep.deleted(), wantDeleted) {
			t.Errorf("prune %v: %d sets, kept %v, would delete %v; want 3 sets, kept %v, would delete %v",
				rule, len(rep.Sets), rep.kept(), rep.deleted(), wantKept, wantDeleted)
		}
		for _, s := range rep.Sets {
			for _, id := range s.WouldDelete {
				bySet[s.Set] = append(bySet[s.Set], id)
			}
			for _, k := range s.Kept {
				if k.ID == shopManual.ID && (k.Origin != "manual" || !slices.Equal(k.Rules, []string{"manual"})) {
					t.Errorf("prune %v: the manual backup is kept as %+v, want origin manual, rule manual", rule, k)
				}
			}
		}
	}
	for set, del := range bySet {
		for _, id := range del {
			if (id == big1.ID) != strings.HasSuffix(set, "/"+big) || (id == shop1.ID) != (set == shopSet) || (id == hr1.ID) != strings.HasSuffix(set, "/"+hr) {
				t.Errorf("set %s would delete %s, a backup of another set", set, id)
			}
		}
	}
	if after := e.objects(); !slices.Equal(after, before) {
		t.Errorf("dry runs changed the bucket: %v → %v", before, after)
	}

	rep := decode[pruneReport](t, must(t, e.withKeys("prune", "--keep-last", "2", "-o", "json")))
	if got := rep.deleted(); len(got) != 0 {
		t.Errorf("prune --keep-last 2 deleted %v; every set has at most 2 scheduled backups", got)
	}
	// One set alone: --set limits the prune to it.
	only := decode[pruneReport](t, must(t, e.withKeys("prune", "--keep-last", "1", "--set", shopSet, "-o", "json")))
	if len(only.Sets) != 1 || only.Sets[0].Set != shopSet || !slices.Equal(only.deleted(), []string{shop1.ID}) {
		t.Errorf("prune --set %s: %+v, want only %s deleted", shopSet, only, shop1.ID)
	}
	l := ids(e.list())
	for _, id := range []string{big1.ID, big2.ID, shopManual.ID, shop2.ID, hr1.ID, hr2.ID} {
		if !slices.Contains(l, id) {
			t.Errorf("backup %s is gone after pruning another set", id)
		}
	}
	fails(t, e.withKeys("prune", "--keep-last", "1", "--set", "no-such-set"), contract.ExitNotFound, `unknown backup set "no-such-set".*the sets are: `)

	// Every set at once, for real: each loses only its own older scheduled backup.
	all := decode[pruneReport](t, must(t, e.withKeys("prune", "--keep-daily", "1", "-o", "json")))
	if want := slices.Sorted(slices.Values([]string{big1.ID, hr1.ID})); !slices.Equal(all.deleted(), want) {
		t.Errorf("prune --keep-daily 1: deleted %v, want %v", all.deleted(), want)
	}
	if l, want := slices.Sorted(slices.Values(ids(e.list()))), slices.Sorted(slices.Values([]string{big2.ID, shopManual.ID, shop2.ID, hr2.ID})); !slices.Equal(l, want) {
		t.Errorf("list after pruning every set = %v, want %v", l, want)
	}
}

// TestPruneIgnoresFutureManifest: a manifest planted with a start in 2099 (a whole, valid
// backup otherwise) is neither counted as the newest nor deleted: `prune --keep-last 1` keeps
// the newest real backup and says why it ignored the planted one; `verify latest` reads the real
// one.
func TestPruneIgnoresFutureManifest(t *testing.T) {
	e := newParallelEnv(t)
	db := e.smallDB()
	old := e.backupNow("-d", db, "--scheduled")
	newest := e.backupNow("-d", db, "--scheduled")
	planted := e.plantCopy(newest.ID, "20990101T000000Z-0ddba11", time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC))
	if l := e.list(); len(l) != 3 || l[0].ID != planted {
		t.Fatalf("list = %v, want the planted %s first", ids(l), planted)
	}
	latest := must(t, e.withKeys("verify", "latest", "-o", "json"))
	if !strings.Contains(latest.Stdout, newest.ID) || strings.Contains(latest.Stdout, planted) {
		t.Errorf("verify latest did not verify %s:\n%s", newest.ID, latest.Stdout)
	}
	rep := decode[pruneReport](t, must(t, e.withKeys("prune", "--keep-last", "1", "-o", "json")))
	if !slices.Equal(rep.deleted(), []string{old.ID}) || !slices.Equal(rep.kept(), []string{newest.ID}) {
		t.Errorf("prune --keep-last 1: deleted %v, kept %v; want %s deleted, %s kept", rep.deleted(), rep.kept(), old.ID, newest.ID)
	}
	if len(rep.Sets) != 1 || len(rep.Sets[0].Ignored) != 1 || rep.Sets[0].Ignored[0].ID != planted ||
		!strings.Contains(rep.Sets[0].Ignored[0].Reason, "in the future") {
		t.Errorf("prune does not report the planted backup as ignored: %+v", rep)
	}
	text := must(t, e.withKeys("prune", "--keep-last", "1"))
	if !strings.Contains(text.Stdout, "ignored       "+planted) {
		t.Errorf("prune's text does not name the ignored backup:\n%s", text.Stdout)
	}
	if l := ids(e.list()); !slices.Equal(l, []string{planted, newest.ID}) {
		t.Errorf("list after prune = %v, want [%s %s]", l, planted, newest.ID)
	}
}

// plantCopy stores a copy of backup id (object and manifest) as backup newID started at t, with
// a valid checksum, as someone with write access to the bucket could.
func (e *env) plantCopy(id, newID string, t time.Time) string {
	e.t.Helper()
	ctx := context.Background()
	b, m, data := e.readBackup(ctx, id)
	m.ID, m.StartedAt, m.FinishedAt = newID, t, t.Add(time.Second)
	m.Object.Key = newID + strings.TrimPrefix(m.Object.Key, id)
	if _, err := b.Put(ctx, m.Object.Key, bytes.NewReader(data), int64(len(data))); err != nil {
		e.t.Fatal(err)
	}
	enc, err := m.Encode()
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := b.Put(ctx, backup.ManifestKey(newID), bytes.NewReader(enc), int64(len(enc))); err != nil {
		e.t.Fatal(err)
	}
	return newID
}

// TestDeleteAndLatest: `latest` with two sets and no --set is refused naming both; with --set it
// names the set's newest for verify, a dry-run restore and delete. `delete --dry-run` changes
// nothing; `delete` removes the manifest and the objects; an unknown id deletes nothing.
func TestDeleteAndLatest(t *testing.T) {
	e := newParallelEnv(t)
	shop, hr := e.smallDB(), e.smallDB()
	shopSet, hrSet := "shop-"+e.ns, "hr-"+e.ns
	shop1 := e.backupNow("-d", shop, "--set", shopSet)
	shop2 := e.backupNow("-d", shop, "--set", shopSet)
	hr1 := e.backupNow("-d", hr, "--set", hrSet)
	before := e.objects()

	for _, cmd := range [][]string{{"verify", "latest"}, {"delete", "latest"}, {"delete", "--dry-run", "latest"}} {
		fails(t, e.withKeys(cmd...), contract.ExitUsage, fmt.Sprintf(`latest is ambiguous: .*2 backup sets \("%s", "%s"\); name one with --set`, hrSet, shopSet))
	}
	v := must(t, e.withKeys("verify", "latest", "--set", shopSet, "-o", "json"))
	if !strings.Contains(v.Stdout, shop2.ID) {
		t.Errorf("verify latest --set %s did not verify %s:\n%s", shopSet, shop2.ID, v.Stdout)
	}
	r := must(t, e.local("restore", "latest", "--local", "--set", hrSet, "--into", hr+"_copy", "--dry-run", "-o", "json"))
	if !strings.Contains(r.Stdout, hr+"_copy") || !strings.Contains(r.Stdout, hr1.ID) {
		t.Errorf("restore latest --set %s --dry-run does not plan %s_copy:\n%s", hrSet, hr, r.Stdout)
	}
	fails(t, e.withKeys("verify", "latest", "--set", "nope"), contract.ExitNotFound, `unknown backup set "nope"`)

	type deleteReport struct {
		DryRun      bool     `json:"dry_run"`
		WouldDelete []string `json:"would_delete"`
		Deleted     []string `json:"deleted"`
	}
	dry := decode[deleteReport](t, must(t, e.withKeys("delete", "--dry-run", "latest", hr1.ID, "--set", shopSet, "-o", "json")))
	if !dry.DryRun || !slices.Equal(dry.WouldDelete, []string{shop2.ID, hr1.ID}) || len(dry.Deleted) != 0 {
		t.Errorf("delete --dry-run: %+v, want %s and %s under would_delete", dry, shop2.ID, hr1.ID)
	}
	fails(t, e.withKeys("delete", shop1.ID, "20260101T000000Z-abcdef"), contract.ExitNotFound, `20260101T000000Z-abcdef has no manifest`)
	if after := e.objects(); !slices.Equal(after, before) {
		t.Errorf("a dry run or a refused delete changed the bucket: %v → %v", before, after)
	}
	del := decode[deleteReport](t, must(t, e.withKeys("delete", shop1.ID, hr1.ID, "-o", "json")))
	if del.DryRun || !slices.Equal(del.Deleted, []string{shop1.ID, hr1.ID}) {
		t.Errorf("delete: %+v, want %s and %s deleted", del, shop1.ID, hr1.ID)
	}
	for _, k := range e.objects() {
		if !strings.HasPrefix(k, shop2.ID+"/") {
			t.Errorf("object %s of a deleted backup is left", k)
		}
	}
	// One set is left: latest needs no --set now.
	must(t, e.withKeys("verify", "latest"))
}
