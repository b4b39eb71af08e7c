package restore

import (
	"bytes"
	"database/sql"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/backupctl/backupctl/backup/dbconn"
	"github.com/backupctl/backupctl/backup/dump"
	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/backup/internal/backuptest"
	"github.com/backupctl/backupctl/backup/sqltext"
	"github.com/backupctl/backupctl/internal/sampledata"
	"github.com/backupctl/backupctl/internal/testenv"
	"github.com/backupctl/backupctl/storage/storagetest"
)

// restoreSourceSQL builds a database with what a restore must get right: foreign keys, awkward
// strings and bytes, generated and invisible columns, a sequence, a system-versioned table with
// history, and views, routines, triggers and an event whose bodies hold semicolons and qualified
// names.
func restoreSourceSQL(db string) []string {
	q := sqltext.QuoteIdent(db)
	return []string{
		"CREATE DATABASE " + q + " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
		"USE " + q,
		"CREATE TABLE parent (id INT PRIMARY KEY, name VARCHAR(50), blob_col BLOB, created DATETIME(6))",
		"CREATE TABLE child (id INT AUTO_INCREMENT PRIMARY KEY, parent_id INT NOT NULL, note TEXT, twice INT AS (id * 2) VIRTUAL, secret INT INVISIBLE DEFAULT 7, " +
			"FOREIGN KEY (parent_id) REFERENCES parent (id)) AUTO_INCREMENT=100",
		"CREATE TABLE `odd ``name``;\nx` (`col;1` VARCHAR(20) PRIMARY KEY)",
		"CREATE TABLE empty_t (id INT PRIMARY KEY)",
		"CREATE TABLE hist (id INT PRIMARY KEY, v INT) WITH SYSTEM VERSIONING",
		"CREATE SEQUENCE seq START WITH 10 INCREMENT BY 5",
		"INSERT INTO parent VALUES (1, 'a;b', x'00FF3B27', '2024-01-02 03:04:05.123456'), (2, 'DELIMITER ;;', '', NULL), (3, 'it''s \\\\ \"q\" \n -- x /* y */ # z', NULL, '0000-00-00 00:00:00')",
		"INSERT INTO child (parent_id, note) VALUES (1, 'ünïcödé 🎉'), (2, NULL), (3, ';;')",
		"INSERT INTO `odd ``name``;\nx` VALUES ('v;1'), ('DELIMITER $$')",
		"INSERT INTO hist VALUES (1, 1), (2, 2)",
		"UPDATE hist SET v = v + 10 WHERE id = 1",
		"SELECT NEXTVAL(seq)",
		"CREATE VIEW v_parent AS SELECT p.id, p.name, (SELECT COUNT(*) FROM " + q + ".child c WHERE c.parent_id = p.id) AS n FROM " + q + ".parent p",
		"CREATE VIEW v_v AS SELECT id FROM v_parent WHERE name <> ';'",
		"CREATE TRIGGER trg BEFORE INSERT ON child FOR EACH ROW BEGIN SET NEW.note = CONCAT(IFNULL(NEW.note, ''), ';t'); END",
		"CREATE PROCEDURE p_count(OUT n INT) BEGIN SELECT COUNT(*) INTO n FROM " + q + ".child; SELECT 'a;b'; END",
		"CREATE FUNCTION f_name(i INT) RETURNS VARCHAR(50) DETERMINISTIC RETURN (SELECT name FROM " + q + ".parent WHERE id = i)",
		"CREATE EVENT ev ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM " + q + ".child WHERE note = ';never'",
	}
}

// restoreNameAndInto returns a new database name and one for --into, both dropped on src and
// dst at the end.
func restoreNameAndInto(t *testing.T, src, dst *sql.DB, prefix string) (name, into string) {
	t.Helper()
	name, into = testenv.UniqueName(prefix), testenv.UniqueName(prefix+"_into")
	restoreDropAtEnd(t, src, name, into)
	restoreDropAtEnd(t, dst, name, into)
	return name, into
}

