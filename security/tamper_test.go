package security

import (
	"strings"
	"testing"

	"github.com/backupctl/backupctl/backup/sqltext"
	"github.com/backupctl/backupctl/internal/dbtest"
)

// TestTamperedDataSectionRefused: statements appended to a table's data section of a verified
// backup, with every SHA-256 recomputed and the manifest resealed, pass verification; the
// restore refuses each before anything runs (exit 3, naming the section and offset), for a
// database restore under another name, a --table restore and without verify-first. The restore
// runs as a least-privilege user: rights on the target databases only.
func TestTamperedDataSectionRefused(t *testing.T) {
	q := dbtest.QuoteIdent
	src, dst, db, third, into := tamperSetup(t, "sec_tamper", func(db string) string {
		return "CREATE TABLE " + q(db) + ".t (id INT PRIMARY KEY, v VARCHAR(50));\nINSERT INTO " + q(db) + ".t VALUES (1,'a'),(2,'b');\n"
	})
	user := "sec_" + strings.TrimPrefix(dbtest.UniqueName("r"), "r_")[:10]
	pw := createUser(t, dst, user, "ALL PRIVILEGES ON "+q(into)+".*", "ALL PRIVILEGES ON "+q(db)+".*")
	outfile := "/tmp/" + dbtest.UniqueName("sec_outfile")
	evil := "sec_evil_" + strings.TrimPrefix(dbtest.UniqueName("e"), "e_")[:8]

	attacks := []struct{ name, sql string }{
		{"insert into a third database", "INSERT INTO " + q(third) + ".t VALUES (CURRENT_USER());\n"},
		{"use of a third database", "USE " + q(third) + ";\nINSERT INTO t VALUES (1);\n"},
		{"create user", "CREATE USER '" + evil + "'@'%' IDENTIFIED BY 'x';\n"},
		{"grant", "GRANT ALL ON *.* TO '" + evil + "'@'%' WITH GRANT OPTION;\n"},
		{"into outfile", "SELECT * FROM t INTO OUTFILE '" + outfile + "';\n"},
		{"set global", "SET GLOBAL max_connections = 1;\n"},
		{"subquery in values", "INSERT INTO t VALUES (3, (SELECT v FROM " + q(third) + ".t LIMIT 1));\n"},
		{"client command", "\\! touch " + outfile + "\n"},
		{"session left lexing otherwise", "SET sql_mode = 'NO_BACKSLASH_ESCAPES';\n"},
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			dir, id := tamperedBackup(t, src, dst, db, "t", a.sql)
			for _, run := range []struct {
				user, pw string
				args     []string
			}{
				{user, pw, []string{"restore", id, "-d", db, "--into", into}},
				{user, pw, []string{"restore", id, "--table", db + ".t"}},
				{user, pw, []string{"restore", id, "-d", db, "--into", into, "--no-verify-first"}},
				// An administrator the server would let do all of it.
				{dst.User, string(dst.Password), []string{"restore", id, "-d", db, "--into", into}},
				{dst.User, string(dst.Password), []string{"restore", id, "--table", db + ".t"}},
				{dst.User, string(dst.Password), []string{"restore", id, "-d", db, "--into", into, "--no-verify-first"}},
			} {
				args := append([]string{"as " + run.user}, run.args...)
				r := runCLI(t, dst, run.user, run.pw, dir, run.args...)
				out := r.stdout + r.stderr
				if r.code != 3 || !strings.Contains(out, "tampered with") || !strings.Contains(out, "data section of database") || !strings.Contains(out, "offset") {
					t.Errorf("%v: exit %d, want 3 and the section named:\n%s", args, r.code, out)
				}
				if args[len(args)-1] != "--no-verify-first" && !strings.Contains(out, "nothing was applied") {
					t.Errorf("%v: the error does not say nothing was applied:\n%s", args, out)
				}
				c := openAs(t, dst, dst.User, string(dst.Password), "")
				if rows := queryStrings(t, c, "SELECT v FROM "+q(third)+".t"); len(rows) != 0 {
					t.Errorf("%v: rows reached %s.t: %q", args, third, rows)
				}
				if n := queryStrings(t, c, "SELECT COUNT(*) FROM mysql.user WHERE User = ?", evil); n[0] != "0" {
					t.Errorf("%v: user %s was created", args, evil)
				}
				if args[len(args)-1] != "--no-verify-first" {
					if dbs := queryStrings(t, c, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN (?, ?)", db, into); len(dbs) != 0 {
						t.Errorf("%v: verify-first restore created %q", args, dbs)
					}
				}
				rootClient(t, dst, "DROP DATABASE IF EXISTS "+q(into)+";\nDROP DATABASE IF EXISTS "+q(db)+";\n")
			}
		})
	}
	// The untampered backup restores with the same least-privilege user.
	dir := t.TempDir()
	id := backupNow(t, src, dir, "none", db)
	if r := runCLI(t, dst, user, pw, dir, "restore", id, "-d", db, "--into", into); r.code != 0 {
		t.Fatalf("least-privilege restore of an untampered backup: exit %d\n%s", r.code, r.stderr)
	}
	c := openAs(t, dst, user, pw, into)
	if rows := queryStrings(t, c, "SELECT v FROM t ORDER BY id"); strings.Join(rows, ",") != "a,b" {
		t.Errorf("restored rows %q, want a,b", rows)
	}
}

