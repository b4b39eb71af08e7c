// Package security holds tests of what a backup can make a restore do, against the real
// servers of .stack: objects a source user shapes to be mis-split, backups tampered with and
// resealed, the stock client's replay, and what error messages show.
package security

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/internal/dbtest"
)

// binary is backupctl built from this checkout for the run.
var binary string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		return m.Run() // every case needs the servers and skips
	}
	dir, err := os.MkdirTemp("", "backupctl-security-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "security:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	// BACKUP_SECURITY_BINARY runs the cases against a binary built elsewhere (an earlier
	// version, to see them fail).
	if binary = os.Getenv("BACKUP_SECURITY_BINARY"); binary == "" {
		binary = filepath.Join(dir, "backupctl")
		build := exec.Command("go", "build", "-o", binary, "./cmd/backupctl")
		build.Dir = ".."
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "security: go build ./cmd/backupctl: %v\n%s", err, out)
			return 1
		}
	}
	return m.Run()
}

// cliResult is one run of backupctl.
type cliResult struct {
	code           int
	stdout, stderr string
}

// runCLI runs backupctl locally against server s (as user, password pw) and the file bucket dir.
func runCLI(t testing.TB, s *dbtest.Server, user, pw, dir string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(),
		"BACKUP_DB_HOST="+s.Host, "BACKUP_DB_PORT="+strconv.Itoa(s.Port), "BACKUP_DB_SOCKET=",
		"BACKUP_DB_USER="+user, "BACKUP_DB_PASSWORD="+pw, "BACKUP_DB_PASSWORD_FILE=",
		"BACKUP_TO=file://"+dir, "BACKUP_S3_ENDPOINT=", "BACKUP_S3_PREFIX=", "BACKUP_LOCAL=1",
		"BACKUP_OUTPUT=json", "BACKUP_LOG_FORMAT=json")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run backupctl %v: %v", args, err)
	}
	return cliResult{code: code, stdout: out.String(), stderr: errb.String()}
}

// backupNow takes a verified backup of db from the source and returns its id.
func backupNow(t testing.TB, src *dbtest.Server, dir, compression, db string) string {
	t.Helper()
	r := runCLI(t, src, src.User, string(src.Password), dir, "backup", "now", "--compression", compression, "-d", db)
	if r.code != 0 {
		t.Fatalf("backup now: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.Contains(r.stdout, e.Name()) {
			return e.Name()
		}
	}
	t.Fatalf("backup now: no backup directory named in %s", r.stdout)
	return ""
}

// rootClient runs sql as root through the server's socket with the stock client.
func rootClient(t testing.TB, s *dbtest.Server, sqlText string) {
	t.Helper()
	cmd := exec.Command("mariadb", "--socket="+s.Socket, "--user=root", "--batch")
	cmd.Stdin = strings.NewReader(sqlText)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mariadb as root on the %s: %v\n%s", s.Name, err, out)
	}
}

