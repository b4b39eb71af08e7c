package dump

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/backupctl/backupctl/backup/dbconn"
	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/backup/internal/backuptest"
	"github.com/backupctl/backupctl/backup/sqltext"
)

// dumpServers are the servers `make up` starts, as the dump tests use them.
type dumpServers struct {
	src, dst     dbconn.Config
	srcDB, dstDB *sql.DB
}

// dumpTestEnv finds the servers and opens a pool on each.
func dumpTestEnv(t *testing.T) *dumpServers {
	t.Helper()
	s := &dumpServers{}
	s.src, s.dst = backuptest.ServerConfigs(t)
	s.srcDB = dumpOpenDB(t, s.src)
	s.dstDB = dumpOpenDB(t, s.dst)
	return s
}

// dumpOpenDB opens a pool of one connection, so session settings stick.
func dumpOpenDB(t *testing.T, c dbconn.Config) *sql.DB {
	t.Helper()
	db := backuptest.OpenDB(t, c)
	db.SetMaxOpenConns(1)
	return db
}

// dumpClient runs the stock mariadb client against c with stdin, as a user replays a dump.
func dumpClient(t *testing.T, c dbconn.Config, stdin []byte, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "mariadb", append([]string{"-h", c.Host, "-P", strconv.Itoa(c.Port), "-u", c.User, "--comments", "--default-character-set=utf8mb4"}, args...)...)
	cmd.Env = append(os.Environ(), "MYSQL_PWD="+string(c.Password))
	cmd.Stdin = bytes.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("mariadb client: %v\n%s", err, truncateForLog(out.String()))
	}
}

func truncateForLog(s string) string {
	if len(s) > 4000 {
		return s[:4000] + "..."
	}
	return s
}

// dumpReplay pipes a stored object through the stock decompressor into the stock client.
func dumpReplay(t *testing.T, c dbconn.Config, file, compression string) {
	t.Helper()
	var dec []string
	switch compression {
	case format.CompressZstd:
		dec = []string{"zstd", "-dc", file}
	case format.CompressGzip:
		dec = []string{"gzip", "-dc", file}
	default:
		dec = []string{"cat", file}
	}
	// No --comments: the objects' statements travel as hex, with their comments.
	sh := fmt.Sprintf("%s | mariadb -h %s -P %d -u %s", strings.Join(dec, " "), c.Host, c.Port, c.User)
	cmd := exec.CommandContext(t.Context(), "sh", "-c", sh)
	cmd.Env = append(os.Environ(), "MYSQL_PWD="+string(c.Password))
	cmd.Dir = t.TempDir() // a \! command, were one to run, would act here
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("replay %s: %v\n%s", filepath.Base(file), err, truncateForLog(string(out)))
	}
}

// dumpDropAtEnd drops each of dbs on both servers when the test ends.
func (s *dumpServers) dumpDropAtEnd(t *testing.T, dbs ...string) {
	for _, db := range dbs {
		t.Cleanup(func() {
			ctx := context.WithoutCancel(context.Background())
			for _, d := range []*sql.DB{s.srcDB, s.dstDB} {
				if _, err := d.ExecContext(ctx, "DROP DATABASE IF EXISTS "+sqltext.QuoteIdent(db)); err != nil {
					t.Logf("drop %s: %v", db, err)
				}
			}
		})
	}
}

