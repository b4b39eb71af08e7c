// Package e2e proves backupctl end to end: the real backupctl binary, run as a user runs it,
// against the local Kubernetes cluster (whose kubelet and containerd run the dumper image in real
// containers), MariaDB and MinIO from `make up`. Every test has its own namespace, S3 prefix and
// source database, so the tests run in parallel and see only their own Jobs and backups.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/internal/dbtest"
	"github.com/backupctl/backupctl/internal/testenv"
	"github.com/backupctl/backupctl/storage"
	"github.com/backupctl/backupctl/storage/storagetest"
)

// backupctlBin is the backupctl binary under test, built from this checkout by TestMain.
var backupctlBin string

// TestMain builds backupctl from the current code into a temp dir, so the tests prove what this
// checkout does. BACKUP_E2E_BIN_DIR names a directory with a prebuilt backupctl instead. The
// Jobs run the image BACKUP_K8S_DUMPER_IMAGE, which `make test-integration` rebuilds from the
// checkout's bin/dumper and imports into the node (scripts/k8s.sh images).
func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	dir := os.Getenv("BACKUP_E2E_BIN_DIR")
	var tmp string
	if dir == "" {
		var err error
		if tmp, err = os.MkdirTemp("", "backupctl-e2e-"); err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			os.Exit(1)
		}
		dir = tmp
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "backupctl"), "./cmd/backupctl")
		cmd.Dir = ".."
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: build backupctl:", err)
			_ = os.RemoveAll(tmp)
			os.Exit(1)
		}
	}
	backupctlBin = filepath.Join(dir, "backupctl")
	code := m.Run()
	if tmp != "" {
		_ = os.RemoveAll(tmp)
	}
	os.Exit(code)
}

// stack is what `make up` started, read from .stack/env.
type stack struct {
	kubeconfig, kubectl, image string
	// podDBHost is where pods reach the MariaDB servers (on the ports the host uses); the S3
	// endpoint is the one pods reach MinIO at, which the host reaches too.
	podDBHost string
	// podPushgateway and podS3TLSEndpoint: where pods reach the Pushgateway and the TLS MinIO.
	podPushgateway, podS3TLSEndpoint string
	nodeLogs, nodeCgroup             string // the local node's logs and cgroup root (empty elsewhere)
	s3Endpoint, bucket, region       string
	accessKey, secretKey             string
	dbUser, dbPassword               string
}

// needStack fails the test when a server is missing (CI must not pass by skipping); only -short
// runs skip.
func needStack(t *testing.T) *stack {
	t.Helper()
	testenv.SkipShort(t, "the local control plane, MariaDB and MinIO")
	get := func(k string) string { t.Helper(); return testenv.Get(t, k) }
	s := &stack{
		kubeconfig: get("KUBECONFIG"), kubectl: get("BACKUP_K8S_KUBECTL"), image: get("BACKUP_K8S_DUMPER_IMAGE"),
		podDBHost: get("BACKUP_K8S_POD_DB_HOST"), podPushgateway: get("BACKUP_K8S_POD_PUSHGATEWAY"),
		podS3TLSEndpoint: get("BACKUP_K8S_POD_S3_TLS_ENDPOINT"),
		nodeLogs:         os.Getenv("BACKUP_K8S_NODE_LOGS"), nodeCgroup: os.Getenv("BACKUP_K8S_NODE_CGROUP"),
		dbUser: get("BACKUP_DB_USER"), dbPassword: get("BACKUP_DB_PASSWORD"),
	}
	s3 := testenv.MinIO(t)
	s.bucket, s.region, s.accessKey, s.secretKey = s3.Bucket, s3.Region, s3.AccessKey, s3.SecretKey
	s.s3Endpoint = get("BACKUP_K8S_POD_S3_ENDPOINT")
	if s.region == "" {
		s.region = "us-east-1"
	}
	return s
}

