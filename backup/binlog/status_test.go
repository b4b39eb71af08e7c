package binlog

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/backupctl/backupctl/storage"
)

// TestStatusOfArchives: no archive is an empty list (JSON [], not null); an archive's span,
// segments and bytes; a gap recorded in an entry, and entries that do not follow each other,
// are gaps before their segments.
func TestStatusOfArchives(t *testing.T) {
	ctx := context.Background()
	b, err := storage.Open(ctx, storage.Config{URL: "file://" + t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	st, err := Status(ctx, b, nil)
	if js, _ := json.Marshal(st); err != nil || string(js) != "[]" {
		t.Errorf("status of a bucket without archives: %s (%v), want []", js, err)
	}

	fakeArchive(t, b, "db:3306", 3)
	st, err = Status(ctx, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 1 || st[0].Archive != "db:3306" || st[0].Segments != 3 || st[0].Bytes != 300 || st[0].FromGTID != "0-1-0" ||
		st[0].ToGTID != "0-1-30" || st[0].ToTime.Unix() != 3999 || len(st[0].Gaps) != 0 || st[0].Server != nil {
		t.Errorf("status of a whole archive: %+v", st)
	}

	es, err := LoadIndex(ctx, b, "db:3306")
	if err != nil {
		t.Fatal(err)
	}
	es[1].Gap = &Gap{After: "0-1-10", Before: "0-1-10", Reason: "the server purged binlog"}
	es[2].StartState = "0-1-25"
	s := Summarize(es)
	if len(s.Gaps) != 2 || s.Gaps[0].Seq != 2 || s.Gaps[0].Reason != "the server purged binlog" ||
		s.Gaps[1].Seq != 3 || s.Gaps[1].After != "0-1-20" || s.Gaps[1].Before != "0-1-25" {
		t.Errorf("gaps: %+v", s.Gaps)
	}
}
