package restore

import (
	"database/sql"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/backupctl/backupctl/backup/dbconn"
	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/backup/sqltext"
	"github.com/backupctl/backupctl/internal/testenv"
	"github.com/backupctl/backupctl/storage"
	"github.com/backupctl/backupctl/storage/storagetest"
)

// restoreFixtureRun restores a hand-written backup through Restore.
func restoreFixtureRun(t *testing.T, target dbconn.Config, b storage.Bucket, m *format.Manifest, opts Options) (*Report, error) {
	t.Helper()
	return Restore(t.Context(), target, b, m.ID, opts)
}

// checkRestoredFixture asserts that database db holds the fixture's objects and rows.
func checkRestoredFixture(t *testing.T, s *restoreServers, cfg dbconn.Config, db string) {
	t.Helper()
	conn := restoreTestDB(t, cfg)
	q := sqltext.QuoteIdent(db)
	got := restoreQueryStrings(t, conn, "SELECT id, parent_id, note FROM "+q+".child ORDER BY id")
	want := []string{"1|1|a;b", "2|1|\nDELIMITER ;;\n", "3|2|it's 'quoted' -- not a comment"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s.child: got %q, want %q (the trigger must not have fired during the load)", db, got, want)
	}
	if got := restoreQueryStrings(t, conn, "SELECT id, name FROM "+q+".v ORDER BY id"); !reflect.DeepEqual(got, []string{"1|one /* x */", "2|two # y", "3|NULL"}) {
		t.Errorf("%s.v: got %q", db, got)
	}
	if got := restoreQueryStrings(t, conn, "SELECT next_not_cached_value FROM "+q+".seq"); !reflect.DeepEqual(got, []string{"43"}) {
		t.Errorf("%s.seq: next value %q, want 43 (its saved state)", db, got)
	}
	if got := restoreQueryStrings(t, conn, "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?", db); !reflect.DeepEqual(got, []string{"trg"}) {
		t.Errorf("%s triggers: %q", db, got)
	}
	if got := restoreQueryStrings(t, conn, "SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?", db); !reflect.DeepEqual(got, []string{"p"}) {
		t.Errorf("%s routines: %q", db, got)
	}
	if got := restoreQueryStrings(t, conn, "SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", db); !reflect.DeepEqual(got, []string{"utf8mb4_unicode_ci"}) {
		t.Errorf("%s collation: %q", db, got)
	}
}

// putTwoRestoreFixtures stores a backup of two fixture databases named from prefix, both
// dropped on dst at the end.
func putTwoRestoreFixtures(t *testing.T, s *restoreServers, dst *sql.DB, prefix string) (a, b string, m *format.Manifest) {
	t.Helper()
	a, b = testenv.UniqueName(prefix+"_a"), testenv.UniqueName(prefix+"_b")
	restoreDropAtEnd(t, dst, a, b)
	return a, b, putRestoreFixture(t, s.bucket, newRestoreFixture(a), newRestoreFixture(b))
}