// restoreDumpDB runs stmts on the source (if any) and dumps its database name into the test bucket.
func restoreDumpDB(t *testing.T, s *restoreServers, name string, stmts []string) *dump.Result {
	t.Helper()
	if len(stmts) > 0 {
		restoreExecAll(t, s.src, stmts)
	}
	res, err := dump.Run(t.Context(), s.src, s.bucket, dump.Options{Databases: []string{name}})
	if err != nil {
		t.Fatalf("dump: %v", err)
	}
	return res
}

// restoreExecAll runs stmts on a connection of its own, so that their USE does not stay on a
// pooled connection (SHOW CREATE VIEW leaves out the current database's name).
func restoreExecAll(t *testing.T, cfg dbconn.Config, stmts []string) {
	t.Helper()
	db := restoreTestDB(t, cfg)
	defer db.Close()
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, s := range stmts {
		if _, err := conn.ExecContext(t.Context(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// restoreDefinitions describes database name on db: every object's definition (with the
// database's own name replaced, so that a copy under --into compares equal), each table's
// checksum and row count, history included.
func restoreDefinitions(t *testing.T, db *sql.DB, name string) []string {
	t.Helper()
	q := sqltext.QuoteIdent(name)
	norm := func(s string) string {
		s = strings.ReplaceAll(s, sqltext.QuoteIdent(name)+".", "`DB`.")
		return s
	}
	var out []string
	for _, r := range restoreQueryStrings(t, db, "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", name) {
		out = append(out, "schema "+r)
	}
	for _, r := range restoreQueryStrings(t, db, "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME", name) {
		tn, typ, _ := strings.Cut(r, "|")
		obj := q + "." + sqltext.QuoteIdent(tn)
		switch typ {
		case "VIEW":
			def := restoreQueryStrings(t, db, "SHOW CREATE VIEW "+obj)
			out = append(out, "view "+norm(def[0]))
		case "SEQUENCE":
			out = append(out, "sequence "+strings.Join(restoreQueryStrings(t, db, "SHOW CREATE SEQUENCE "+obj), " "))
			out = append(out, "sequence state "+strings.Join(restoreQueryStrings(t, db, "SELECT next_not_cached_value, cycle_count FROM "+obj), " "))
		default:
			out = append(out, "table "+norm(strings.Join(restoreQueryStrings(t, db, "SHOW CREATE TABLE "+obj), " ")))
			out = append(out, "checksum "+strings.Join(restoreQueryStrings(t, db, "CHECKSUM TABLE "+obj+" EXTENDED"), " ")[len(q)+1:])
			all := ""
			if typ == "SYSTEM VERSIONED" {
				all = " FOR SYSTEM_TIME ALL"
			}
			out = append(out, "rows "+tn+" "+strings.Join(restoreQueryStrings(t, db, "SELECT COUNT(*) FROM "+obj+all), ""))
		}
	}
	for _, r := range restoreQueryStrings(t, db, "SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? ORDER BY 1, 2", name) {
		typ, rn, _ := strings.Cut(r, "|")
		def := restoreQueryStrings(t, db, "SHOW CREATE "+typ+" "+q+"."+sqltext.QuoteIdent(rn))
		out = append(out, strings.ToLower(typ)+" "+norm(def[0]))
	}
	for _, tn := range restoreQueryStrings(t, db, "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY 1", name) {
		def := restoreQueryStrings(t, db, "SELECT ACTION_STATEMENT, ACTION_TIMING, EVENT_MANIPULATION, EVENT_OBJECT_TABLE, SQL_MODE, DEFINER FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? AND TRIGGER_NAME = ?", name, tn)
		out = append(out, "trigger "+tn+" "+norm(def[0]))
	}
	for _, r := range restoreQueryStrings(t, db, "SELECT EVENT_NAME, EVENT_DEFINITION, INTERVAL_VALUE, INTERVAL_FIELD, STATUS, SQL_MODE, TIME_ZONE FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? ORDER BY 1", name) {
		out = append(out, "event "+norm(r))
	}
	return out
}

func restoreCompare(t *testing.T, a *sql.DB, dbA string, b *sql.DB, dbB string) {
	t.Helper()
	da, db := restoreDefinitions(t, a, dbA), restoreDefinitions(t, b, dbB)
	if len(da) < 10 {
		t.Fatalf("source %s looks empty: %q", dbA, da)
	}
	if !reflect.DeepEqual(da, db) {
		for i := 0; i < max(len(da), len(db)); i++ {
			var x, y string
			if i < len(da) {
				x = da[i]
			}
			if i < len(db) {
				y = db[i]
			}
			if x != y {
				t.Errorf("%s vs %s differ:\n  %q\n  %q", dbA, dbB, x, y)
			}
		}
	}
}

func TestRestoreDumpRoundTrip(t *testing.T) {
	s := restoreTestEnv(t)
	src, dst := restoreTestDB(t, s.src), restoreTestDB(t, s.dst)
	name, into := restoreNameAndInto(t, src, dst, "rst_rt")
	res := restoreDumpDB(t, s, name, restoreSourceSQL(name))

	t.Run("full into the second server", func(t *testing.T) {
		rep, err := Restore(t.Context(), s.dst, s.bucket, res.ID, Options{})
		if err != nil {
			t.Fatal(err)
		}
		restoreCompare(t, src, name, dst, name)
		// 8 rows and hist's 2 current rows plus 1 of history, at least; the sequence counts as
		// the manifest says.
		if rep.Tables != 6 || rep.Rows < 11 || rep.Rows != res.Rows || rep.Bytes != res.Size {
			t.Errorf("report %+v; want 6 tables, the dump's %d rows, %d bytes", rep, res.Rows, res.Size)
		}
	})

	t.Run("under a new name beside the original", func(t *testing.T) {
		rep, err := Restore(t.Context(), s.src, s.bucket, res.ID, Options{Into: into})
		if err != nil {
			t.Fatal(err)
		}
		restoreCompare(t, src, name, src, into)
		if !reflect.DeepEqual(rep.Databases, []string{into}) {
			t.Errorf("report databases %q", rep.Databases)
		}
		// Nothing in the copy still points at the original.
		for _, q := range []string{
			"SELECT VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ?",
			"SELECT ROUTINE_DEFINITION FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?",
			"SELECT EVENT_DEFINITION FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?",
		} {
			if def := strings.Join(restoreQueryStrings(t, src, q, into), "\n"); strings.Contains(def, name+"`") || strings.Contains(def, name+".") {
				t.Errorf("the copy refers to %s: %s", name, def)
			}
		}
	})

	t.Run("one table alone", func(t *testing.T) {
		m, err := format.LoadManifest(t.Context(), s.bucket, res.ID)
		if err != nil {
			t.Fatal(err)
		}
		cb := storagetest.NewFaulty(s.bucket)
		// Into a fresh database on the second server: the full restore above made name there.
		tblDB := restoreNewDB(t, dst, "rst_rt_tbl")
		rep, err := Restore(t.Context(), s.dst, cb, res.ID, Options{Tables: []string{name + ".child"}, Into: tblDB, WithoutForeignKeys: true})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Rows != 3 {
			t.Errorf("rows %d, want 3", rep.Rows)
		}
		want := restoreQueryStrings(t, src, "CHECKSUM TABLE "+sqltext.QuoteIdent(name)+".child EXTENDED")[0]
		got := restoreQueryStrings(t, dst, "CHECKSUM TABLE "+sqltext.QuoteIdent(tblDB)+".child EXTENDED")[0]
		if _, w, _ := strings.Cut(want, "|"); !strings.HasSuffix(got, "|"+w) {
			t.Errorf("checksum %s, want %s", got, want)
		}
		if got := restoreQueryStrings(t, dst, "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?", tblDB); !reflect.DeepEqual(got, []string{"trg"}) {
			t.Errorf("triggers %q, want the table's trigger", got)
		}
		d := &m.Databases[0]
		var allowed []format.Range
		allowed = append(allowed, m.Header, d.Post)
		for _, tb := range d.Tables {
			if tb.Name == "child" {
				allowed = append(allowed, tb.Schema, tb.Data)
			}
		}
		if n := objectGets(cb, m); n != 0 {
			t.Errorf("--table read the whole object")
		}
		for _, r := range readRanges(cb) {
			if !slices.ContainsFunc(allowed, func(a format.Range) bool { return r[0] >= a.Offset && r[0]+r[1] <= a.Offset+a.Length }) {
				t.Errorf("--table read [%d, +%d) outside its ranges", r[0], r[1])
			}
		}
	})

	t.Run("dry run changes nothing", func(t *testing.T) {
		dry := testenv.UniqueName("rst_rt_dry")
		var rep *Report
		restoreUnchanged(t, dst, []string{name, dry}, "the dry run", func() {
			var err error
			if rep, err = Restore(t.Context(), s.dst, s.bucket, res.ID, Options{Into: dry, DryRun: true}); err != nil {
				t.Fatal(err)
			}
		})
		if len(rep.Plan) == 0 || rep.Rows == 0 {
			t.Errorf("dry-run report %+v", rep)
		}
	})

	t.Run("existing target refused", func(t *testing.T) {
		restoreUnchanged(t, dst, []string{name}, "a refused restore", func() {
			if _, err := Restore(t.Context(), s.dst, s.bucket, res.ID, Options{}); err == nil || !strings.Contains(err.Error(), "--drop-existing") {
				t.Errorf("err %v", err)
			}
		})
	})
}

func TestRestoreSplitsDumpOutput(t *testing.T) {
	s := restoreTestEnv(t)
	src := restoreTestDB(t, s.src)
	name := restoreNewDB(t, src, "rst_split")
	res := restoreDumpDB(t, s, name, restoreSourceSQL(name))
	m, err := format.LoadManifest(t.Context(), s.bucket, res.ID)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := s.bucket.Get(t.Context(), m.Object.Key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	dec, err := format.NewDecompressor(rc, m.Object.Compression)
	if err != nil {
		t.Fatal(err)
	}
	sts, err := backuptest.SplitAll(t, dec)
	if err != nil {
		t.Fatal(err)
	}
	// Every statement lies inside one section, and each kind of object came out whole.
	var creates, inserts int
	for _, st := range sts {
		if st.End > m.Object.RawSize {
			t.Errorf("statement past the end: %+v", st)
		}
		switch {
		case strings.HasPrefix(st.SQL, "INSERT INTO"):
			inserts++
		case strings.HasPrefix(st.SQL, "CREATE"):
			creates++
		case strings.HasPrefix(st.SQL, "EXECUTE IMMEDIATE"):
			// Views, routines, triggers and events: their CREATE as hex, whole.
			b, _, ok := sqltext.ParseExecuteImmediate(st.SQL)
			if !ok || !strings.HasPrefix(string(b), "CREATE") {
				t.Errorf("an object statement %.60q does not hold a CREATE", st.SQL)
			}
			creates++
		}
		if strings.HasPrefix(st.SQL, "CREATE") && strings.Contains(st.SQL, "DELIMITER") {
			t.Errorf("a DELIMITER line leaked into %q", st.SQL)
		}
	}
	// database, 5 tables and a sequence, 2 views, trigger, procedure, function, event.
	if creates != 13 || inserts < 4 {
		t.Errorf("%d CREATE and %d INSERT statements in the dump; want 13 and at least 4", creates, inserts)
	}
}

// restoreLoadSplit runs the statements of r on a session of cfg, cut by the splitter (the
// DELIMITER blocks with ;; // and $$ included), each through rewrite.
func restoreLoadSplit(t *testing.T, cfg dbconn.Config, what string, r io.Reader, rewrite func(string) string) {
	t.Helper()
	db := restoreTestDB(t, cfg)
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sp := sqltext.NewSplitter(r, 0)
	for {
		st, err := sp.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		q := rewrite(st.SQL)
		if _, err := conn.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s at offset %d: %s: %v", what, st.Offset, stmtPreview(q), err)
		}
	}
}

// restoreLoadSakila loads the Sakila sample database from dir under name, through the
// splitter; the qualified names are rewritten.
func restoreLoadSakila(t *testing.T, cfg dbconn.Config, dir, name string) {
	t.Helper()
	for _, file := range []string{"sakila-schema.sql", "sakila-data.sql"} {
		f, err := os.Open(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		restoreLoadSplit(t, cfg, file, f, func(q string) string {
			switch q {
			case "DROP SCHEMA IF EXISTS sakila":
				return "DROP SCHEMA IF EXISTS " + sqltext.QuoteIdent(name)
			case "CREATE SCHEMA sakila":
				return "CREATE SCHEMA " + sqltext.QuoteIdent(name)
			}
			return rewriteQualifier(q, "sakila", name)
		})
		f.Close()
	}
}

// restoreLoadSample loads the generated sample database (internal/sampledata, seed 1, scale
// 0.2) under name, through the splitter.
func restoreLoadSample(t *testing.T, cfg dbconn.Config, name string) {
	t.Helper()
	var script bytes.Buffer
	if _, err := sampledata.Generate(&script, sampledata.Options{Seed: 1, Scale: 0.2, Database: name}); err != nil {
		t.Fatal(err)
	}
	restoreLoadSplit(t, cfg, "sample database", &script, func(q string) string { return q })
}

// TestRestoreDumpDatasets dumps a data set loaded through the splitter, restores it into the
// target and under a new name beside it, and compares: the generated sample database always,
// Sakila when the shared data sets are here (testenv.Dataset).
func TestRestoreDumpDatasets(t *testing.T) {
	s := restoreTestEnv(t)
	src, dst := restoreTestDB(t, s.src), restoreTestDB(t, s.dst)
	t.Run("sample", func(t *testing.T) { // 13 tables and a sequence
		restoreDumpDataset(t, s, src, dst, "rst_sample", func(name string) { restoreLoadSample(t, s.src, name) }, 14, 50000)
	})
	if dir, ok := testenv.Dataset(t, "sakila"); ok {
		t.Run("sakila", func(t *testing.T) {
			restoreDumpDataset(t, s, src, dst, "rst_sakila", func(name string) { restoreLoadSakila(t, s.src, dir, name) }, 16, 40000)
		})
	}
}

// restoreDumpDataset loads a data set with load, dumps it, restores it, and checks the report
// says tables tables and at least rows rows.
func restoreDumpDataset(t *testing.T, s *restoreServers, src, dst *sql.DB, prefix string, load func(name string), tables int, rows int64) {
	t.Helper()
	name, into := testenv.UniqueName(prefix), testenv.UniqueName(prefix+"_into")
	restoreDropAtEnd(t, src, name, into)
	restoreDropAtEnd(t, dst, name)
	load(name)
	res := restoreDumpDB(t, s, name, nil)
	rep, err := Restore(t.Context(), s.dst, s.bucket, res.ID, Options{})
	if err != nil {
		t.Fatal(err)
	}
	restoreCompare(t, src, name, dst, name)
	if rep.Tables != tables || rep.Rows < rows {
		t.Errorf("report %+v", rep)
	}
	if _, err := Restore(t.Context(), s.src, s.bucket, res.ID, Options{Into: into}); err != nil {
		t.Fatal(err)
	}
	restoreCompare(t, src, name, src, into)
}
