package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/backup/internal/backuptest"
)

var pruneNow = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// sched is a scheduled backup of set "s" started at t.
func sched(id string, t time.Time) *Manifest {
	return &Manifest{ID: id, StartedAt: t, Set: "s", Origin: format.OriginScheduled}
}

func allVerified(*Manifest) (bool, error) { return true, nil }

// kept runs planSet and returns the ids kept, newest first, and the rules of each.
func kept(t *testing.T, ms []*Manifest, opts PruneOptions, verified func(*Manifest) (bool, error)) ([]string, map[string][]string) {
	t.Helper()
	p, err := planSet("s", ms, opts, pruneNow, verified)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	rules := map[string][]string{}
	for _, k := range p.rep.Kept {
		ids = append(ids, k.ID)
		rules[k.ID] = k.Rules
	}
	return ids, rules
}

func TestPlanSetRules(t *testing.T) {
	day := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }
	// Newest first, as List returns them.
	all := []*Manifest{
		sched("d25h2", day(25, 2)),
		sched("d25h1", day(25, 1)),
		sched("d24h2", day(24, 2)),
		sched("d24h1", day(24, 1)),
		sched("d16h1", day(16, 1)), // a week earlier
		sched("o01h1", time.Date(2026, 10, 1, 1, 0, 0, 0, time.UTC)),
	}
	cases := []struct {
		name string
		opts PruneOptions
		want []string
	}{
		{"last 2", PruneOptions{KeepLast: 2}, []string{"d25h2", "d25h1"}},
		{"hourly 3", PruneOptions{KeepHourly: 3}, []string{"d25h2", "d25h1", "d24h2"}},
		{"daily 2", PruneOptions{KeepDaily: 2}, []string{"d25h2", "d24h2"}},
		// Counts left at the oldest backup keep it too (restic's rule).
		{"daily 9 keeps one a day and the oldest", PruneOptions{KeepDaily: 9}, []string{"d25h2", "d24h2", "d16h1", "o01h1"}},
		{"weekly 2", PruneOptions{KeepWeekly: 2}, []string{"d25h2", "d16h1"}},
		{"monthly 1", PruneOptions{KeepMonthly: 1}, []string{"d25h2"}},
		{"monthly 2", PruneOptions{KeepMonthly: 2}, []string{"d25h2", "o01h1"}},
		{"within 26h of the newest, not of now", PruneOptions{KeepWithin: 26 * time.Hour}, []string{"d25h2", "d25h1", "d24h2", "d24h1"}},
		{"union", PruneOptions{KeepLast: 1, KeepWeekly: 2}, []string{"d25h2", "d16h1"}},
		{"last 9 keeps all", PruneOptions{KeepLast: 9}, []string{"d25h2", "d25h1", "d24h2", "d24h1", "d16h1", "o01h1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := kept(t, all, tc.opts, allVerified)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("kept %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPlanSetReasons(t *testing.T) {
	h := func(n int) time.Time { return pruneNow.Add(-time.Duration(n) * time.Hour) }
	ms := []*Manifest{
		{ID: "future", StartedAt: time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC), Set: "s", Origin: format.OriginScheduled},
		{ID: "skewed", StartedAt: pruneNow.Add(MaxClockSkew / 2), Set: "s", Origin: format.OriginScheduled},
		{ID: "manual", StartedAt: h(1), Set: "s"},
		sched("s2", h(2)),
		sched("s3", h(3)),
		sched("s4", h(4)),
	}
	p, err := planSet("s", ms, PruneOptions{KeepLast: 1}, pruneNow, allVerified)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.rep.Ignored) != 1 || p.rep.Ignored[0].ID != "future" || !strings.Contains(p.rep.Ignored[0].Reason, "in the future") {
		t.Errorf("ignored %+v, want the 2099 backup, said to be in the future", p.rep.Ignored)
	}
	_, rules := kept(t, ms, PruneOptions{KeepLast: 1}, allVerified)
	want := map[string][]string{
		"skewed": {KeepNewest, KeepNewestVerified, KeepLastRule}, // within the allowance: it counts
		"manual": {KeepManual},
	}
	if !reflect.DeepEqual(rules, want) {
		t.Errorf("kept %v, want %v", rules, want)
	}
	var del []string
	for _, m := range p.delete {
		del = append(del, m.ID)
	}
	if !slices.Equal(del, []string{"s2", "s3", "s4"}) {
		t.Errorf("delete %v, want s2 s3 s4", del)
	}
	// With --include-manual the manual one is counted like the others.
	_, rules = kept(t, ms, PruneOptions{KeepLast: 2, IncludeManual: true}, allVerified)
	if !slices.Equal(rules["manual"], []string{KeepLastRule}) || rules["s2"] != nil {
		t.Errorf("--include-manual: kept %v", rules)
	}
}

func TestPlanSetRefusesDeletingNewerThanVerified(t *testing.T) {
	h := func(n int) time.Time { return pruneNow.Add(-time.Duration(n) * time.Hour) }
	ms := []*Manifest{sched("a", h(1)), sched("b", h(2)), sched("c", h(3)), sched("d", h(4))}
	onlyC := func(m *Manifest) (bool, error) { return m.ID == "c", nil }
	_, err := planSet("s", ms, PruneOptions{KeepLast: 1}, pruneNow, onlyC)
	if !errors.Is(err, ErrPruneRefused) || !strings.Contains(err.Error(), "would delete b") || !strings.Contains(err.Error(), "newest verified backup is c") {
		t.Errorf("got %v, want a refusal to delete b, newer than c", err)
	}
	// Keeping b as well, only d goes: older than the newest verified, so allowed.
	got, rules := kept(t, ms, PruneOptions{KeepLast: 2}, onlyC)
	if !slices.Equal(got, []string{"a", "b", "c"}) || !slices.Contains(rules["c"], KeepNewestVerified) {
		t.Errorf("kept %v (%v), want a b c with c the newest verified", got, rules)
	}
	none := func(*Manifest) (bool, error) { return false, nil }
	if _, err := planSet("s", ms, PruneOptions{KeepLast: 1}, pruneNow, none); !errors.Is(err, ErrPruneRefused) {
		t.Errorf("no verified backup: got %v, want a refusal", err)
	}
}

// TestPrunePropertyRandomHistories: over random histories of several sets (manual and
// scheduled, random times, some in the future, some objects missing) and random rules, a prune
// of every set at once in a bucket:
//   - never deletes the newest backup of a set, nor its newest whole one;
//   - deletes from a set exactly what a prune of that set alone deletes (other sets' backups
//     change nothing);
//   - never deletes a manual backup without IncludeManual;
//   - never deletes a future-dated backup, nor counts it: adding one changes nothing else;
//   - deletes nothing at all when it refuses.
func TestPrunePropertyRandomHistories(t *testing.T) {
	ctx := context.Background()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 7))
	var nDeleted, nRefused, nIgnored int
	defer func() {
		t.Logf("deleted %d backups, refused %d prunes, ignored %d future-dated", nDeleted, nRefused, nIgnored)
		if nDeleted == 0 || nRefused == 0 || nIgnored == 0 {
			t.Errorf("the histories exercised too little")
		}
	}()
	for round := range 300 {
		setNames := []string{"shop", "hr", "big"}[:1+r.IntN(3)]
		b := backuptest.NewMemBucket()
		stored := map[string]bool{}
		lost := []int{2, 8}[r.IntN(2)] // one in lost backups lost its object
		wasStored := func(m *Manifest) (bool, error) { return stored[m.ID], nil }
		var ms []*Manifest
		for i := range 1 + r.IntN(14) {
			m := &Manifest{
				Format: FormatVersion, ID: fmt.Sprintf("r%03d-b%02d", round, i),
				StartedAt: pruneNow.Add(-time.Duration(r.Int64N(int64(90 * 24 * time.Hour)))),
				Databases: []Database{{Name: setNames[r.IntN(len(setNames))]}},
				ServerID:  "db-0:3306",
				Object:    format.Object{Key: fmt.Sprintf("r%03d-b%02d/dump.sql", round, i), Size: 3},
			}
			if r.IntN(2) == 0 {
				m.Set, m.Origin = "nightly-"+m.Databases[0].Name, format.OriginScheduled
			} else if r.IntN(3) == 0 {
				m.Origin = format.OriginManual
			}
			switch r.IntN(10) {
			case 0:
				m.StartedAt = pruneNow.Add(time.Duration(1+r.IntN(5000)) * time.Hour) // in the future
			case 1:
				m.StartedAt = time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
			}
			stored[m.ID] = r.IntN(lost) != 0
			putBackup(t, b, m, stored[m.ID])
			ms = append(ms, m)
		}
		opts := PruneOptions{
			KeepLast: r.IntN(4), KeepHourly: r.IntN(3), KeepDaily: r.IntN(5), KeepWeekly: r.IntN(3),
			KeepMonthly: r.IntN(3), IncludeManual: r.IntN(2) == 0, Now: func() time.Time { return pruneNow },
		}
		if r.IntN(3) == 0 {
			opts.KeepWithin = time.Duration(r.IntN(20*24)) * time.Hour
		}
		if !opts.Enabled() {
			opts.KeepLast = 1
		}
		before := liveIDs(t, b)
		rep, err := Prune(ctx, b, opts)
		after := liveIDs(t, b)
		if errors.Is(err, ErrPruneRefused) {
			if !slices.Equal(before, after) {
				t.Fatalf("round %d: a refused prune deleted %v", round, diff(before, after))
			}
			nRefused++
			continue
		}
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		deleted := map[string]bool{}
		for _, id := range diff(before, after) {
			deleted[id] = true
		}
		nDeleted += len(deleted)
		for _, s := range rep.Sets {
			nIgnored += len(s.Ignored)
		}
		if got := rep.DeletedIDs(); len(got) != len(deleted) {
			t.Fatalf("round %d: report says deleted %v, the bucket lost %v", round, got, diff(before, after))
		}
		bySet := groupSets(ms)
		for name, set := range bySet {
			set = sortedNewestFirst(set)
			var newest, newestWhole *Manifest
			for _, m := range set {
				if m.StartedAt.After(pruneNow.Add(MaxClockSkew)) {
					continue
				}
				if newest == nil {
					newest = m
				}
				if newestWhole == nil && stored[m.ID] {
					newestWhole = m
				}
			}
			for _, m := range set {
				switch {
				case !deleted[m.ID]:
				case m == newest:
					t.Fatalf("round %d: set %s lost its newest backup %s", round, name, m.ID)
				case m == newestWhole:
					t.Fatalf("round %d: set %s lost its newest verified backup %s", round, name, m.ID)
				case !m.IsScheduled() && !opts.IncludeManual:
					t.Fatalf("round %d: manual backup %s deleted without --include-manual", round, m.ID)
				case m.StartedAt.After(pruneNow.Add(MaxClockSkew)):
					t.Fatalf("round %d: future-dated backup %s deleted", round, m.ID)
				case newestWhole != nil && m.StartedAt.After(newestWhole.StartedAt):
					t.Fatalf("round %d: %s, newer than the newest verified %s, deleted", round, m.ID, newestWhole.ID)
				}
			}
			// The set alone, and the set without its future-dated backups, plan the same.
			alone, err := planSet(name, set, opts, pruneNow, wasStored)
			if err != nil {
				t.Fatalf("round %d: set %s alone: %v", round, name, err)
			}
			var present []*Manifest
			for _, m := range set {
				if !m.StartedAt.After(pruneNow.Add(MaxClockSkew)) {
					present = append(present, m)
				}
			}
			noFuture, err := planSet(name, present, opts, pruneNow, wasStored)
			if err != nil {
				t.Fatalf("round %d: set %s without future backups: %v", round, name, err)
			}
			want := idsOf(alone.delete)
			if got := idsOf(noFuture.delete); !slices.Equal(got, want) {
				t.Fatalf("round %d: set %s: future-dated backups changed the plan: %v vs %v", round, name, want, got)
			}
			var got []string
			for _, m := range set {
				if deleted[m.ID] {
					got = append(got, m.ID)
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("round %d: set %s: pruning all sets deleted %v, pruning it alone %v", round, name, got, want)
			}
		}
	}
}

