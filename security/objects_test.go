package security

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backupctl/backupctl/internal/dbtest"
)

// shapedRoutines are procedures whose bodies a splitter that ignores the session would cut in
// the wrong place, each smuggling an INSERT into other.t out of its body: the reviewed
// attack under NO_BACKSLASH_ESCAPES, the same under ANSI_QUOTES, and cp932 text whose
// characters end in 0x5C. Each is created in its own session, as a source user could.
func shapedRoutines(other string) []struct{ name, setup, create string } {
	o := dbtest.QuoteIdent(other)
	return []struct{ name, setup, create string }{
		{"p_nbe", "SET sql_mode = 'NO_BACKSLASH_ESCAPES'",
			"CREATE PROCEDURE p_nbe()\nBEGIN\n  SELECT 'x\\' # ';; INSERT INTO " + o + ".t VALUES (CURRENT_USER()); -- \n  ;\n  -- a comment kept\nEND"},
		{"p_ansi", "SET sql_mode = 'ANSI_QUOTES'",
			"CREATE PROCEDURE p_ansi()\nBEGIN\n  SELECT 1 AS \"x\\\";\n  SELECT '\";; INSERT INTO " + o + ".t VALUES (CURRENT_USER()); -- ';\nEND"},
		{"p_cp932", "SET NAMES cp932",
			"CREATE PROCEDURE p_cp932()\nBEGIN\n  -- \x95\\ a comment\n  SELECT '\x95\\', ';; INSERT INTO " + o + ".t VALUES (CURRENT_USER()); -- ' AS \x83\\;\nEND"},
	}
}

// routineDefs returns each procedure's SHOW CREATE statement (as raw bytes) and the session it
// was stored with.
func routineDefs(t *testing.T, s *dbtest.Server, user, pw, db string) map[string]string {
	t.Helper()
	c := openAs(t, s, user, pw, db)
	execAll(t, c, "SET character_set_results = binary")
	out := map[string]string{}
	for _, n := range queryStrings(t, c, "SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? ORDER BY 1", db) {
		rs, err := c.QueryContext(t.Context(), "SHOW CREATE PROCEDURE "+dbtest.QuoteIdent(db)+"."+dbtest.QuoteIdent(n))
		if err != nil {
			t.Fatal(err)
		}
		for rs.Next() {
			var name, mode, create, cs, coll, dbColl []byte
			if err := rs.Scan(&name, &mode, &create, &cs, &coll, &dbColl); err != nil {
				t.Fatal(err)
			}
			out[n] = strings.Join([]string{string(mode), string(create), string(cs), string(coll)}, "\x00")
		}
		rs.Close()
	}
	return out
}