func TestRestoreFixtureFull(t *testing.T) {
	s := restoreTestEnv(t)
	dst := restoreTestDB(t, s.dst)
	a, b, m := putTwoRestoreFixtures(t, s, dst, "rst_full")
	cb := storagetest.NewFaulty(s.bucket)
	rep, err := restoreFixtureRun(t, s.dst, cb, m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkRestoredFixture(t, s, s.dst, a)
	checkRestoredFixture(t, s, s.dst, b)
	if rep.Rows != 14 || rep.Tables != 8 || !reflect.DeepEqual(rep.Databases, []string{a, b}) || rep.Bytes != m.Object.Size {
		t.Errorf("report %+v: want 14 rows (a sequence counts one), 8 tables, databases %s %s, %d bytes", rep, a, b, m.Object.Size)
	}
	// The verifier reads the object once, the statement check taking the stream it decompresses;
	// the restore then reads every byte of it exactly once, in ranges (definitions in stream
	// order, data in chunks over the workers).
	if n := objectGets(cb, m); n != 1 {
		t.Errorf("full restore made %d whole reads of the object; want one (verify with the statement check)", n)
	}
	if cover, overlap := rangeCover(cb); overlap || !reflect.DeepEqual(cover, [][2]int64{{0, m.Object.Size}}) {
		t.Errorf("full restore read %v (overlapping: %v) of the object; want all of [0, %d) once", cover, overlap, m.Object.Size)
	}
}

func TestRestoreFixtureDatabaseAndInto(t *testing.T) {
	s := restoreTestEnv(t)
	dst := restoreTestDB(t, s.dst)
	a, b, m := putTwoRestoreFixtures(t, s, dst, "rst_sel")
	into := restoreNewDB(t, dst, "rst_into")

	// --into needs one database.
	if _, err := restoreFixtureRun(t, s.dst, s.bucket, m, Options{Into: into}); err == nil || !strings.Contains(err.Error(), "--into needs exactly one database") {
		t.Errorf("--into over two databases: err %v", err)
	}
	if _, err := restoreFixtureRun(t, s.dst, s.bucket, m, Options{Databases: []string{"nope"}}); err == nil || !strings.Contains(err.Error(), a) {
		t.Errorf("--database nope: err %v; want the list of databases", err)
	}

	// --database restores only that one, from its ranges.
	cb := storagetest.NewFaulty(s.bucket)
	if _, err := restoreFixtureRun(t, s.dst, cb, m, Options{Databases: []string{b}}); err != nil {
		t.Fatal(err)
	}
	checkRestoredFixture(t, s, s.dst, b)
	if got := restoreQueryStrings(t, dst, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", a); len(got) != 0 {
		t.Errorf("--database %s also created %s", b, a)
	}
	db := m.Databases[1]
	want := [][2]int64{{m.Header.Offset, m.Header.Offset + m.Header.Length}, {db.Create.Offset, db.Post.Offset + db.Post.Length}}
	// The ranges are read twice: checked before anything runs, then applied.
	if cover, _ := rangeCover(cb); objectGets(cb, m) != 1 || !reflect.DeepEqual(cover, want) {
		t.Errorf("--database: %d whole reads, ranges covering %v; want one whole read (verify) and ranges covering %v (header, database)",
			objectGets(cb, m), cover, want)
	}

	// --into beside the original: b stays, into gets a copy whose view and procedure point at into.
	rep, err := restoreFixtureRun(t, s.dst, s.bucket, m, Options{Databases: []string{b}, Into: into})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rep.Databases, []string{into}) {
		t.Errorf("report databases %q, want [%s]", rep.Databases, into)
	}
	checkRestoredFixture(t, s, s.dst, into)
	checkRestoredFixture(t, s, s.dst, b)
	for _, q := range []string{
		"SELECT VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ?",
		"SELECT ROUTINE_DEFINITION FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?",
	} {
		def := strings.Join(restoreQueryStrings(t, dst, q, into), "\n")
		if strings.Contains(def, b) || !strings.Contains(def, into) {
			t.Errorf("%s under --into: definition still refers to %s: %s", into, b, def)
		}
	}
}

