package faults

import (
	"bufio"
	"bytes"
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
	"syscall"
	"testing"
	"time"

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

// cliResult is one finished run of backupctl.
type cliResult struct {
	code           int
	stdout, stderr string
	dur            time.Duration
}

// messages returns stderr's lines that are not JSON log records: what a user reads.
func (r cliResult) messages() []string {
	var out []string
	for _, l := range strings.Split(r.stderr, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || (strings.HasPrefix(l, "{") && json.Valid([]byte(l))) {
			continue
		}
		out = append(out, l)
	}
	return out
}

// message is the error line, or all non-log lines joined when there are several.
func (r cliResult) message() string { return strings.Join(r.messages(), " | ") }

// logRecords returns the JSON log records of stderr.
func (r cliResult) logRecords() []map[string]any {
	var out []map[string]any
	for _, l := range strings.Split(r.stderr, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

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
func runCLI(t testing.TB, env []string, args ...string) cliResult {
	t.Helper()
	return startCLI(t, env, args...).wait(t, 5*time.Minute)
}

// running is a backupctl process in flight; its stderr is read line by line.
type running struct {
	cmd     *exec.Cmd
	start   time.Time
	stdout  bytes.Buffer
	mu      sync.Mutex
	lines   []string
	changed chan struct{}
	done    chan struct{}
}

func startCLI(t testing.TB, env []string, args ...string) *running {
	t.Helper()
	r := &running{cmd: exec.Command(binary, args...), changed: make(chan struct{}, 1), done: make(chan struct{})}
	r.cmd.Env = cliEnv(env)
	r.cmd.Stdout = &r.stdout
	errPipe, err := r.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	r.start = time.Now()
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(errPipe)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			r.mu.Lock()
			r.lines = append(r.lines, sc.Text())
			r.mu.Unlock()
			select {
			case r.changed <- struct{}{}:
			default:
			}
		}
		_, _ = io.Copy(io.Discard, errPipe)
		_ = r.cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(func() {
		if r.alive() {
			_ = r.cmd.Process.Kill()
			<-r.done
		}
	})
	return r
}

func (r *running) alive() bool {
	select {
	case <-r.done:
		return false
	default:
		return true
	}
}

// waitLog waits for a JSON log record for which match is true; false if the process ended or
// the time ran out first.
func (r *running) waitLog(d time.Duration, match func(rec map[string]any) bool) (map[string]any, bool) {
	deadline := time.After(d)
	seen := 0
	for {
		r.mu.Lock()
		lines := r.lines[seen:]
		seen = len(r.lines)
		r.mu.Unlock()
		for _, l := range lines {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && match(m) {
				return m, true
			}
		}
		select {
		case <-r.changed:
		case <-r.done:
			select {
			case <-r.changed:
				continue
			default:
			}
			r.mu.Lock()
			more := len(r.lines) > seen
			r.mu.Unlock()
			if more {
				continue
			}
			return nil, false
		case <-deadline:
			return nil, false
		}
	}
}

// msgIs matches a log record by its message.
func msgIs(msg string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["msg"] == msg }
}

// wait waits for the process to end (killing it after d) and returns its result.
func (r *running) wait(t testing.TB, d time.Duration) cliResult {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(d):
		// SIGTERM first: backupctl then aborts its upload and leaves nothing behind.
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
			_ = r.cmd.Process.Signal(syscall.SIGKILL)
			<-r.done
		}
		t.Errorf("backupctl %s did not end within %s; interrupted", strings.Join(r.cmd.Args[1:], " "), d)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	code := r.cmd.ProcessState.ExitCode()
	if ws, ok := r.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		code = 128 + int(ws.Signal())
	}
	return cliResult{code: code, stdout: r.stdout.String(), stderr: strings.Join(r.lines, "\n"), dur: time.Since(r.start)}
}

// resultID reads the id from a backup's `-o json` output.
func resultID(t testing.TB, r cliResult) string {
	t.Helper()
	var v struct {
		ID       string `json:"id"`
		Verified bool   `json:"verified"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v.ID == "" {
		t.Fatalf("backup output is not its JSON result (%v): %q; stderr: %s", err, r.stdout, tailString(r.stderr, 2000))
	}
	if !v.Verified {
		t.Fatalf("backup %s exited %d but says verified=false", v.ID, r.code)
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
func (o *outcome) set(r cliResult) {
	o.Exit = fmt.Sprint(r.code)
	o.Message = r.message()
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
		"(README: 0 ok, 1 failed, 2 bad input, 3 verification, 4 not found, 5 refused); \"Message\" is what\n"+
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

func tailString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

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
