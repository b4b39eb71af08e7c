package dump_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/backup/sqltext"
	"github.com/backupctl/backupctl/internal/dbtest"
	"github.com/backupctl/backupctl/storage"
)

// exactCase is one file of testdata/exactness loaded into fresh source databases, one per
// placeholder, dumped once.
type exactCase struct {
	src, dst *dbtest.Server
	dbs      []string // in placeholder order
	bucket   storage.Bucket
	file     string // the stored object
	res      *backup.Result
	m        *backup.Manifest
}

// loadExact loads testdata/exactness/<name> with each placeholder ("@A@", ...) replaced by a
// new database whose name starts with its prefix, and dumps those databases.
func loadExact(t *testing.T, name string, placeholders, prefixes []string) *exactCase {
	t.Helper()
	c := &exactCase{src: dbtest.Source(t), dst: dbtest.Target(t)}
	text, err := os.ReadFile(filepath.Join("..", "..", "testdata", "exactness", name))
	if err != nil {
		t.Fatal(err)
	}
	sql := string(text)
	for i, ph := range placeholders {
		db := c.src.CreateDatabase(t, prefixes[i])
		c.dbs = append(c.dbs, db)
		sql = strings.ReplaceAll(sql, ph, dbtest.QuoteIdent(db))
	}
	// Foreign keys between the databases: drop them without checks, before CreateDatabase's
	// cleanup (which would then find them gone).
	t.Cleanup(func() { dropWithoutChecks(t, c.src, c.dbs...) })
	dbtest.RunClient(t, c.src, "", strings.NewReader(sql), dbtest.ClientOptions{})
	dir := t.TempDir()
	if c.bucket, err = storage.Open(t.Context(), storage.Config{URL: "file://" + dir}); err != nil {
		t.Fatal(err)
	}
	if c.res, err = backup.Dump(t.Context(), c.src.Config(), c.bucket, backup.DumpOptions{Databases: c.dbs}); err != nil {
		t.Fatalf("Dump: %v", err)
	}
	if c.m, err = backup.LoadManifest(t.Context(), c.bucket, c.res.ID); err != nil {
		t.Fatal(err)
	}
	c.file = filepath.Join(dir, filepath.FromSlash(c.res.Key))
	return c
}

// noHistory lists the tables of db the manifest marks as having no history in the backup.
func (c *exactCase) noHistory(db string) []string {
	var out []string
	for _, d := range c.m.Databases {
		for _, tb := range d.Tables {
			if d.Name == db && tb.NoHistory {
				out = append(out, tb.Name)
			}
		}
	}
	return out
}

// sql returns the uncompressed dump, every object's EXECUTE IMMEDIATE shown as the CREATE
// statement it runs.
func (c *exactCase) sql(t *testing.T) string {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "zstd", "-dc", c.file).Output()
	if err != nil {
		t.Fatalf("zstd -dc: %v", err)
	}
	return executeImmediateRE.ReplaceAllStringFunc(string(out), func(q string) string {
		b, _, ok := sqltext.ParseExecuteImmediate(q)
		if !ok {
			t.Fatalf("an object statement %.80q that does not parse", q)
		}
		return string(b)
	})
}

// executeImmediateRE matches an object's statement as sqltext.ExecuteImmediate writes it.
var executeImmediateRE = regexp.MustCompile(`EXECUTE IMMEDIATE CONVERT\(0x[0-9A-Fa-f]* USING [0-9A-Za-z_]+\)`)

// dropTarget drops the case's databases on the target.
func (c *exactCase) dropTarget(t *testing.T, names ...string) {
	t.Helper()
	dropWithoutChecks(t, c.dst, names...)
}

// dropWithoutChecks drops databases on s with foreign_key_checks off: a foreign key from
// another database would refuse the drop.
// It runs in cleanups too, after the test's context has ended.
func dropWithoutChecks(t *testing.T, s *dbtest.Server, names ...string) {
	t.Helper()
	cfg, err := s.Config().MySQLConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Params = map[string]string{"foreign_key_checks": "0"}
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, name := range names {
		if _, err := db.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+dbtest.QuoteIdent(name)); err != nil {
			t.Errorf("drop %s database %s: %v", s.Name, name, err)
		}
	}
}

// restoreAll restores the whole backup with backupctl's restore and compares every database.
func (c *exactCase) restoreAll(t *testing.T) *backup.RestoreReport {
	t.Helper()
	t.Cleanup(func() { dropWithoutChecks(t, c.dst, c.dbs...) })
	rep, err := backup.Restore(t.Context(), c.dst.Config(), c.bucket, c.res.ID, backup.RestoreOptions{})
	if err != nil {
		t.Fatalf("Restore: %v", err)
	}
	for _, db := range c.dbs {
		c.compare(t, db, db)
	}
	return rep
}

