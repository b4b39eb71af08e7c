package faults

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/internal/dbtest"
	"github.com/backupctl/backupctl/internal/testenv"
)

// freePort returns a TCP port on 127.0.0.1 that nothing listens on right now.
func freePort(t testing.TB) int {
	t.Helper()
	_, port, err := net.SplitHostPort(testenv.FreeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// proc is a server process started by a test, stopped by its pid.
type proc struct{ *testenv.Process }

func startProc(t testing.TB, logPath string, env []string, name string, args ...string) *proc {
	t.Helper()
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p, err := testenv.Start(cmd)
	if err != nil {
		logf.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { <-p.Done(); logf.Close() }()
	return &proc{p}
}

// stop sends sig and waits up to d for the process to end, then kills it.
func (p *proc) stop(sig syscall.Signal, d time.Duration) {
	if p == nil || !p.Alive() {
		return
	}
	_ = p.Signal(syscall.SIGCONT) // a stalled server cannot handle SIGTERM
	_ = p.Signal(sig)
	select {
	case <-p.Done():
	case <-time.After(d):
		p.Kill()
	}
}

// ---- MariaDB ----

var (
	templateOnce sync.Once
	templateDir  string
	templateErr  error
)

// mariadbTemplate initialises one datadir that every private server copies: mariadb-install-db
// runs once per test binary.
func mariadbTemplate(t testing.TB) string {
	t.Helper()
	templateOnce.Do(func() {
		dir, err := os.MkdirTemp(workDir, "template-")
		if err != nil {
			templateErr = err
			return
		}
		if err := testenv.InitDatadir(dir+"/data", ""); err != nil {
			templateErr = err
			return
		}
		templateDir = dir + "/data"
	})
	if templateErr != nil {
		t.Fatalf("%v (is mariadb-server installed? run `make up`)", templateErr)
	}
	return templateDir
}

// mariaDB is a private MariaDB server of one test: its own datadir, socket and port.
type mariaDB struct {
	testenv.MariaDBServer
	name string
	dir  string
	sock string
	port int
	user string
	pass string
	p    *proc
}

// startMariaDB starts a private server with a password user "faults" (and root on the socket).
func startMariaDB(t testing.TB, name, password string, extra ...string) *mariaDB {
	t.Helper()
	tmpl := mariadbTemplate(t)
	dir, err := os.MkdirTemp(workDir, name+"-")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", tmpl, dir+"/data").CombinedOutput(); err != nil {
		t.Fatalf("copy datadir: %v %s", err, out)
	}
	srv := testenv.MariaDBServer{Dir: dir, Port: freePort(t), Extra: extra}
	m := &mariaDB{MariaDBServer: srv, name: name, dir: dir, sock: srv.Socket(), port: srv.Port, user: "faults", pass: password}
	t.Cleanup(func() { m.stopWait(); _ = os.RemoveAll(dir) })
	m.start(t)
	if err := m.CreateUser(m.user, password); err != nil {
		t.Fatalf("%s: %v", m.name, err)
	}
	return m
}

// start (re)starts the server on its datadir and waits until it answers.
func (m *mariaDB) start(t testing.TB) {
	t.Helper()
	if err := os.MkdirAll(m.Tmpdir(), 0o700); err != nil {
		t.Fatal(err)
	}
	m.p = startProc(t, m.dir+"/stdout.log", os.Environ(), "mariadbd", m.Args()...)
	if err := m.WaitReady(60*time.Second, m.p.Alive); err != nil {
		t.Fatalf("private MariaDB %s: %v", m.name, err)
	}
}

// kill sends sig to the server (SIGKILL: a crash; SIGSTOP: a stall).
func (m *mariaDB) kill(sig syscall.Signal) { _ = m.p.Signal(sig) }

// stopWait stops the server cleanly (or kills it after 30s).
func (m *mariaDB) stopWait() { m.p.stop(syscall.SIGTERM, 30*time.Second) }

// waitDead waits until the server process has ended.
func (m *mariaDB) waitDead(t testing.TB) {
	t.Helper()
	select {
	case <-m.p.Done():
	case <-time.After(30 * time.Second):
		t.Fatalf("private MariaDB %s did not end", m.name)
	}
}

// root runs SQL as root through the stock client on the socket.
func (m *mariaDB) root(t testing.TB, sql string) string {
	t.Helper()
	out, err := m.Root(sql)
	if err != nil {
		t.Fatalf("%s: %v", m.name, err)
	}
	return out
}

// server describes it for dbtest (TCP, password user).
func (m *mariaDB) server() *dbtest.Server {
	return &dbtest.Server{Name: m.name, Host: "127.0.0.1", Port: m.port, User: m.user, Password: backup.Secret(m.pass)}
}

// env is what backupctl needs to reach it.
func (m *mariaDB) env() []string {
	return []string{"BACKUP_DB_HOST=127.0.0.1", "BACKUP_DB_PORT=" + strconv.Itoa(m.port),
		"BACKUP_DB_USER=" + m.user, "BACKUP_DB_PASSWORD=" + m.pass}
}

// databases lists the databases but the system schemas.
func (m *mariaDB) databases(t testing.TB) []string {
	t.Helper()
	out := m.root(t, "SELECT schema_name FROM information_schema.schemata WHERE schema_name NOT IN ('mysql','sys','performance_schema','information_schema') ORDER BY 1")
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}

// ---- MinIO ----

// minIO is a private MinIO server of one test, restartable on the same data directory.
type minIO struct {
	dir, certs  string
	port        int
	user, pass  string
	bucket      string
	p           *proc
	caFile      string // set when certs is: the CA that signed public.crt
	httpsClient *http.Client
}

func minioBinary(t testing.TB) string {
	t.Helper()
	bin, err := testenv.MinIOBinary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// startMinIO starts a private MinIO with a bucket; certs, when set, holds a CA, and the server
// serves https with a certificate it signed.
func startMinIO(t testing.TB, secret string, tlsCerts *certSet) *minIO {
	t.Helper()
	dir, err := os.MkdirTemp(workDir, "minio-")
	if err != nil {
		t.Fatal(err)
	}
	s := &minIO{dir: dir, port: freePort(t), user: "faults-minio", pass: secret, bucket: "faults"}
	if tlsCerts != nil {
		s.certs = dir + "/certs"
		if err := os.MkdirAll(s.certs, 0o700); err != nil {
			t.Fatal(err)
		}
		writeFile(t, s.certs+"/public.crt", tlsCerts.serverCert)
		writeFile(t, s.certs+"/private.key", tlsCerts.serverKey)
		s.caFile = tlsCerts.caFile
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(tlsCerts.caPEM)
		s.httpsClient = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	}
	t.Cleanup(func() { s.p.stop(syscall.SIGTERM, 10*time.Second); _ = os.RemoveAll(dir) })
	s.start(t)
	if err := s.client(t).MakeBucket(t.Context(), s.bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	return s
}

func (s *minIO) endpoint() string { return s.server().Endpoint() }

// start (re)starts MinIO on its data directory and waits until it is ready.
func (s *minIO) start(t testing.TB) {
	t.Helper()
	srv := s.server()
	s.p = startProc(t, srv.Log(), append(os.Environ(), srv.Env()...), minioBinary(t), srv.Args()...)
	if err := srv.WaitReady(60*time.Second, s.p.Alive, s.httpsClient); err != nil {
		t.Fatalf("private MinIO: %v", err)
	}
}

// server describes it for testenv.
func (s *minIO) server() testenv.MinIOServer {
	return testenv.MinIOServer{Dir: s.dir, Port: s.port, User: s.user, Password: s.pass, CertsDir: s.certs}
}

// kill ends MinIO with SIGKILL and waits for it.
func (s *minIO) kill() {
	s.p.Kill()
}

func (s *minIO) client(t testing.TB) *minio.Client {
	t.Helper()
	return newS3Client(t, fmt.Sprintf("127.0.0.1:%d", s.port), s.user, s.pass, s.certs != "", s.httpsClient)
}

// env is what backupctl needs to reach it (no CA file: tests add --s3-ca-file themselves).
func (s *minIO) env() []string {
	return []string{"BACKUP_S3_ENDPOINT=" + s.endpoint(), "BACKUP_S3_BUCKET=" + s.bucket,
		"AWS_ACCESS_KEY_ID=" + s.user, "AWS_SECRET_ACCESS_KEY=" + s.pass, "BACKUP_S3_REGION=us-east-1"}
}

func (s *minIO) store(t testing.TB) *s3Store {
	return &s3Store{c: s.client(t), bucket: s.bucket}
}

func newS3Client(t testing.TB, host, user, pass string, secure bool, hc *http.Client) *minio.Client {
	t.Helper()
	opts := &minio.Options{Creds: credentials.NewStaticV4(user, pass, ""), Secure: secure, Region: "us-east-1"}
	if hc != nil {
		opts.Transport = hc.Transport
	}
	c, err := minio.New(host, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// s3Store is a bucket as the tests look at it: keys and incomplete uploads under a prefix.
type s3Store struct {
	c      *minio.Client
	bucket string
}

// keys lists the objects under prefix ("p/" form), sorted.
func (s *s3Store) keys(t testing.TB, prefix string) []string {
	t.Helper()
	return listing(t, "list "+prefix, func(ctx context.Context) <-chan minio.ObjectInfo {
		return s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true})
	}, func(o minio.ObjectInfo) (string, error) { return o.Key, o.Err })
}

// incomplete lists the multipart uploads of key (MinIO matches the exact object name) that were
// neither completed nor aborted.
func (s *s3Store) incomplete(t testing.TB, prefix string) []string {
	t.Helper()
	return listing(t, "list incomplete uploads "+prefix, func(ctx context.Context) <-chan minio.ObjectMultipartInfo {
		return s.c.ListIncompleteUploads(ctx, s.bucket, prefix, true)
	}, func(u minio.ObjectMultipartInfo) (string, error) { return u.Key + " (" + u.UploadID + ")", u.Err })
}

// listing is every entry of a MinIO listing as name gives it; an error in it fails the test.
func listing[T any](t testing.TB, what string, list func(context.Context) <-chan T, name func(T) (string, error)) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var out []string
	for x := range list(ctx) {
		n, err := name(x)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		out = append(out, n)
	}
	return out
}

// removeIncomplete aborts what a fault left behind, so the next case starts clean.
func (s *s3Store) removeIncomplete(t testing.TB, prefix string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for u := range s.c.ListIncompleteUploads(ctx, s.bucket, prefix, true) {
		if u.Err == nil {
			_ = s.c.RemoveIncompleteUpload(ctx, s.bucket, u.Key)
		}
	}
}

// manifests returns the keys under prefix that are manifests.
func (s *s3Store) manifests(t testing.TB, prefix string) []string {
	t.Helper()
	var out []string
	for _, k := range s.keys(t, prefix) {
		if strings.HasSuffix(k, "/"+backup.ManifestName) {
			out = append(out, k)
		}
	}
	return out
}

func (s *s3Store) get(t testing.TB, key string) []byte {
	t.Helper()
	o, err := s.c.GetObject(t.Context(), s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	b, err := readAllLimit(o)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	return b
}

func (s *s3Store) put(t testing.TB, key string, b []byte) {
	t.Helper()
	if _, err := s.c.PutObject(t.Context(), s.bucket, key, strings.NewReader(string(b)), int64(len(b)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
}

func (s *s3Store) remove(t testing.TB, key string) {
	t.Helper()
	if err := s.c.RemoveObject(t.Context(), s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
}

// removePrefix deletes every object under prefix (the test's own).
func (s *s3Store) removePrefix(t testing.TB, prefix string) {
	if testenv.Keep() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for o := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err == nil {
			_ = s.c.RemoveObject(ctx, s.bucket, o.Key, minio.RemoveObjectOptions{})
		}
	}
}
