package binlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/storage"
)

// fakeArchive stores n index entries (and stand-in segment objects) of archive: segment i
// holds transactions 0-1-(10i+1) to 0-1-(10i+10).
func fakeArchive(t *testing.T, b storage.Bucket, archive string, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		e := &Entry{Format: IndexFormat, Seq: uint64(i), Archive: archive, Key: SegmentKey(archive, uint64(i)),
			StartState: fmt.Sprintf("0-1-%d", 10*(i-1)), EndState: fmt.Sprintf("0-1-%d", 10*i),
			FirstGTID: fmt.Sprintf("0-1-%d", 10*(i-1)+1), LastGTID: fmt.Sprintf("0-1-%d", 10*i),
			FirstTime: time.Unix(int64(1000*i), 0).UTC(), LastTime: time.Unix(int64(1000*i+999), 0).UTC(), Size: 100}
		if _, err := b.Put(context.Background(), e.Key, bytes.NewReader([]byte("seg")), 3); err != nil {
			t.Fatal(err)
		}
		if err := putEntry(context.Background(), b, e); err != nil {
			t.Fatal(err)
		}
	}
}

func seqs(es []*Entry) []uint64 {
	var out []uint64
	for _, e := range es {
		out = append(out, e.Seq)
	}
	return out
}

// TestPruneSegments: only segments whose transactions all precede the oldest kept backup go
// (index entry and object); the one the backup's position falls in stays; an archive without a
// kept backup, and the newest segment, are never touched; a dry run deletes nothing.
func TestPruneSegments(t *testing.T) {
	ctx := context.Background()
	b, err := storage.Open(ctx, storage.Config{URL: "file://" + t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	fakeArchive(t, b, "db:3306", 6)
	fakeArchive(t, b, "other:3306", 3)
	kept := []*format.Manifest{
		{ID: "new", ServerID: "db:3306", StartedAt: time.Unix(5000, 0), Binlog: &format.Binlog{GTID: "0-1-47"}},
		{ID: "old", ServerID: "db:3306", StartedAt: time.Unix(3000, 0), Binlog: &format.Binlog{GTID: "0-1-25"}},
	}
	rep, err := PruneSegments(ctx, b, kept, true)
	if err != nil {
		t.Fatal(err)
	}
	if es, _ := LoadIndex(ctx, b, "db:3306"); len(es) != 6 {
		t.Fatalf("a dry run deleted segments: %v left", seqs(es))
	}
	if len(rep) != 2 || !slices.Equal(rep[0].WouldDelete, []uint64{1, 2}) || rep[0].Oldest != "old" {
		t.Fatalf("dry run report %+v", rep)
	}
	if rep, err = PruneSegments(ctx, b, kept, false); err != nil {
		t.Fatal(err)
	}
	es, err := LoadIndex(ctx, b, "db:3306")
	if err != nil {
		t.Fatal(err)
	}
	if got := seqs(es); !slices.Equal(got, []uint64{3, 4, 5, 6}) {
		t.Errorf("segments left %v, want 3 to 6 (3 holds 0-1-25, where the oldest kept backup starts)", got)
	}
	for _, seq := range []uint64{1, 2} {
		if _, err := b.Stat(ctx, SegmentKey("db:3306", seq)); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("segment %d's object is still there (%v)", seq, err)
		}
	}
	if w, run := Reachable(kept[1], es); w.Reason != "" || len(run) != 4 || w.ToGTID != "0-1-60" {
		t.Errorf("after the prune the oldest kept backup reaches %+v with %d segments, want 0-1-60 with 4", w, len(run))
	}
	if es, _ := LoadIndex(ctx, b, "other:3306"); len(es) != 3 || rep[1].Reason == "" {
		t.Errorf("the archive without a kept backup lost segments (%v left) or does not say why (%+v)", seqs(es), rep[1])
	}
	// Every backup past the archive's end: all but the newest segment go.
	kept = []*format.Manifest{{ID: "latest", ServerID: "db:3306", StartedAt: time.Unix(9000, 0), Binlog: &format.Binlog{GTID: "0-1-99"}}}
	if _, err := PruneSegments(ctx, b, kept, false); err != nil {
		t.Fatal(err)
	}
	if es, _ := LoadIndex(ctx, b, "db:3306"); !slices.Equal(seqs(es), []uint64{6}) {
		t.Errorf("segments left %v, want the newest (6) only", seqs(es))
	}
}