// replay pipes the object through the stock zstd and mariadb clients into the target, and
// compares every database.
func (c *exactCase) replay(t *testing.T) {
	t.Helper()
	t.Cleanup(func() { dropWithoutChecks(t, c.dst, c.dbs...) })
	conn := fmt.Sprintf("-h %s -P %d -u %s", c.dst.Host, c.dst.Port, c.dst.User)
	cmd := exec.CommandContext(t.Context(), "sh", "-c", `zstd -dc "$1" | mariadb --no-defaults --comments `+conn, "sh", c.file)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "MYSQL_PWD="+string(c.dst.Password))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("replay with the stock client: %v\n%s", err, out)
	}
	for _, db := range c.dbs {
		c.compare(t, db, db)
	}
}

// compare compares source database a with target database b object by object. A table whose
// history is not in the backup (see noHistory) must have the same definition and the same
// current rows, every column but the transaction ids hex-projected, and no history but them.
func (c *exactCase) compare(t *testing.T, a, b string) {
	t.Helper()
	ia, ib := dbtest.InventoryOf(t, c.src, a), dbtest.InventoryOf(t, c.dst, b)
	for _, name := range c.noHistory(a) {
		ta, tb := ia.Tables[name], ib.Tables[name]
		if ta == nil || tb == nil {
			t.Errorf("%s.%s: missing on one side", b, name)
			continue
		}
		if ta.Create != tb.Create {
			t.Errorf("%s.%s: SHOW CREATE TABLE differs:\n%s\n%s", b, name, ta.Create, tb.Create)
		}
		if ta.Rows != tb.Rows || tb.HistoryRows != tb.Rows {
			t.Errorf("%s.%s: %d rows, target %d rows and %d with history (want only the current rows)", b, name, ta.Rows, tb.Rows, tb.HistoryRows)
		}
		if ra, rb := hexRows(t, c.src, a, name), hexRows(t, c.dst, b, name); !slices.Equal(ra, rb) {
			t.Errorf("%s.%s: current rows differ:\n%v\n%v", b, name, ra, rb)
		}
		delete(ia.Tables, name)
		delete(ib.Tables, name)
	}
	for _, d := range dbtest.Diff(ia, ib) {
		t.Errorf("%s vs %s: %s", ia.Label, ib.Label, d)
	}
}

