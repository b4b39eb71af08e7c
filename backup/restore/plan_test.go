package restore

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/backupctl/backupctl/backup/dbconn"
	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/storage"
)

// restorePlanManifest lays out two databases the way the dumper does: header, then per database
// create, schemas, data, post, then the footer, every section contiguous.
func restorePlanManifest() *format.Manifest {
	var off int64
	next := func(n int64) format.Range {
		r := format.Range{Offset: off, Length: n, RawOffset: off * 3, RawLength: n * 3}
		off += n
		return r
	}
	m := &format.Manifest{ID: "20260101T000000Z-abcdef"}
	m.Header = next(10)
	for _, name := range []string{"a", "b.c"} {
		d := format.Database{Name: name, Charset: "utf8mb4", Collation: "utf8mb4_general_ci", Views: []string{"v"}, Triggers: []string{"tr"}}
		d.Create = next(5)
		d.Tables = []format.Table{{Name: "t1", Kind: "table", Rows: 2}, {Name: "t.2", Kind: "sequence", Rows: 1}, {Name: "e", Kind: "table"}}
		for i := range d.Tables {
			d.Tables[i].Schema = next(7)
		}
		d.Tables[0].Data = next(20)
		d.Tables[1].Data = next(3)
		d.Post = next(9)
		m.Databases = append(m.Databases, d)
	}
	m.Footer = next(4)
	m.Object.Size = off
	return m
}

func TestRestorePlanValidation(t *testing.T) {
	m := restorePlanManifest()
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{Into: "x"}, "--into needs exactly one database but 2 are selected (a, b.c)"},
		{Options{Databases: []string{"zz"}}, "--database zz is not in backup 20260101T000000Z-abcdef; it holds: a, b.c"},
		{Options{Tables: []string{"a"}}, `--table "a" is not of the form database.table`},
		{Options{Tables: []string{"a.nope"}}, "--table a.nope: no such table in backup 20260101T000000Z-abcdef; database a holds: t1, t.2, e"},
		{Options{Tables: []string{"q.t1"}}, "--table q.t1: no such database"},
		{Options{Tables: []string{"a.t1"}, Databases: []string{"a"}}, "--table and --database cannot be combined"},
		{Options{Databases: []string{"a"}, Into: strings.Repeat("x", 65)}, "at most 64 characters"},
	} {
		_, err := makePlan(m, tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err %v, want %q", tc.opts, err, tc.want)
		}
	}
}