// openAs opens one connection to s as user.
func openAs(t testing.TB, s *dbtest.Server, user, pw, db string) *sql.Conn {
	t.Helper()
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = user, pw, "tcp", s.Host+":"+strconv.Itoa(s.Port), db
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pool := sql.OpenDB(c)
	t.Cleanup(func() { pool.Close() })
	conn, err := pool.Conn(t.Context())
	if err != nil {
		t.Fatalf("connect to the %s as %s: %v", s.Name, user, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// exec runs statements on conn, failing the test on an error.
func execAll(t testing.TB, conn *sql.Conn, stmts ...string) {
	t.Helper()
	for _, q := range stmts {
		if _, err := conn.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%.80q: %v", q, err)
		}
	}
}

// queryStrings returns the first column of every row.
func queryStrings(t testing.TB, conn *sql.Conn, q string, args ...any) []string {
	t.Helper()
	rs, err := conn.QueryContext(t.Context(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		var v sql.RawBytes
		if err := rs.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, string(v))
	}
	return out
}

// createUser makes a user with a random password on s (as root), dropped at the end.
func createUser(t testing.TB, s *dbtest.Server, name string, grants ...string) string {
	t.Helper()
	pw := "pw-" + strings.TrimPrefix(dbtest.UniqueName("x"), "x_")
	q := fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s';\n", name, pw)
	for _, g := range grants {
		q += fmt.Sprintf("GRANT %s TO '%s'@'%%';\n", g, name)
	}
	rootClient(t, s, q)
	t.Cleanup(func() { rootClient(t, s, fmt.Sprintf("DROP USER IF EXISTS '%s'@'%%';", name)) })
	return pw
}

// dropAtEnd drops databases on s (as root) when the test ends.
func dropAtEnd(t testing.TB, s *dbtest.Server, names ...string) {
	t.Helper()
	t.Cleanup(func() {
		var q string
		for _, n := range names {
			q += "DROP DATABASE IF EXISTS " + dbtest.QuoteIdent(n) + ";\n"
		}
		rootClient(t, s, q)
	})
}

// backupFiles returns the object and manifest paths of backup id in dir.
func backupFiles(t testing.TB, dir, id string) (object, manifest string) {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, id))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		switch {
		case e.Name() == format.ManifestName:
			manifest = filepath.Join(dir, id, e.Name())
		case strings.HasPrefix(e.Name(), "dump.sql"):
			object = filepath.Join(dir, id, e.Name())
		}
	}
	if object == "" || manifest == "" {
		t.Fatalf("backup %s: object %q, manifest %q", id, object, manifest)
	}
	return object, manifest
}

// loadManifest reads a backup's manifest file.
func loadManifest(t testing.TB, path string) *format.Manifest {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := format.DecodeManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// appendToSection does what an attacker with write access to the bucket does: it inserts
// extra at the end of table's data section (or, with table "", of db's create section) of an
// uncompressed backup, moves every later range, and recomputes every SHA-256 and the
// manifest's own checksum.
func appendToSection(t testing.TB, dir, id, db, table, extra string) {
	t.Helper()
	objPath, manPath := backupFiles(t, dir, id)
	m := loadManifest(t, manPath)
	if m.Object.Compression != "none" {
		t.Fatalf("appendToSection needs an uncompressed backup, not %s", m.Object.Compression)
	}
	obj, err := os.ReadFile(objPath)
	if err != nil {
		t.Fatal(err)
	}
	var tbl *format.Table
	var sec *format.Range
	for i := range m.Databases {
		if m.Databases[i].Name == db && table == "" {
			sec = &m.Databases[i].Create
		}
		for j := range m.Databases[i].Tables {
			if m.Databases[i].Name == db && m.Databases[i].Tables[j].Name == table {
				tbl = &m.Databases[i].Tables[j]
				sec = &tbl.Data
			}
		}
	}
	if sec == nil {
		t.Fatalf("backup %s has no section for %s.%q", id, db, table)
	}
	end, n := sec.Offset+sec.Length, int64(len(extra))
	obj = append(obj[:end:end], append([]byte(extra), obj[end:]...)...)
	shift := func(r *format.Range) {
		if r.Offset >= end && r != sec {
			r.Offset += n
			r.RawOffset += n
		}
	}
	shift(&m.Header)
	shift(&m.Footer)
	if m.Accounts != nil {
		shift(&m.Accounts.Range)
	}
	for i := range m.Databases {
		d := &m.Databases[i]
		shift(&d.Create)
		shift(&d.Post)
		for j := range d.Tables {
			tb := &d.Tables[j]
			shift(&tb.Schema)
			shift(&tb.Data)
			for k := range tb.Chunks {
				shift(&tb.Chunks[k])
			}
		}
	}
	sec.Length += n
	sec.RawLength += n
	if tbl != nil {
		if k := len(tbl.Chunks); k > 0 {
			tbl.Chunks[k-1].Length += n
			tbl.Chunks[k-1].RawLength += n
		}
		sum := sha256.Sum256(obj[tbl.Data.Offset : tbl.Data.Offset+tbl.Data.Length])
		tbl.DataSHA256 = hex.EncodeToString(sum[:])
	}
	whole := sha256.Sum256(obj)
	m.Object.SHA256 = hex.EncodeToString(whole[:])
	m.Object.Size += n
	m.Object.RawSize += n
	enc, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(objPath, obj, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(manPath, enc, 0o600); err != nil {
		t.Fatal(err)
	}
}