// TestShapedRoutinesRestoreExactly: routines shaped to be mis-split come back identical
// through `backupctl restore --into` and through the stock client's replay, and nothing
// reaches the other database.
func TestShapedRoutinesRestoreExactly(t *testing.T) {
	src, dst := dbtest.Source(t), dbtest.Target(t)
	db, other := dbtest.UniqueName("sec_rt"), dbtest.UniqueName("sec_other")
	into := db + "_c"
	dropAtEnd(t, src, db, other)
	dropAtEnd(t, dst, db, other, into)
	for _, s := range []*dbtest.Server{src, dst} {
		rootClient(t, s, "CREATE DATABASE "+dbtest.QuoteIdent(other)+";\nCREATE TABLE "+dbtest.QuoteIdent(other)+".t (v VARCHAR(200));\n")
	}
	rootClient(t, src, "CREATE DATABASE "+dbtest.QuoteIdent(db)+";\n")
	// The attacker may create routines in their own database and nothing else.
	user := "sec_" + strings.TrimPrefix(dbtest.UniqueName("u"), "u_")[:10]
	pw := createUser(t, src, user, "CREATE ROUTINE, ALTER ROUTINE, EXECUTE, SELECT ON "+dbtest.QuoteIdent(db)+".*")
	for _, r := range shapedRoutines(other) {
		c := openAs(t, src, user, pw, db)
		execAll(t, c, r.setup, r.create)
	}
	want := routineDefs(t, src, src.User, string(src.Password), db)
	if len(want) != 3 {
		t.Fatalf("source holds %d routines, want 3", len(want))
	}

	dir := t.TempDir()
	id := backupNow(t, src, dir, "zstd", db)

	// Our restore, under a new name.
	r := runCLI(t, dst, dst.User, string(dst.Password), dir, "restore", id, "-d", db, "--into", into)
	if r.code != 0 {
		t.Fatalf("restore --into: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	got := routineDefs(t, dst, dst.User, string(dst.Password), into)
	for n, w := range want {
		if got[n] != w {
			t.Errorf("restore --into: %s differs:\n got %q\nwant %q", n, got[n], w)
		}
	}

	// The stock client's replay, as the README shows it.
	obj, _ := backupFiles(t, dir, id)
	out, err := exec.Command("sh", "-c", "zstd -dc "+obj+" | mariadb --socket="+dst.Socket+" --user=root").CombinedOutput()
	if err != nil {
		t.Fatalf("zstd -dc | mariadb: %v\n%s", err, out)
	}
	got = routineDefs(t, dst, dst.User, string(dst.Password), db)
	for n, w := range want {
		if got[n] != w {
			t.Errorf("stock replay: %s differs:\n got %q\nwant %q", n, got[n], w)
		}
	}
	c := openAs(t, dst, dst.User, string(dst.Password), "")
	if rows := queryStrings(t, c, "SELECT v FROM "+dbtest.QuoteIdent(other)+".t"); len(rows) != 0 {
		t.Errorf("rows reached %s.t on the target: %q", other, rows)
	}
}

// TestStockClientSandbox: a client command injected into an object is refused by the stock
// client, whose sandbox mode the object's first line turns on.
func TestStockClientSandbox(t *testing.T) {
	src, dst := dbtest.Source(t), dbtest.Target(t)
	db := dbtest.UniqueName("sec_sb")
	dropAtEnd(t, src, db)
	dropAtEnd(t, dst, db)
	rootClient(t, src, "CREATE DATABASE "+dbtest.QuoteIdent(db)+";\nCREATE TABLE "+dbtest.QuoteIdent(db)+".t (a INT);\nINSERT INTO "+dbtest.QuoteIdent(db)+".t VALUES (1);\n")
	dir := t.TempDir()
	id := backupNow(t, src, dir, "zstd", db)
	obj, _ := backupFiles(t, dir, id)
	raw, err := exec.Command("zstd", "-dc", obj).Output()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(raw, []byte("/*M!999999\\- enable the sandbox mode */\n")) {
		t.Fatalf("the object's first line is %q, not the sandbox line", raw[:min(len(raw), 60)])
	}
	marker := filepath.Join(t.TempDir(), "sandbox-escaped")
	// After the header, where a tampered object would put it.
	at := bytes.Index(raw, []byte("CREATE DATABASE"))
	tampered := append(append(append([]byte{}, raw[:at]...), []byte("\\! touch "+marker+"\n")...), raw[at:]...)
	tz := filepath.Join(t.TempDir(), "tampered.sql.zst")
	cmp := exec.Command("zstd", "-q", "-o", tz)
	cmp.Stdin = bytes.NewReader(tampered)
	if out, err := cmp.CombinedOutput(); err != nil {
		t.Fatalf("zstd: %v\n%s", err, out)
	}
	out, err := exec.Command("sh", "-c", "zstd -dc "+tz+" | mariadb --socket="+dst.Socket+" --user=root").CombinedOutput()
	if err == nil {
		t.Errorf("the stock client ran the tampered object without an error:\n%s", out)
	}
	if !strings.Contains(string(out), "sandbox") {
		t.Errorf("the client's error does not name its sandbox mode: %s", out)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the injected \\! command ran: %s exists", marker)
	}
}
