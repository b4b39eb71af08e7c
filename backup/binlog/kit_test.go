package binlog_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/backup/binlog"
	"github.com/backupctl/backupctl/internal/cli"
	"github.com/backupctl/backupctl/internal/testenv"
	"github.com/backupctl/backupctl/storage"
)

// server is a MariaDB server a test reaches, with the flags the CLI would take.
type server struct {
	name string
	dbf  cli.DBFlags
	db   *sql.DB
}

func (s server) config(t testing.TB) backup.DBConfig {
	t.Helper()
	c, err := s.dbf.Config()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func openServer(t testing.TB, name, host string, port int, user, password string) server {
	t.Helper()
	pwFile := t.TempDir() + "/password"
	if err := os.WriteFile(pwFile, []byte(password), 0o600); err != nil {
		t.Fatal(err)
	}
	s := server{name: name, dbf: cli.DBFlags{DBHost: host, DBPort: port, DBUser: user, DBPasswordFile: pwFile, DBTLS: "off", DBTimeout: 30 * time.Second, DBIOTimeout: 10 * time.Minute}}
	mc, err := s.config(t).MySQLConfig()
	if err != nil {
		t.Fatal(err)
	}
	c, err := mysql.NewConnector(mc)
	if err != nil {
		t.Fatal(err)
	}
	s.db = sql.OpenDB(c)
	t.Cleanup(func() { s.db.Close() })
	return s
}

// sharedSource is the shared source server of .stack/env (log-bin, ROW, server-id 1).
func sharedSource(t testing.TB) server {
	t.Helper()
	m := testenv.Source(t)
	return openServer(t, "source", m.Host, m.Port, m.User, m.Password)
}

// private is a MariaDB server of the test's own: restarted, purged, set read-only at will.
type private struct {
	server
	srv testenv.MariaDBServer
	p   *testenv.Process
}

var (
	templateOnce sync.Once
	templateDir  string
	templateErr  error
)

// startPrivate starts a private server (log-bin, ROW unless extra says otherwise) with a
// password user.
func startPrivate(t testing.TB, name string, extra ...string) *private {
	t.Helper()
	templateOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pitr-tmpl-")
		if err == nil {
			err = testenv.InitDatadir(dir+"/data", "")
		}
		templateDir, templateErr = dir+"/data", err
	})
	if templateErr != nil {
		t.Fatalf("%v (is mariadb-server installed?)", templateErr)
	}
	dir, err := os.MkdirTemp("", "pitr-"+name+"-")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", templateDir, dir+"/data").CombinedOutput(); err != nil {
		t.Fatalf("copy datadir: %v %s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	p := &private{srv: testenv.MariaDBServer{Dir: dir, Port: port, Extra: extra}}
	t.Cleanup(func() { p.stop(); _ = os.RemoveAll(dir) })
	p.start(t)
	if err := p.srv.CreateUser("pitr", "pitr-pw"); err != nil {
		t.Fatal(err)
	}
	p.server = openServer(t, name, "127.0.0.1", port, "pitr", "pitr-pw")
	return p
}

func (p *private) start(t testing.TB) {
	t.Helper()
	cmd := p.srv.Command()
	logf, err := os.OpenFile(p.srv.Dir+"/stdout.log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if p.p, err = testenv.Start(cmd); err != nil {
		t.Fatal(err)
	}
	if err := p.srv.WaitReady(60*time.Second, p.p.Alive); err != nil {
		t.Fatal(err)
	}
}

// stop shuts the server down cleanly.
func (p *private) stop() {
	if p.p == nil || !p.p.Alive() {
		return
	}
	_ = p.p.Signal(syscall.SIGTERM)
	select {
	case <-p.p.Done():
	case <-time.After(30 * time.Second):
		p.p.Kill()
	}
}

func (p *private) root(t testing.TB, q string) string {
	t.Helper()
	out, err := p.srv.Root(q)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// bucket is a random prefix of the shared MinIO bucket, emptied at the end.
func bucket(t testing.TB) (cli.StorageFlags, storage.Bucket) {
	t.Helper()
	s3 := testenv.MinIO(t)
	st := cli.StorageFlags{S3Endpoint: s3.Endpoint, Bucket: s3.Bucket, Prefix: testenv.UniqueName("pitr"), S3Region: "us-east-1", S3PartSize: "5MiB"}
	b, err := st.Open(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if testenv.Keep() {
			return
		}
		ctx := context.Background()
		objs, _ := b.List(ctx, "")
		for _, o := range objs {
			_ = b.Delete(ctx, o.Key)
		}
	})
	return st, b
}

