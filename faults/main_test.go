package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backupctl/backupctl/internal/testenv"
	"github.com/backupctl/backupctl/version"
)

var (
	// binary is backupctl built from this checkout for the run.
	binary string
	// workDir holds the private servers' directories (short paths: sockets have a length limit).
	workDir string
	// repoRoot is the module root.
	repoRoot string
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	wd, _ := os.Getwd()
	repoRoot = filepath.Dir(wd)
	_ = os.MkdirAll(filepath.Join(repoRoot, ".stack", "faults"), 0o700)
	dir, err := os.MkdirTemp(filepath.Join(repoRoot, ".stack", "faults"), "run-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		return 1
	}
	workDir = dir
	defer os.RemoveAll(dir)
	// BACKUP_FAULTS_BINARY runs the cases against a binary built elsewhere (another version, say).
	if binary = os.Getenv("BACKUP_FAULTS_BINARY"); binary == "" {
		binary = filepath.Join(dir, "backupctl")
		build := exec.Command("go", "build", "-o", binary, "./cmd/backupctl")
		build.Dir = repoRoot
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "faults: go build ./cmd/backupctl: %v\n%s", err, out)
			return 1
		}
	}
	code := m.Run()
	if os.Getenv("BACKUP_WRITE_RELIABILITY") == "1" {
		if err := writeReliability(filepath.Join(repoRoot, "docs", "RELIABILITY.md")); err != nil {
			fmt.Fprintln(os.Stderr, "faults: write docs/RELIABILITY.md:", err)
			return 1
		}
	}
	return code
}

// needPrivate fails the test when the private servers cannot be started (skips under -short).
func needPrivate(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts private MariaDB and MinIO servers; not under -short")
	}
	for _, b := range []string{"mariadbd", "mariadb-install-db", "mariadb", "mariadb-admin"} {
		if _, err := exec.LookPath(b); err != nil {
			t.Fatalf("%s is not installed: run `make up` and source .stack/env", b)
		}
	}
	minioBinary(t)
}

// ---- running the binary ----

// cliEnv is the environment of a run: this process's minus every backupctl, AWS and kube
// setting, plus env. Logs are JSON so tests can read them.
func cliEnv(env []string) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "BACKUP_") || strings.HasPrefix(k, "AWS_") || k == "KUBECONFIG" {
			continue
		}
		out = append(out, kv)
	}
	out = append(out, "BACKUP_LOG_FORMAT=json")
	return append(out, env...)
}

// runCLI runs backupctl to its end (at most 5 minutes).
func runCLI(t testing.TB, env []string, args ...string) testenv.Result {
	t.Helper()
	return startCLI(t, env, args...).wait(t, 5*time.Minute)
}

// running is a backupctl process in flight.
type running struct{ *testenv.Process }

func startCLI(t testing.TB, env []string, args ...string) running {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = cliEnv(env)
	p, err := testenv.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	return running{p}
}

// wait waits for the process to end (interrupting it after d, which fails the test) and returns
// its result.
func (r running) wait(t testing.TB, d time.Duration) testenv.Result {
	t.Helper()
	res, timedOut := r.Wait(d)
	if timedOut {
		t.Errorf("backupctl %s did not end within %s; interrupted", strings.Join(res.Args, " "), d)
	}
	return res
}

// resultID reads the id from a backup's `-o json` output.
func resultID(t testing.TB, r testenv.Result) string {
	t.Helper()
	var v struct {
		ID       string `json:"id"`
		Verified bool   `json:"verified"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &v); err != nil || v.ID == "" {
		t.Fatalf("backup output is not its JSON result (%v): %q; stderr: %s", err, r.Stdout, tailString(r.Stderr, 2000))
	}
	if !v.Verified {
		t.Fatalf("backup %s exited %d but says verified=false", v.ID, r.Code)
	}
	return v.ID
}

// ---- the report ----

// outcome is one case of docs/RELIABILITY.md.
type outcome struct {
	Area     string
	Case     string
	Injected string
	Exit     string
	Message  string
	Checked  string
	Result   string
}

var (
	reportMu sync.Mutex
	report   []*outcome
)

// record adds a case to the report; its result is filled in when the test ends.
func record(t *testing.T, area, name, injected string) *outcome {
	o := &outcome{Area: area, Case: name, Injected: injected}
	t.Cleanup(func() {
		o.Result = "pass"
		if t.Skipped() {
			o.Result = "skipped"
		} else if t.Failed() {
			o.Result = "**FAIL**"
		}
		t.Logf("report: %s | exit %s | %s | checked: %s | %s", o.Case, o.Exit, o.Message, o.Checked, o.Result)
		reportMu.Lock()
		report = append(report, o)
		reportMu.Unlock()
	})
	return o
}

// set notes the exit code and message of a run.
func (o *outcome) set(r testenv.Result) {
	o.Exit = fmt.Sprint(r.Code)
	o.Message = r.Message()
}

// check notes what was checked after the run.
func (o *outcome) check(what ...string) {
	o.Checked = strings.Join(append(splitChecks(o.Checked), what...), "; ")
}

func splitChecks(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "; ")
}

func writeReliability(path string) error {
	reportMu.Lock()
	defer reportMu.Unlock()
	areas := []string{"fault", "bad input", "security"}
	order := map[string]int{}
	for i, a := range areas {
		order[a] = i
	}
	sort.SliceStable(report, func(i, j int) bool { return order[report[i].Area] < order[report[j].Area] })
	mariadb, _ := exec.Command("mariadbd", "--version").Output()
	var b strings.Builder
	fmt.Fprintf(&b, "# Reliability report\n\n")
	fmt.Fprintf(&b, "Written by `BACKUP_WRITE_RELIABILITY=1 go test ./faults/` on %s.\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- backupctl %s, %s %s/%s\n- %s\n- MinIO: `go install github.com/minio/minio` as pinned in scripts/stack.sh\n\n",
		version.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH, strings.TrimSpace(string(mariadb)))
	fmt.Fprintf(&b, "Every case drives the real `backupctl` binary as a subprocess against private MariaDB and MinIO\n"+
		"servers that the test starts, stops, kills and stalls under `.stack/faults/` (never the shared ones of\n"+
		"`.stack/env`, which other tests use at the same time). \"Exit\" is the exit code\n"+
		"(README: 0 ok, 1 failed, 2 bad input, 3 verification, 4 not found, 5 refused, 75 transient: a retry may succeed); \"Message\" is what\n"+
		"the user reads on stderr besides the JSON log records. A **FAIL** is a product bug the test found;\n"+
		"see the test log for the details.\n\n")
	for _, a := range areas {
		fmt.Fprintf(&b, "## %s\n\n| case | injected | exit | message | checked afterwards | result |\n| --- | --- | --- | --- | --- | --- |\n", capitalize(a))
		for _, o := range report {
			if o.Area != a {
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", cell(o.Case), cell(o.Injected), cell(o.Exit), cell(o.Message), cell(o.Checked), o.Result)
		}
		b.WriteString("\n")
	}
	b.WriteString(reliabilityNotes)
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func capitalize(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// cell keeps a value inside one Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	if s == "" {
		return "-"
	}
	return s
}

func tailString(s string, n int) string { return testenv.Tail(s, n) }

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func readAllLimit(r io.Reader) ([]byte, error) { return io.ReadAll(io.LimitReader(r, 1<<30)) }

// ctxFor returns a context for a helper query with a timeout.
func ctxFor(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}