func TestRestoreFixtureTable(t *testing.T) {
	s := restoreTestEnv(t)
	dst := restoreTestDB(t, s.dst)
	a, b, m := putTwoRestoreFixtures(t, s, dst, "rst_tbl")

	for _, spec := range []string{"nodot", a + ".nope", "nodb.child"} {
		if _, err := restoreFixtureRun(t, s.dst, s.bucket, m, Options{Tables: []string{spec}}); err == nil {
			t.Errorf("--table %s: no error", spec)
		}
	}

	cb := storagetest.NewFaulty(s.bucket)
	// child's key to parent, which is not restored, is refused without --without-foreign-keys.
	if _, err := restoreFixtureRun(t, s.dst, s.bucket, m, Options{Tables: []string{b + ".child"}}); !errors.Is(err, ErrBadSelection) || !strings.Contains(err.Error(), "--without-foreign-keys") {
		t.Errorf("--table child without its parent: err %v", err)
	}
	rep, err := restoreFixtureRun(t, s.dst, cb, m, Options{Tables: []string{b + ".child"}, WithoutForeignKeys: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"1|1|a;b", "2|1|\nDELIMITER ;;\n", "3|2|it's 'quoted' -- not a comment"}
	if got := restoreQueryStrings(t, dst, "SELECT id, parent_id, note FROM "+sqltext.QuoteIdent(b)+".child ORDER BY id"); !reflect.DeepEqual(got, want) {
		t.Errorf("child: %q", got)
	}
	if got := restoreQueryStrings(t, dst, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", b); !reflect.DeepEqual(got, []string{"child"}) {
		t.Errorf("--table created %q; want only child", got)
	}
	// Its trigger comes along; the procedure and view of the post section do not.
	if got := restoreQueryStrings(t, dst, "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?", b); !reflect.DeepEqual(got, []string{"trg|child"}) {
		t.Errorf("--table triggers %q", got)
	}
	if got := restoreQueryStrings(t, dst, "SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?", b); len(got) != 0 {
		t.Errorf("--table created routines %q", got)
	}
	if rep.Rows != 3 || rep.Tables != 1 || len(rep.Warnings) == 0 {
		t.Errorf("report %+v", rep)
	}
	var tbl *format.Table
	for i := range m.Databases[1].Tables {
		if m.Databases[1].Tables[i].Name == "child" {
			tbl = &m.Databases[1].Tables[i]
		}
	}
	// Only the header and the table's ranges were read: no whole-object read, every range
	// inside them.
	// The post section is read for the table's triggers.
	allowed := []format.Range{m.Header, tbl.Schema, tbl.Data, m.Databases[1].Post}
	if n := objectGets(cb, m); n != 0 {
		t.Errorf("--table read the whole object %d times", n)
	}
	var read int64
	for _, r := range readRanges(cb) {
		read += r[1]
		if !slices.ContainsFunc(allowed, func(a format.Range) bool { return r[0] >= a.Offset && r[0]+r[1] <= a.Offset+a.Length }) {
			t.Errorf("--table read [%d, +%d), outside the header and the table's ranges %+v", r[0], r[1], allowed)
		}
	}
	if want := 2 * (m.Header.Length + tbl.Schema.Length + tbl.Data.Length + m.Databases[1].Post.Length); read != want {
		t.Errorf("--table read %d bytes, want %d (the table's ranges, once to verify, once to apply)", read, want)
	}

	// The same table again: it has rows now.
	if _, err := restoreFixtureRun(t, s.dst, s.bucket, m, Options{Tables: []string{b + ".child"}}); !errors.Is(err, ErrTargetNotEmpty) {
		t.Errorf("second --table restore: err %v, want ErrTargetNotEmpty", err)
	}
	if _, err := restoreFixtureRun(t, s.dst, s.bucket, m, Options{Tables: []string{b + ".child"}, DropExisting: true, WithoutForeignKeys: true}); err != nil {
		t.Errorf("--drop-existing: %v", err)
	}
}

func TestRestoreFixtureDryRunAndRefusal(t *testing.T) {
	s := restoreTestEnv(t)
	dst := restoreTestDB(t, s.dst)
	a := restoreNewDB(t, dst, "rst_dry")
	m := putRestoreFixture(t, s.bucket, newRestoreFixture(a))

	before := restoreInventory(t, dst, a)
	rep, err := restoreFixtureRun(t, s.dst, s.bucket, m, Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if after := restoreInventory(t, dst, a); !reflect.DeepEqual(before, after) {
		t.Errorf("--dry-run changed the server:\nbefore %q\nafter  %q", before, after)
	}
	if !rep.DryRun || rep.Rows != 7 || len(rep.Plan) != 8 {
		t.Errorf("dry-run report %+v", rep)
	}

	if _, err := restoreFixtureRun(t, s.dst, s.bucket, m, Options{}); err != nil {
		t.Fatal(err)
	}
	// Existing non-empty target: refused, nothing changed, and the dry run says so too.
	before = restoreInventory(t, dst, a)
	_, err = restoreFixtureRun(t, s.dst, s.bucket, m, Options{})
	if !errors.Is(err, ErrTargetNotEmpty) || !strings.Contains(err.Error(), "--drop-existing") {
		t.Errorf("restore over a non-empty database: err %v", err)
	}
	rep, err = restoreFixtureRun(t, s.dst, s.bucket, m, Options{DryRun: true})
	if !errors.Is(err, ErrTargetNotEmpty) || rep == nil || !strings.Contains(rep.Plan[0].Action, "refused") {
		t.Errorf("dry run over a non-empty database: err %v, report %+v", err, rep)
	}
	if after := restoreInventory(t, dst, a); !reflect.DeepEqual(before, after) {
		t.Errorf("a refused restore changed the server")
	}
	// --drop-existing replaces it.
	if _, err := dst.ExecContext(t.Context(), "INSERT INTO "+sqltext.QuoteIdent(a)+".parent VALUES (99, 'extra')"); err != nil {
		t.Fatal(err)
	}
	if _, err := restoreFixtureRun(t, s.dst, s.bucket, m, Options{DropExisting: true}); err != nil {
		t.Fatal(err)
	}
	checkRestoredFixture(t, s, s.dst, a)
}

func TestRestoreFixtureDamaged(t *testing.T) {
	s := restoreTestEnv(t)
	dst := restoreTestDB(t, s.dst)
	a := restoreNewDB(t, dst, "rst_bad")

	tamper := func(m *format.Manifest) func([]byte) []byte {
		return func(b []byte) []byte {
			// Flip a byte inside the last table's data frame: same size, different content.
			d := m.Databases[0].Tables[1].Data
			b[d.Offset+d.Length/2] ^= 0x55
			return b
		}
	}
	truncate := func(b []byte) []byte { return b[:len(b)-10] }

	for _, tc := range []struct {
		name string
		edit func(m *format.Manifest) func([]byte) []byte
	}{{"tampered", tamper}, {"truncated", func(*format.Manifest) func([]byte) []byte { return truncate }}} {
		t.Run(tc.name, func(t *testing.T) {
			m := putRestoreFixture(t, s.bucket, newRestoreFixture(a))
			rewriteObject(t, s.bucket, m, tc.edit(m))
			restoreUnchanged(t, dst, []string{a}, "a refused restore", func() {
				_, err := restoreFixtureRun(t, s.dst, s.bucket, m, Options{})
				if !errors.Is(err, format.ErrVerify) || !strings.Contains(err.Error(), "nothing was applied") || !strings.Contains(err.Error(), m.Object.Key) {
					t.Errorf("err %v; want a verification failure naming the object", err)
				}
			})
		})
	}

	t.Run("tampered without verify first", func(t *testing.T) {
		m := putRestoreFixture(t, s.bucket, newRestoreFixture(a))
		rewriteObject(t, s.bucket, m, tamper(m))
		_, err := restoreFixtureRun(t, s.dst, s.bucket, m, Options{NoVerifyFirst: true})
		// The object is verified alongside the load: the mismatch may be found before or after
		// the target was touched, and the error must say which.
		partial := err != nil && strings.Contains(err.Error(), "partial") && strings.Contains(err.Error(), a)
		untouched := err != nil && strings.Contains(err.Error(), "nothing was applied")
		if !errors.Is(err, format.ErrVerify) || partial == untouched {
			t.Errorf("err %v; want a verification failure saying %s is partial or that nothing was applied", err, a)
		}
	})
	t.Run("truncated without verify first", func(t *testing.T) {
		_, _ = dst.ExecContext(t.Context(), "DROP DATABASE IF EXISTS "+sqltext.QuoteIdent(a))
		m := putRestoreFixture(t, s.bucket, newRestoreFixture(a))
		rewriteObject(t, s.bucket, m, truncate)
		// The size check runs before anything, even without verify-first.
		restoreUnchanged(t, dst, []string{a}, "a truncated object restored without verify-first", func() {
			_, err := restoreFixtureRun(t, s.dst, s.bucket, m, Options{NoVerifyFirst: true})
			if !errors.Is(err, format.ErrVerify) {
				t.Errorf("err %v; want a verification failure", err)
			}
		})
	})
}

func TestRestoreFixtureStatementError(t *testing.T) {
	s := restoreTestEnv(t)
	dst := restoreTestDB(t, s.dst)
	a := restoreNewDB(t, dst, "rst_err")
	f := newRestoreFixture(a)
	f.tables[1].data = "INSERT INTO `parent` (`id`, `nosuch`) VALUES (1,'x'),(2,'" + strings.Repeat("y", 300) + "');\n"
	m := putRestoreFixture(t, s.bucket, f)
	_, err := restoreFixtureRun(t, s.dst, s.bucket, m, Options{})
	if err == nil {
		t.Fatal("duplicate key: no error")
	}
	msg := err.Error()
	for _, want := range []string{"restore " + m.ID + ": ", "database " + a + ", table parent: statement at offset ", "INSERT INTO `parent`", "Unknown column"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
	if strings.Contains(msg, strings.Repeat("y", 150)) {
		t.Errorf("error carries the statement's values: %q", msg)
	}
}