// env is one test's world: a namespace made from deploy/, a Secret, an S3 prefix, a source and a
// target server. Everything the test shows a user is recorded for the secrets scan.
type env struct {
	t      *testing.T
	st     *stack
	kube   kubernetes.Interface // admin
	src    *dbtest.Server
	dst    *dbtest.Server
	ns     string
	prefix string
	home   string

	mu       sync.Mutex
	seen     []artifact // CLI output and everything else a secret must not appear in
	secrets  []string   // values that must never appear
	noScan   bool
	scanned  bool
	extraEnv []string // added to every backupctl run (e.g. a kubeconfig of another user)
}

// artifact is one piece of text the secrets scan reads, and where it came from.
type artifact struct{ what, text string }

// newParallelEnv runs the test in parallel with the others and gives it an env.
func newParallelEnv(t *testing.T) *env {
	t.Parallel()
	return newEnv(t)
}

// newEnv creates the test's namespace from deploy/00-namespace.yaml and the dumper's
// ServiceAccount from deploy/10-serviceaccount.yaml (both with kubectl apply), and the Secret
// with the stack's credentials. At the end it scans for secrets, then deletes the namespace and
// the prefix's objects.
func newEnv(t *testing.T) *env {
	t.Helper()
	st := needStack(t)
	e := &env{
		t: t, st: st,
		src: dbtest.Source(t), dst: dbtest.Target(t),
		ns:   strings.ReplaceAll(dbtest.UniqueName("e2e"), "_", "-"),
		home: t.TempDir(),
	}
	e.prefix = "e2e/" + e.ns
	e.secrets = []string{st.dbPassword, st.secretKey}
	e.kube = adminClient(t, st)
	e.apply(deployDocs(t, e.ns, "00-namespace.yaml", "10-serviceaccount.yaml"))
	t.Cleanup(e.cleanup)
	e.createSecret("backupctl", map[string]string{
		"BACKUP_DB_PASSWORD": st.dbPassword, "AWS_ACCESS_KEY_ID": st.accessKey, "AWS_SECRET_ACCESS_KEY": st.secretKey,
	})
	return e
}

func adminClient(t *testing.T, st *stack) kubernetes.Interface {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", st.kubeconfig)
	if err != nil {
		t.Fatalf("load %s: %v", st.kubeconfig, err)
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := c.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{}); err != nil {
		t.Fatalf("the API server does not answer (%v): run `make up`", err)
	}
	return c
}

func (e *env) cleanup() {
	if !e.noScan {
		e.scanSecrets()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if testenv.Keep() {
		e.t.Logf("keeping namespace %s and prefix %s (BACKUP_TEST_KEEP)", e.ns, e.prefix)
		return
	}
	_ = e.kube.CoreV1().Namespaces().Delete(ctx, e.ns, metav1.DeleteOptions{})
	if b, err := e.openBucket(ctx); err == nil {
		storagetest.Empty(ctx, b)
	}
}

// createSecret creates a Secret in the test's namespace; its values join the scanned secrets.
func (e *env) createSecret(name string, data map[string]string) {
	e.t.Helper()
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns}, StringData: data}
	if _, err := e.kube.CoreV1().Secrets(e.ns).Create(e.t.Context(), sec, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("create secret %s/%s: %v", e.ns, name, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, v := range data {
		if k != "AWS_ACCESS_KEY_ID" && len(v) >= 6 && !slices.Contains(e.secrets, v) {
			e.secrets = append(e.secrets, v)
		}
	}
}

// deployDocs reads manifests from deploy/ and moves them into namespace ns (the Namespace itself
// is renamed), keeping everything else as shipped.
func deployDocs(t *testing.T, ns string, files ...string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join("..", "deploy", f))
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1) {
			var obj map[string]any
			if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
				t.Fatalf("deploy/%s: %v", f, err)
			}
			if len(obj) == 0 {
				continue
			}
			md := obj["metadata"].(map[string]any)
			if obj["kind"] == "Namespace" {
				md["name"] = ns
			} else {
				md["namespace"] = ns
			}
			out = append(out, obj)
		}
	}
	return out
}