// dumpQuery returns every row of q as strings ("NULL" for NULL), in the order returned.
func dumpQuery(t *testing.T, db *sql.DB, q string) [][]string {
	t.Helper()
	rs, err := db.QueryContext(t.Context(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rs.Close()
	cols, _ := rs.Columns()
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var out [][]string
	for rs.Next() {
		if err := rs.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		r := make([]string, len(cols))
		for i, v := range vals {
			if v == nil {
				r[i] = "NULL"
			} else {
				r[i] = "'" + string(v) + "'"
			}
		}
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

// dumpCompare checks that database name holds the same on both servers: every table's
// SHOW CREATE, row count, CHECKSUM TABLE and (for system-versioned tables) whole history, every
// sequence's state, and every view, routine, trigger and event with its session.
func dumpCompare(t *testing.T, a, b *sql.DB, name string) {
	t.Helper()
	for _, d := range []*sql.DB{a, b} {
		if _, err := d.ExecContext(t.Context(), "SET NAMES utf8mb4, time_zone = '+00:00'"); err != nil {
			t.Fatal(err)
		}
	}
	qdb := sqltext.QuoteString(name)
	same := func(what, q string) [][]string {
		t.Helper()
		ra, rb := dumpQuery(t, a, q), dumpQuery(t, b, q)
		if fmt.Sprint(ra) != fmt.Sprint(rb) {
			t.Errorf("%s differs:\nsource: %s\ntarget: %s", what, truncateForLog(fmt.Sprint(ra)), truncateForLog(fmt.Sprint(rb)))
		}
		return ra
	}
	same("databases", "SELECT SCHEMA_NAME, DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = "+qdb)
	tables := same("tables", "SELECT TABLE_NAME, TABLE_TYPE, ENGINE, AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = "+qdb+" ORDER BY TABLE_NAME")
	if len(tables) == 0 {
		t.Errorf("database %q has no tables", name)
	}
	for _, r := range tables {
		tn := strings.Trim(r[0], "'")
		fq := sqltext.QuoteIdent(name) + "." + sqltext.QuoteIdent(tn)
		switch strings.Trim(r[1], "'") {
		case "VIEW":
			same("view "+tn, "SHOW CREATE VIEW "+fq)
		case "SEQUENCE":
			same("sequence "+tn, "SHOW CREATE SEQUENCE "+fq)
			same("sequence state "+tn, "SELECT * FROM "+fq)
		default:
			same("create "+tn, "SHOW CREATE TABLE "+fq)
			same("count "+tn, "SELECT COUNT(*) FROM "+fq)
			if ca, cb := dumpQuery(t, a, "CHECKSUM TABLE "+fq), dumpQuery(t, b, "CHECKSUM TABLE "+fq); fmt.Sprint(ca) != fmt.Sprint(cb) {
				dumpDiffColumns(t, a, b, name, tn)
			}
			if strings.Trim(r[1], "'") == "SYSTEM VERSIONED" {
				cols := dumpQuery(t, a, "SELECT COLUMN_NAME, GENERATION_EXPRESSION FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "+qdb+" AND TABLE_NAME = "+sqltext.QuoteString(tn)+" ORDER BY ORDINAL_POSITION")
				sel := "ROW_START, ROW_END"
				for _, c := range cols {
					if c[1] == "'ROW START'" || c[1] == "'ROW END'" {
						sel = "*"
					}
				}
				if sel != "*" {
					sel = "*, " + sel
				}
				ra := dumpQuery(t, a, "SELECT "+sel+" FROM "+fq+" FOR SYSTEM_TIME ALL")
				rb := dumpQuery(t, b, "SELECT "+sel+" FROM "+fq+" FOR SYSTEM_TIME ALL")
				sortRows(ra)
				sortRows(rb)
				if fmt.Sprint(ra) != fmt.Sprint(rb) {
					t.Errorf("history of %s differs:\nsource: %v\ntarget: %v", tn, ra, rb)
				}
			}
		}
	}
	for _, r := range same("routines", "SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = "+qdb+" ORDER BY 1, 2") {
		same("routine "+r[1], "SHOW CREATE "+strings.Trim(r[0], "'")+" "+sqltext.QuoteIdent(name)+"."+sqltext.QuoteIdent(strings.Trim(r[1], "'")))
	}
	for _, r := range same("triggers", "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE, ACTION_ORDER, SQL_MODE, CHARACTER_SET_CLIENT, COLLATION_CONNECTION, ACTION_STATEMENT FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = "+qdb+" ORDER BY 1") {
		_ = r
	}
	same("events", "SELECT EVENT_NAME, DEFINER, TIME_ZONE, EVENT_DEFINITION, INTERVAL_VALUE, INTERVAL_FIELD, STATUS, ON_COMPLETION, SQL_MODE, CHARACTER_SET_CLIENT, COLLATION_CONNECTION, EVENT_COMMENT FROM information_schema.EVENTS WHERE EVENT_SCHEMA = "+qdb+" ORDER BY 1")
}

func sortRows(rs [][]string) {
	sort.Slice(rs, func(i, j int) bool { return fmt.Sprint(rs[i]) < fmt.Sprint(rs[j]) })
}

// dumpDiffColumns reports which columns of a table differ, for a failed CHECKSUM TABLE.
func dumpDiffColumns(t *testing.T, a, b *sql.DB, db, table string) {
	t.Helper()
	cols := dumpQuery(t, a, "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "+sqltext.QuoteString(db)+" AND TABLE_NAME = "+sqltext.QuoteString(table)+" ORDER BY ORDINAL_POSITION")
	found := false
	for _, c := range cols {
		col := sqltext.QuoteIdent(strings.Trim(c[0], "'"))
		q := "SELECT HEX(" + col + ") FROM " + sqltext.QuoteIdent(db) + "." + sqltext.QuoteIdent(table) + " ORDER BY 1"
		ra, rb := dumpQuery(t, a, q), dumpQuery(t, b, q)
		if fmt.Sprint(ra) != fmt.Sprint(rb) {
			found = true
			t.Errorf("checksum of %s differs in column %s:\nsource: %s\ntarget: %s", table, col, truncateForLog(fmt.Sprint(ra)), truncateForLog(fmt.Sprint(rb)))
		}
	}
	if !found {
		t.Errorf("CHECKSUM TABLE of %s differs, but no column's values do", table)
	}
}