// putBackup stores m's manifest and, when withObject, its object.
func putBackup(t *testing.T, b *backuptest.MemBucket, m *Manifest, withObject bool) {
	t.Helper()
	ctx := context.Background()
	if withObject {
		if _, err := b.Put(ctx, m.Object.Key, strings.NewReader("abc"), 3); err != nil {
			t.Fatal(err)
		}
	}
	if err := format.PutManifest(ctx, b, m); err != nil {
		t.Fatal(err)
	}
}

func liveIDs(t *testing.T, b *backuptest.MemBucket) []string {
	t.Helper()
	ms, err := List(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	ids := idsOf(ms)
	slices.Sort(ids)
	return ids
}

func idsOf(ms []*Manifest) []string {
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	return ids
}

// diff lists the ids in a and not in b.
func diff(a, b []string) []string {
	var out []string
	for _, id := range a {
		if !slices.Contains(b, id) {
			out = append(out, id)
		}
	}
	return out
}

func sortedNewestFirst(ms []*Manifest) []*Manifest {
	out := slices.Clone(ms)
	slices.SortStableFunc(out, func(a, b *Manifest) int {
		if c := b.StartedAt.Compare(a.StartedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	return out
}

func TestSetName(t *testing.T) {
	dbs := func(names ...string) []Database {
		var out []Database
		for _, n := range names {
			out = append(out, Database{Name: n})
		}
		return out
	}
	cases := []struct {
		m    Manifest
		want string
	}{
		{Manifest{Set: "nightly", ServerID: "db-0:3306", Databases: dbs("shop")}, "nightly"},
		{Manifest{ServerID: "db-0:3306", Databases: dbs("shop", "hr")}, "db-0:3306/hr,shop"},
		{Manifest{Databases: dbs("shop")}, "unknown-server/shop"}, // written before servers were recorded
		{Manifest{ServerID: "h:1", Databases: dbs("a,b")}, `h:1/a\,b`},
		{Manifest{ServerID: "h:1", Databases: dbs("a", "b")}, "h:1/a,b"},
	}
	for _, tc := range cases {
		if got := tc.m.SetName(); got != tc.want {
			t.Errorf("SetName of %+v = %q, want %q", tc.m, got, tc.want)
		}
	}
	if err := CheckSet("a/b"); err == nil {
		t.Error("CheckSet accepted a name with '/', which derived names hold")
	}
}

// TestOldManifestStillDecodes: the set fields are left out of a manifest without them, so a
// manifest written before them keeps its checksum, and is manual.
func TestOldManifestStillDecodes(t *testing.T) {
	old := `{"format":1,"id":"20260101T000000Z-abcdef","started_at":"2026-01-01T00:00:00Z","finished_at":"2026-01-01T00:00:01Z",` +
		`"tool":"backupctl","tool_version":"dev","server_version":"11.4","databases":[{"name":"shop","charset":"","collation":"",` +
		`"create":{"offset":0,"length":0,"raw_offset":0,"raw_length":0},"tables":null,"post":{"offset":0,"length":0,"raw_offset":0,"raw_length":0}}],` +
		`"object":{"key":"k","size":0,"sha256":"","compression":"none","raw_size":0},"header":{"offset":0,"length":0,"raw_offset":0,"raw_length":0},` +
		`"footer":{"offset":0,"length":0,"raw_offset":0,"raw_length":0},"checksum":""}`
	// old is byte for byte what the earlier Manifest encoded, so its checksum is its SHA-256.
	sum := sha256.Sum256([]byte(old))
	sealed := strings.Replace(old, `"checksum":""`, `"checksum":"`+hex.EncodeToString(sum[:])+`"`, 1)
	got, err := DecodeManifest([]byte(sealed))
	if err != nil {
		t.Fatalf("a manifest without the set fields no longer decodes: %v", err)
	}
	if got.IsScheduled() || got.OriginName() != format.OriginManual || got.SetName() != "unknown-server/shop" {
		t.Errorf("old manifest: origin %s, set %s", got.OriginName(), got.SetName())
	}
}