// hexRows returns every current row of db.table as the hex of each column but the row start and
// end, generated and invisible ones included, sorted.
func hexRows(t *testing.T, s *dbtest.Server, db, table string) []string {
	t.Helper()
	conn := s.DB(t, "")
	rows, err := conn.QueryContext(t.Context(), `SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
		AND COALESCE(GENERATION_EXPRESSION, '') NOT IN ('ROW START', 'ROW END') ORDER BY ORDINAL_POSITION`, db, table)
	if err != nil {
		t.Fatal(err)
	}
	var exprs []string
	for rows.Next() {
		var col string
		if err := rows.Scan(&col); err != nil {
			t.Fatal(err)
		}
		exprs = append(exprs, "COALESCE(HEX("+dbtest.QuoteIdent(col)+"), 'NULL')")
	}
	rows.Close()
	q := "SELECT CONCAT_WS(',', " + strings.Join(exprs, ", ") + ") FROM " + dbtest.QuoteIdent(db) + "." + dbtest.QuoteIdent(table)
	rs, err := conn.QueryContext(t.Context(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		var v string
		if err := rs.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// TestDumpExactCrossDatabase: sequences, views and functions that depend on other databases,
// in cycles between databases, come back through restore, a stock replay, a renamed
// single-database restore and a table restore.
func TestDumpExactCrossDatabase(t *testing.T) {
	// The names sort against the dependencies: C reads A and B, A reads B, B reads A.
	c := loadExact(t, "cross_db.sql", []string{"@A@", "@B@", "@C@"}, []string{"exz_a", "exm_b", "exa_c"})
	a, b := c.dbs[0], c.dbs[1]
	dump := c.sql(t)
	// Every database is created before any table, every sequence before any other table.
	lastCreate, firstSeq, lastSeq, firstTable := -1, len(dump), -1, len(dump)
	for _, d := range c.dbs {
		lastCreate = max(lastCreate, strings.Index(dump, "CREATE DATABASE "+dbtest.QuoteIdent(d)))
	}
	for _, s := range []string{"CREATE SEQUENCE `s_a`", "CREATE SEQUENCE `s_b`", "CREATE SEQUENCE `s_c`"} {
		i := strings.Index(dump, s)
		firstSeq, lastSeq = min(firstSeq, i), max(lastSeq, i)
	}
	for _, s := range []string{"CREATE TABLE `t_a`", "CREATE TABLE `t_b`", "CREATE TABLE `t_c`"} {
		firstTable = min(firstTable, strings.Index(dump, s))
	}
	if lastCreate < 0 || lastCreate > firstSeq || lastSeq > firstTable {
		t.Errorf("dump order: last CREATE DATABASE at %d, sequences at %d-%d, first table at %d", lastCreate, firstSeq, lastSeq, firstTable)
	}

	// Views read by another database's views stand in until their own post section replaces
	// them; views no other database reads are created once, without OR REPLACE.
	for _, v := range []string{"v_a_base", "v_b_over", "v_b"} {
		if !strings.Contains(dump, "CREATE VIEW `"+v+"` AS SELECT 1 AS `") || !strings.Contains(dump, "VIEW `"+v+"` AS select") {
			t.Errorf("no stand-in for view %s", v)
		}
	}
	if n := strings.Count(dump, "CREATE OR REPLACE "); n != 4 { // v_a, v_a_base, v_b, v_b_over
		t.Errorf("%d views replace a stand-in, want 4", n)
	}

	c.restoreAll(t)
	c.dropTarget(t, c.dbs...)
	c.replay(t)

	// With the other databases on the target, one database alone under another name.
	into := dbtest.UniqueName("exr_a")
	t.Cleanup(func() { dropWithoutChecks(t, c.dst, into) })
	if _, err := backup.Restore(t.Context(), c.dst.Config(), c.bucket, c.res.ID, backup.RestoreOptions{Databases: []string{a}, Into: into}); err != nil {
		t.Fatalf("Restore --database %s --into %s: %v", a, into, err)
	}
	c.compare(t, a, into)
	// One table whose default calls the other database's sequence, over the existing one.
	if _, err := backup.Restore(t.Context(), c.dst.Config(), c.bucket, c.res.ID, backup.RestoreOptions{Tables: []string{b + ".t_b"}, DropExisting: true}); err != nil {
		t.Fatalf("Restore --table %s.t_b: %v", b, err)
	}
	c.compare(t, b, b)
}

// TestDumpExactRows: tables whose rows are not plain INSERTs of their columns: every column
// generated, invisible columns, and history by transaction id, which the server cannot take
// back (restored as current rows, with a warning naming the table).
func TestDumpExactRows(t *testing.T) {
	c := loadExact(t, "rows.sql", []string{"@A@"}, []string{"exr_rows"})
	db := c.dbs[0]
	if got := c.noHistory(db); !slices.Equal(got, []string{"trx_hist", "trx_visible"}) {
		t.Errorf("tables without history: %v, want trx_hist and trx_visible", got)
	}
	if dump := c.sql(t); !strings.Contains(dump, "INSERT INTO `all_gen` () VALUES\n(),\n(),\n();") {
		t.Errorf("all_gen rows not dumped as empty tuples")
	}
	rep := c.restoreAll(t)
	for _, name := range []string{"trx_hist", "trx_visible"} {
		if !slices.ContainsFunc(rep.Warnings, func(w string) bool {
			return strings.Contains(w, db+"."+name+" is system-versioned by transaction id")
		}) {
			t.Errorf("no warning for %s in %q", name, rep.Warnings)
		}
	}
	c.dropTarget(t, c.dbs...)
	c.replay(t)
}

// TestDumpExactSettings: tables over InnoDB's row-size limit, created with innodb_strict_mode
// off, and MEMORY tables larger than the default max_heap_table_size come back on a target with
// the default settings.
func TestDumpExactSettings(t *testing.T) {
	c := loadExact(t, "settings.sql", []string{"@A@"}, []string{"exs_set"})
	dump := c.sql(t)
	for _, want := range []string{
		"SET SESSION innodb_strict_mode = 0;\nCREATE TABLE `wide_char`",
		"SET SESSION innodb_strict_mode = 0;\nCREATE TABLE `wide_text_compact`",
		"SET SESSION innodb_strict_mode = 0;\nCREATE TABLE `wide_redundant`",
		"SET SESSION innodb_strict_mode = 0;\nCREATE TABLE `block_size_ignored`",
		"SET SESSION max_heap_table_size = ",
	} {
		if !strings.Contains(dump, want) {
			t.Errorf("dump lacks %q", want)
		}
	}
	if n := strings.Count(dump, "innodb_strict_mode = 0"); n != 4 {
		t.Errorf("%d tables created with innodb_strict_mode off, want 4 (not `narrow`)", n)
	}
	for _, name := range []string{"heap_big", "heap_btree"} {
		i := strings.Index(dump, "CREATE TABLE `"+name+"`")
		if i < 0 || !strings.Contains(dump[max(0, i-60):i], "max_heap_table_size") {
			t.Errorf("%s is not created under a raised max_heap_table_size", name)
		}
	}
	c.restoreAll(t)
	c.dropTarget(t, c.dbs...)
	c.replay(t)
}