// apply pipes objects to `kubectl apply -f -` as the admin.
func (e *env) apply(objs []map[string]any) {
	e.t.Helper()
	var buf bytes.Buffer
	for _, o := range objs {
		b, err := yaml.Marshal(o)
		if err != nil {
			e.t.Fatal(err)
		}
		buf.WriteString("---\n")
		buf.Write(b)
	}
	out, err := e.kubectl(&buf, "apply", "-f", "-")
	if err != nil {
		e.t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
	e.t.Logf("kubectl apply:\n%s", strings.TrimSpace(out))
}

// kubectl runs the stack's kubectl as the admin.
func (e *env) kubectl(stdin *bytes.Buffer, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.st.kubectl, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + e.home, "KUBECONFIG=" + e.st.kubeconfig}
	if stdin != nil {
		cmd.Stdin = stdin
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// res is how a backupctl run ended.
type res = testenv.Result

// baseEnv is the environment of every backupctl run: where things are, never a secret.
func (e *env) baseEnv() []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + e.home,
		"KUBECONFIG=" + e.st.kubeconfig,
		"BACKUP_NAMESPACE=" + e.ns,
		"BACKUP_IMAGE=" + e.st.image,
		"BACKUP_DB_HOST=" + e.st.podDBHost,
		fmt.Sprintf("BACKUP_DB_PORT=%d", e.src.Port),
		"BACKUP_DB_USER=" + e.st.dbUser,
		"BACKUP_S3_ENDPOINT=" + e.st.s3Endpoint,
		"BACKUP_S3_BUCKET=" + e.st.bucket,
		"BACKUP_S3_REGION=" + e.st.region,
		"BACKUP_S3_PREFIX=" + e.prefix,
		"BACKUP_LOG_FORMAT=json",
		// The pods reach MariaDB and MinIO over the node's own bridge, without TLS: known, so quiet.
		"BACKUP_INSECURE_TRANSPORT=true",
		// A run without S3 keys ends its credential chain at this closed loopback port, never
		// at the link-local metadata address.
		"BACKUP_S3_METADATA_ENDPOINT=http://127.0.0.1:1",
	}
	return append(env, e.extraEnv...)
}

// s3Keys is the environment a command that reads the bucket itself needs.
func (e *env) s3Keys() []string {
	return []string{"AWS_ACCESS_KEY_ID=" + e.st.accessKey, "AWS_SECRET_ACCESS_KEY=" + e.st.secretKey}
}

// allSecrets is the environment of a --local backup or restore.
func (e *env) allSecrets() []string {
	return append(e.s3Keys(), "BACKUP_DB_PASSWORD="+e.st.dbPassword)
}

// job runs backupctl for a command that goes through a Job: the CLI gets no secret at all, so
// whatever reaches the dumper came from the Secret.
func (e *env) job(args ...string) res { return e.runEnv(nil, args...) }

// withKeys runs backupctl with the S3 keys (list, verify, prune).
func (e *env) withKeys(args ...string) res { return e.runEnv(e.s3Keys(), args...) }

// local runs backupctl with every secret (backup now --local).
func (e *env) local(args ...string) res { return e.runEnv(e.allSecrets(), args...) }

// runEnv runs backupctl with baseEnv plus extra (later entries win), records its output for the
// secrets scan, and returns how it ended.
func (e *env) runEnv(extra []string, args ...string) res {
	e.t.Helper()
	return e.runRaw(append(e.baseEnv(), extra...), args...)
}

// start runs a Job command in the background; the channel yields how it ended.
func (e *env) start(args ...string) <-chan res {
	ch := make(chan res, 1)
	env := e.baseEnv()
	go func() { ch <- e.runRaw(env, args...) }()
	return ch
}

// await waits for a background run.
func await(t *testing.T, ch <-chan res, timeout time.Duration) res {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(timeout):
		t.Fatalf("backupctl did not finish within %v", timeout)
		return res{}
	}
}

func (e *env) runRaw(environ []string, args ...string) res {
	e.t.Helper()
	cmd := exec.CommandContext(e.t.Context(), backupctlBin, args...)
	cmd.Env = environ
	cmd.Dir = e.home
	// Not Fatalf on a timeout: runRaw also runs in goroutines; the exit code fails every check.
	r, _ := testenv.Run(cmd, 3*time.Minute)
	e.record("backupctl "+strings.Join(args, " ")+" stdout", r.Stdout)
	e.record("backupctl "+strings.Join(args, " ")+" stderr", r.Stderr)
	return r
}