// globals send the CLI's log lines to the test log.
func globals(t testing.TB) *cli.Globals {
	return &cli.Globals{Output: "json", LogFormat: "json", Quiet: true, Stdout: io.Discard, Stderr: testWriter{t}}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// archiver runs binlog.Archive until stop is called, which returns its error.
type archiver struct {
	cancel context.CancelFunc
	done   chan error
}

func startArchiver(t testing.TB, src server, b storage.Bucket, o binlog.ArchiveOptions) *archiver {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a := &archiver{cancel: cancel, done: make(chan error, 1)}
	if o.Log == nil {
		o.Log = globals(t).Logger()
	}
	if o.StartGTID == "" {
		// A new archive starts here, not wherever the server is when the goroutine gets to it:
		// the test's next write must be in the archive.
		o.StartGTID = gtidPos(t, src)
	}
	cfg := src.config(t)
	go func() { a.done <- binlog.Archive(ctx, cfg, b, o) }()
	t.Cleanup(func() { a.stop() })
	return a
}

func (a *archiver) stop() error {
	if a.cancel == nil {
		return nil
	}
	a.cancel()
	a.cancel = nil
	select {
	case err := <-a.done:
		return err
	case <-time.After(90 * time.Second):
		return fmt.Errorf("the archiver did not stop")
	}
}

// waitArchived waits until the archive of src holds transaction gtid.
func waitArchived(t testing.TB, b storage.Bucket, archive, gtid string, d time.Duration) []*binlog.Entry {
	t.Helper()
	g, err := binlog.ParseGTID(gtid)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(d)
	for {
		es, err := binlog.LoadIndex(t.Context(), b, archive)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(es); n > 0 {
			st, _ := binlog.ParseState(es[n-1].EndState)
			if st.Contains(g) {
				return es
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("transaction %s not archived within %s", gtid, d)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func archiveName(t testing.TB, s server) string {
	t.Helper()
	info, err := binlog.CheckServer(t.Context(), s.config(t))
	if err != nil {
		t.Fatal(err)
	}
	return info.Archive
}

func gtidPos(t testing.TB, s server) string {
	t.Helper()
	var pos string
	if err := s.db.QueryRowContext(t.Context(), "SELECT @@gtid_binlog_pos").Scan(&pos); err != nil {
		t.Fatal(err)
	}
	return pos
}

var autoIncrement = regexp.MustCompile(` AUTO_INCREMENT=\d+`)

// fingerprint is a database's tables, their definitions and a hash of their rows in key order.
func fingerprint(t testing.TB, s server, db string) string {
	t.Helper()
	ctx := t.Context()
	rows, err := s.db.QueryContext(ctx, "SELECT table_name FROM information_schema.tables WHERE table_schema=? ORDER BY 1", db)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		_ = rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	var out strings.Builder
	for _, tb := range tables {
		q := "`" + db + "`.`" + tb + "`"
		var name, create string
		if err := s.db.QueryRowContext(ctx, "SHOW CREATE TABLE "+q).Scan(&name, &create); err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		n := 0
		rs, err := s.db.QueryContext(ctx, "SELECT * FROM "+q+" ORDER BY 1")
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rs.Columns()
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rs.Next() {
			if err := rs.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				if v == nil {
					h.Write([]byte{0xff})
				} else {
					h.Write([]byte(strconv.Itoa(len(v)) + ":"))
					h.Write(v)
				}
			}
			n++
		}
		rs.Close()
		fmt.Fprintf(&out, "%s rows=%d sha=%s\n%s\n", tb, n, hex.EncodeToString(h.Sum(nil))[:16], autoIncrement.ReplaceAllString(create, ""))
	}
	return out.String()
}

func exec1(t testing.TB, s server, q string, args ...any) {
	t.Helper()
	if _, err := s.db.ExecContext(t.Context(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}
