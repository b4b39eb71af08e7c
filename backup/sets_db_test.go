package backup_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/backup/internal/backuptest"
	"github.com/backupctl/backupctl/internal/dbtest"
)

// TestDumpAndPruneOnlyItsSet: the retention after a backup applies to the new backup's set
// only: an older scheduled backup of the same set is pruned, a backup of another set (older
// still) and a manual one of the same set are not; the manifest records the server, the set and
// the origin.
func TestDumpAndPruneOnlyItsSet(t *testing.T) {
	ctx := context.Background()
	src, _ := backuptest.ServerConfigs(t)
	srv := dbtest.Source(t)
	db := srv.CreateDatabase(t, "sets")
	srv.Exec(t, "CREATE TABLE "+dbtest.QuoteIdent(db)+".t (id INT PRIMARY KEY)", "INSERT INTO "+dbtest.QuoteIdent(db)+".t VALUES (1)")
	b := backuptest.NewMemBucket()
	put := func(id, set, origin string, age time.Duration) {
		m := backuptest.FakeBackup(t, b, id, format.CompressZstd, format.Footer(id))
		m.Set, m.Origin, m.StartedAt = set, origin, time.Now().UTC().Add(-age)
		if err := format.PutManifest(ctx, b, m); err != nil {
			t.Fatal(err)
		}
	}
	put("other-old", "other", format.OriginScheduled, 72*time.Hour)
	put("mine-old", "mine", format.OriginScheduled, 48*time.Hour)
	put("mine-manual", "mine", format.OriginManual, 24*time.Hour)

	res, rep, err := backup.DumpAndPrune(ctx, src, b, backup.DumpOptions{Databases: []string{db}, Set: "mine", Scheduled: true},
		backup.PruneOptions{KeepLast: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Set != "mine" || res.Origin != format.OriginScheduled {
		t.Errorf("result set %q origin %q, want mine, scheduled", res.Set, res.Origin)
	}
	if len(rep.Sets) != 1 || rep.Sets[0].Set != "mine" || !slices.Equal(rep.DeletedIDs(), []string{"mine-old"}) {
		t.Errorf("retention: %+v, want set mine only, mine-old deleted", rep)
	}
	m, err := backup.LoadManifest(ctx, b, res.ID)
	if err != nil {
		t.Fatal(err)
	}
	if host, port, ok := strings.Cut(m.ServerID, ":"); !ok || host == "" || port == "" || m.Set != "mine" || !m.IsScheduled() {
		t.Errorf("manifest server_id %q set %q origin %q", m.ServerID, m.Set, m.Origin)
	}

	// A manual backup without --set: its set is the server and the database, and its retention
	// touches nothing else.
	res2, rep2, err := backup.DumpAndPrune(ctx, src, b, backup.DumpOptions{Databases: []string{db}}, backup.PruneOptions{KeepLast: 1, IncludeManual: true})
	if err != nil {
		t.Fatal(err)
	}
	if res2.Set != m.ServerID+"/"+db || res2.Origin != format.OriginManual || len(rep2.DeletedIDs()) != 0 {
		t.Errorf("manual backup: set %q origin %q deleted %v", res2.Set, res2.Origin, rep2.DeletedIDs())
	}
	ms, err := backup.List(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	for _, want := range []string{"other-old", "mine-manual", res.ID, res2.ID} {
		if !slices.Contains(ids, want) {
			t.Errorf("%s is gone: %v", want, ids)
		}
	}
}