func (e *env) record(what, text string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.seen = append(e.seen, artifact{what, text})
}

// must fails the test unless r exited 0.
func must(t *testing.T, r res) res {
	t.Helper()
	if r.Code != 0 {
		t.Fatalf("want exit 0:\n%s", r)
	}
	return r
}

// fails checks that r exited with code and that its last stderr line (the error) matches re.
func fails(t *testing.T, r res, code int, re string) {
	t.Helper()
	if r.Code != code {
		t.Errorf("exit %d, want %d:\n%s", r.Code, code, r)
		return
	}
	msg := lastLine(r.Stderr)
	if !strings.HasPrefix(msg, "backupctl: ") || !regexp.MustCompile(re).MatchString(msg) {
		t.Errorf("error line %q does not match %q:\n%s", msg, re, r)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// backupResult is what `backup now -o json` prints.
type backupResult struct {
	ID        string   `json:"id"`
	Key       string   `json:"key"`
	Manifest  string   `json:"manifest"`
	Size      int64    `json:"size"`
	SHA256    string   `json:"sha256"`
	Verified  bool     `json:"verified"`
	BytesRead int64    `json:"bytes_read"`
	Databases []string `json:"databases"`
	Tables    int      `json:"tables"`
	Rows      int64    `json:"rows"`
	Job       string   `json:"job"`
}

// listEntry is one line of `list -o json`.
type listEntry struct {
	ID     string `json:"id"`
	Key    string `json:"key"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// Authenticated: signed by the --verify-key given (false without one).
	Authenticated bool `json:"authenticated"`
}

func decode[T any](t *testing.T, r res) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.Stdout), &v); err != nil {
		t.Fatalf("stdout is not the JSON expected (%v):\n%s", err, r)
	}
	return v
}

// checkVerified checks a backup result: verified, every byte read back, the manifest named.
func checkVerified(t *testing.T, b backupResult) {
	t.Helper()
	if !b.Verified || b.ID == "" || b.Size <= 0 || b.BytesRead != b.Size || len(b.SHA256) != 64 || b.Manifest != b.ID+"/manifest.json" {
		t.Errorf("backup result is not a verified backup: %+v", b)
	}
}

// list returns the backups `backupctl list -o json` shows in the test's prefix.
func (e *env) list() []listEntry {
	e.t.Helper()
	return decode[[]listEntry](e.t, must(e.t, e.withKeys("list", "-o", "json")))
}

func ids(l []listEntry) []string {
	var out []string
	for _, x := range l {
		out = append(out, x.ID)
	}
	return out
}

// openBucket opens the test's prefix directly, to see what lies there besides what list shows.
func (e *env) openBucket(ctx context.Context) (storage.Bucket, error) {
	return storage.Open(ctx, storage.Config{
		URL: e.st.s3Endpoint, Bucket: e.st.bucket, Prefix: e.prefix, Region: e.st.region,
		AccessKey: e.st.accessKey, SecretKey: e.st.secretKey,
	})
}

// readBackup opens the test's prefix and reads backup id's manifest and object.
func (e *env) readBackup(ctx context.Context, id string) (storage.Bucket, *backup.Manifest, []byte) {
	e.t.Helper()
	b, err := e.openBucket(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	m, err := backup.LoadManifest(ctx, b, id)
	if err != nil {
		e.t.Fatal(err)
	}
	rc, err := b.Get(ctx, m.Object.Key)
	if err != nil {
		e.t.Fatal(err)
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		e.t.Fatal(err)
	}
	return b, m, data
}

// objects lists every key under the test's prefix.
func (e *env) objects() []string {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := e.openBucket(ctx)
	if err != nil {
		e.t.Fatalf("open bucket: %v", err)
	}
	objs, err := b.List(ctx, "")
	if err != nil {
		e.t.Fatalf("list bucket: %v", err)
	}
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	return keys
}

// manifests lists the manifest keys under the test's prefix.
func (e *env) manifests() []string {
	var out []string
	for _, k := range e.objects() {
		if strings.HasSuffix(k, "/"+backup.ManifestName) {
			out = append(out, k)
		}
	}
	return out
}

// noManifest checks that nothing under the prefix is a backup.
func (e *env) noManifest() {
	e.t.Helper()
	if m := e.manifests(); len(m) != 0 {
		e.t.Errorf("a failed run left manifests: %v (objects: %v)", m, e.objects())
	}
	if l := e.list(); len(l) != 0 {
		e.t.Errorf("list shows backups after a failed run: %v", ids(l))
	}
}

// jobsIn lists the Jobs in the test's namespace.
func (e *env) jobsIn() []batchv1.Job {
	e.t.Helper()
	return listIn(e, e.kube.BatchV1().Jobs(e.ns).List, metav1.ListOptions{}).Items
}

// podsOf lists the pods of a Job.
func (e *env) podsOf(job string) []corev1.Pod {
	e.t.Helper()
	return listIn(e, e.kube.CoreV1().Pods(e.ns).List, metav1.ListOptions{LabelSelector: "batch.kubernetes.io/job-name=" + job}).Items
}

// listIn is what list returns with opts; an error fails the test.
func listIn[L any](e *env, list func(context.Context, metav1.ListOptions) (L, error), opts metav1.ListOptions) L {
	e.t.Helper()
	l, err := list(context.Background(), opts)
	if err != nil {
		e.t.Fatal(err)
	}
	return l
}

// smallDB creates a source database with one InnoDB table of a few rows, dropped at the end.
func (e *env) smallDB() string {
	e.t.Helper()
	name := e.src.CreateDatabase(e.t, "e2e")
	q := dbtest.QuoteIdent(name)
	e.src.Exec(e.t,
		"CREATE TABLE "+q+".t (id INT PRIMARY KEY, v VARCHAR(40)) ENGINE=InnoDB",
		"INSERT INTO "+q+".t VALUES (1,'one'),(2,'two'),(3,'three')")
	return name
}

// lockTable holds LOCK TABLES db.t WRITE on its own session, so the dumper waits (at BACKUP
// STAGE START, which waits for write-locked tables, or at the read of that table). The returned
// func releases it; it also runs at the end of the test.
func (e *env) lockTable(db string) (release func()) {
	e.t.Helper()
	pool := e.src.DB(e.t, db)
	conn, err := pool.Conn(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "LOCK TABLES t WRITE"); err != nil {
		e.t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			_, _ = conn.ExecContext(context.Background(), "UNLOCK TABLES")
			_ = conn.Close()
		})
	}
	e.t.Cleanup(release)
	return release
}

// waitBlocked waits until a session reads db's locked table and waits for the lock: then the
// dumper is mid-dump, its snapshot taken.
func (e *env) waitBlocked(db string, timeout time.Duration) {
	e.t.Helper()
	pool := e.src.DB(e.t, "")
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		var n int
		// LOCK TABLES ... WRITE holds BACKUP STAGE START back as well as the read of the table.
		err := pool.QueryRow(`SELECT COUNT(*) FROM information_schema.PROCESSLIST
			WHERE (STATE = 'Waiting for table metadata lock' AND INFO LIKE CONCAT('%', ?, '%'))
			   OR (STATE = 'Waiting for backup lock' AND INFO = 'BACKUP STAGE START')`, db).Scan(&n)
		if err != nil {
			e.t.Fatal(err)
		}
		if n > 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Say what the server was doing: a DDL of another test stuck on a lock holds up every
	// dumper's BACKUP STAGE START on this shared server.
	var busy []string
	if rows, err := pool.Query(`SELECT CONCAT(ID, ' ', COALESCE(STATE, ''), ' ', TIME, 's: ', LEFT(COALESCE(INFO, ''), 100))
		FROM information_schema.PROCESSLIST WHERE COMMAND <> 'Sleep'`); err == nil {
		for rows.Next() {
			var s string
			if rows.Scan(&s) == nil {
				busy = append(busy, s)
			}
		}
		_ = rows.Close()
	}
	e.t.Fatalf("no dumper session waited for the lock on %s within %v; server sessions:\n%s", db, timeout, strings.Join(busy, "\n"))
}