// tamperSetup creates a database on the source with what objects(db) creates, and on the
// target a third database with a table t a tampered backup must not reach; it names the
// --into target too, and drops all of them at the end.
func tamperSetup(t *testing.T, prefix string, objects func(db string) string) (src, dst *dbtest.Server, db, third, into string) {
	t.Helper()
	src, dst = dbtest.Source(t), dbtest.Target(t)
	db, third = dbtest.UniqueName(prefix), dbtest.UniqueName("sec_third")
	into = db + "_c"
	dropAtEnd(t, src, db)
	dropAtEnd(t, dst, db, into, third)
	q := dbtest.QuoteIdent
	rootClient(t, src, "CREATE DATABASE "+q(db)+";\n"+objects(db))
	rootClient(t, dst, "CREATE DATABASE "+q(third)+";\nCREATE TABLE "+q(third)+".t (v VARCHAR(200));\n")
	return src, dst, db, third, into
}

// tamperedBackup takes an uncompressed backup of db, appends extra to a section (see
// appendToSection) and checks that the resealed backup passes verify.
func tamperedBackup(t *testing.T, src, dst *dbtest.Server, db, table, extra string) (dir, id string) {
	t.Helper()
	dir = t.TempDir()
	id = backupNow(t, src, dir, "none", db)
	appendToSection(t, dir, id, db, table, extra)
	if r := runCLI(t, dst, dst.User, string(dst.Password), dir, "verify", id); r.code != 0 {
		t.Fatalf("the resealed backup fails verify (exit %d), so this tests nothing: %s", r.code, r.stderr)
	}
	return dir, id
}

// TestErrorShowsNoValues: a failing INSERT's error, and so the result a Job reports, names the
// table and the statement's start but none of its values.
func TestErrorShowsNoValues(t *testing.T) {
	src, dst := dbtest.Source(t), dbtest.Target(t)
	db := dbtest.UniqueName("sec_val")
	dropAtEnd(t, src, db)
	dropAtEnd(t, dst, db)
	q := dbtest.QuoteIdent
	secret := "123-45-6789"
	rootClient(t, src, "CREATE DATABASE "+q(db)+";\nCREATE TABLE "+q(db)+".people (id INT PRIMARY KEY, ssn VARCHAR(20));\nINSERT INTO "+q(db)+".people VALUES (1,'"+secret+"');\n")
	// The restore user may create the table but not insert into it: the INSERT fails.
	user := "sec_" + strings.TrimPrefix(dbtest.UniqueName("v"), "v_")[:10]
	pw := createUser(t, dst, user, "CREATE, DROP, ALTER, INDEX, SELECT ON "+q(db)+".*")
	dir := t.TempDir()
	id := backupNow(t, src, dir, "zstd", db)
	r := runCLI(t, dst, user, pw, dir, "restore", id)
	out := r.stdout + r.stderr
	if r.code == 0 {
		t.Fatalf("restore without INSERT rights succeeded:\n%s", out)
	}
	if !strings.Contains(out, "INSERT INTO `people`") || !strings.Contains(out, "denied") {
		t.Errorf("the error does not name the failing INSERT:\n%s", out)
	}
	if strings.Contains(out, secret) || strings.Contains(out, "45-67") {
		t.Errorf("a row value appears in the restore's output:\n%s", out)
	}
}

// TestTamperedCreateSectionRefused: the create section, where routines and stand-in views now
// stand, holds nothing but what a dump writes there: a resealed backup with a stand-in that
// reads another database, an object of another database or of another kind, or EXECUTE
// IMMEDIATE of anything but an object's CREATE is refused before anything runs.
func TestTamperedCreateSectionRefused(t *testing.T) {
	q := dbtest.QuoteIdent
	src, dst, db, third, into := tamperSetup(t, "sec_tcreate", func(db string) string {
		return "CREATE TABLE " + q(db) + ".t (id INT PRIMARY KEY);\nCREATE VIEW " + q(db) + ".v AS SELECT id FROM " + q(db) + ".t;\n"
	})
	ei := func(s string) string { return sqltext.ExecuteImmediate([]byte(s), "utf8mb4") + ";\n" }
	attacks := []struct{ name, sql string }{
		{"stand-in reading another database", "CREATE VIEW `v` AS SELECT 1 AS `id` FROM " + q(third) + ".t;\n"},
		{"stand-in of an expression", "CREATE VIEW `v` AS SELECT CURRENT_USER() AS `id`;\n"},
		{"routine of another database", ei("CREATE PROCEDURE " + q(third) + ".p() INSERT INTO " + q(third) + ".t VALUES (1)")},
		{"view with a definer", ei("CREATE DEFINER=`root`@`localhost` SQL SECURITY DEFINER VIEW `w` AS SELECT 1")},
		{"event", ei("CREATE EVENT e ON SCHEDULE EVERY 1 SECOND DO INSERT INTO " + q(third) + ".t VALUES (2)")},
		{"execute immediate of a grant", ei("GRANT ALL ON *.* TO CURRENT_USER")},
		{"set global", "SET GLOBAL event_scheduler = ON;\n"},
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			dir, id := tamperedBackup(t, src, dst, db, "", a.sql)
			for _, args := range [][]string{{"restore", id}, {"restore", id, "-d", db, "--into", into}} {
				r := runCLI(t, dst, dst.User, string(dst.Password), dir, args...)
				out := r.stdout + r.stderr
				if r.code != 3 || !strings.Contains(out, "tampered with") || !strings.Contains(out, "create section of database") || !strings.Contains(out, "nothing was applied") {
					t.Errorf("%v: exit %d, want 3, the create section named and nothing applied:\n%s", args, r.code, out)
				}
				c := openAs(t, dst, dst.User, string(dst.Password), "")
				if dbs := queryStrings(t, c, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN (?, ?)", db, into); len(dbs) != 0 {
					t.Errorf("%v: verify-first restore created %q", args, dbs)
				}
				rootClient(t, dst, "DROP DATABASE IF EXISTS "+q(into)+";\nDROP DATABASE IF EXISTS "+q(db)+";\n")
			}
		})
	}
}