func TestRestorePlanSections(t *testing.T) {
	m := restorePlanManifest()
	kinds := func(p *plan) string {
		var s []string
		for _, sec := range p.sections() {
			name := sec.kind
			if sec.db != nil {
				name += ":" + sec.db.target
			}
			if sec.table != nil {
				name += "." + sec.table.Name
			}
			s = append(s, name)
		}
		return strings.Join(s, " ")
	}

	// Everything: one span over the whole object.
	p, err := makePlan(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !p.full {
		t.Error("a restore of everything is not full")
	}
	sp := spans(p.sections())
	if len(sp) != 1 || sp[0].offset != 0 || sp[0].length != m.Object.Size {
		t.Errorf("full restore spans %+v, want one over the object", sp)
	}

	// One database: header, then its contiguous run.
	p, err = makePlan(m, Options{Databases: []string{"b.c"}})
	if err != nil {
		t.Fatal(err)
	}
	want := "header create:b.c schema:b.c.t1 schema:b.c.t.2 schema:b.c.e data:b.c.t1 data:b.c.t.2 post:b.c"
	if got := kinds(p); got != want {
		t.Errorf("--database b.c sections\n got %s\nwant %s", got, want)
	}
	if sp := spans(p.sections()); len(sp) != 2 {
		t.Errorf("--database b.c: %d spans, want 2 (header, database)", len(sp))
	}

	// --into reads the stream's create section for the routines and stand-ins it holds; the
	// restore creates the database itself and skips the section's CREATE DATABASE.
	p, err = makePlan(m, Options{Databases: []string{"a"}, Into: "n"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := kinds(p), "header create:n schema:n.t1 schema:n.t.2 schema:n.e data:n.t1 data:n.t.2 post:n"; got != want || !p.rename {
		t.Errorf("--into sections\n got %s\nwant %s", got, want)
	}

	// A table whose name holds a dot, in a database whose name holds one too.
	p, err = makePlan(m, Options{Tables: []string{"b.c.t.2", "b.c.t.2"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := kinds(p), "header schema:b.c.t.2 data:b.c.t.2 post:b.c"; got != want {
		t.Errorf("--table sections\n got %s\nwant %s", got, want)
	}
	if p.dbs[0].whole || p.full {
		t.Error("--table planned a database restore")
	}
	if plan := p.plannedObjects(); len(plan) != 1 || plan[0].Kind != "sequence" || plan[0].Rows != 1 {
		t.Errorf("--table plan %+v", plan)
	}
}

func TestRestoreStmtPreview(t *testing.T) {
	long := "INSERT INTO `t` VALUES ('" + strings.Repeat("é", 200) + "')"
	p := stmtPreview(long)
	if len(p) > 125 || !strings.HasSuffix(p, " ...") || !strings.HasPrefix(p, "INSERT INTO `t`") {
		t.Errorf("preview %q", p)
	}
	if !strings.HasPrefix(long, strings.TrimSuffix(p, " ...")) {
		t.Errorf("preview cut inside a character: %q", p)
	}
}

func restoreLocalBucket(t *testing.T) storage.Bucket {
	t.Helper()
	b, err := storage.Open(t.Context(), storage.Config{URL: "file://" + t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRestoreNoManifest(t *testing.T) {
	b := restoreLocalBucket(t)
	id := "20260101T000000Z-abcdef"
	// An object without its manifest is not a backup.
	if _, err := b.Put(t.Context(), id+"/dump.sql.zst", strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
	_, err := Restore(t.Context(), dbconn.Config{Host: "127.0.0.1", Port: 1}, b, id, Options{})
	if !errors.Is(err, format.ErrNoManifest) || !strings.HasPrefix(err.Error(), "restore "+id+": ") {
		t.Errorf("err %v, want ErrNoManifest", err)
	}
}

func TestRestoreValidatesBeforeConnecting(t *testing.T) {
	b := restoreLocalBucket(t)
	m := putRestoreFixture(t, b, newRestoreFixture("a"), newRestoreFixture("b"))
	// Port 1 refuses connections: these must fail on the options alone.
	target := dbconn.Config{Host: "127.0.0.1", Port: 1, Timeout: time.Second}
	for _, opts := range []Options{
		{Into: "x"},
		{Databases: []string{"c"}},
		{Tables: []string{"a.nope"}},
		{Tables: []string{"a"}},
	} {
		_, err := Restore(t.Context(), target, b, m.ID, opts)
		if err == nil || strings.Contains(err.Error(), "connect") {
			t.Errorf("%+v: err %v; want a validation error", opts, err)
		}
	}
}

func TestRestoreJobsQueue(t *testing.T) {
	// Three tables of 3, 1 and 2 chunks of 20 MiB each: with 32 MiB jobs every chunk is a job.
	const mib = 1 << 20
	var secs []*section
	var off int64
	for i, n := range []int{3, 1, 2} {
		tb := &format.Table{Name: fmt.Sprintf("t%d", i+1)}
		start := off
		for range n {
			tb.Chunks = append(tb.Chunks, format.Range{Offset: off, Length: mib, RawOffset: off * 20, RawLength: 20 * mib})
			off += mib
		}
		if n == 1 {
			tb.Chunks = nil // one frame: no chunk list, the section is the job
		}
		secs = append(secs, &section{kind: kindData, table: tb, r: format.Range{Offset: start, Length: off - start, RawOffset: start * 20, RawLength: (off - start) * 20}, sha: "x"})
	}
	name := func(j job) string { return fmt.Sprintf("%s@%d", j.sec.table.Name, j.sp.offset/mib) }
	var got []string
	jobs := makeJobs(secs, true)
	for _, j := range jobs {
		got = append(got, name(j))
		if want := j.sp.sections[0].r; j.sp.offset != want.Offset || j.sp.length != want.Length || j.sp.rawOffset != want.RawOffset {
			t.Errorf("job %s: span %+v does not match its section range %+v", got[len(got)-1], j.sp, want)
		}
	}
	if want := []string{"t1@0", "t1@1", "t1@2", "t2@3", "t3@4", "t3@5"}; !reflect.DeepEqual(got, want) {
		t.Errorf("jobs %v, want %v (stream order)", got, want)
	}
	// Two workers taking in turn: each keeps to a table in primary-key order, the largest
	// tables first; the worker left without a table of its own takes the small one.
	q := newQueue(jobs)
	var cur [2]*tableLoad
	got = nil
	var last []string
	for i := 0; ; i++ {
		w := i % 2
		tl, j, ok := q.take(cur[w])
		if !ok {
			break
		}
		cur[w] = tl
		got = append(got, fmt.Sprintf("w%d:%s", w, name(j)))
		if q.done(tl) {
			last = append(last, tl.sec.table.Name)
		}
	}
	if want := []string{"w0:t1@0", "w1:t3@4", "w0:t1@1", "w1:t3@5", "w0:t1@2", "w1:t2@3"}; !reflect.DeepEqual(got, want) {
		t.Errorf("workers took %v, want %v", got, want)
	}
	if want := []string{"t3", "t1", "t2"}; !reflect.DeepEqual(last, want) {
		t.Errorf("tables completed %v, want %v (done says so once, at the last job)", last, want)
	}
	// A worker that ran out joins the started table with the most left.
	q = newQueue(jobs)
	a, _, _ := q.take(nil) // t1@0
	b, _, _ := q.take(nil) // t3@4
	c, _, _ := q.take(nil) // t2@3
	q.done(c)
	if d, j, _ := q.take(c); d != a || name(j) != "t1@1" || b.next != 1 {
		t.Errorf("the worker whose table ended took %s; want t1@1, the table with the most left", name(j))
	}
	// Unchunked (no verification of the whole object): one job per table, its SHA-256 kept.
	for _, j := range makeJobs(secs, false) {
		if len(j.sp.sections) != 1 || j.sp.sections[0] != j.sec || j.sp.length != j.sec.r.Length {
			t.Errorf("unchunked job for %s is not its whole section", j.sec.table.Name)
		}
	}
}
