package e2e

import (
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/backupctl/backupctl/internal/dbtest"
)

// inTerminal runs backupctl with stdout and stderr on a pseudo-terminal, as a person at a
// terminal runs it, and returns its exit code and what the terminal showed.
func (e *env) inTerminal(env []string, args ...string) (int, string) {
	e.t.Helper()
	cmd := exec.Command(backupctlBin, args...)
	cmd.Env, cmd.Dir = env, e.home
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 160})
	if err != nil {
		e.t.Fatal(err)
	}
	defer ptmx.Close()
	var buf bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _, _ = io.Copy(&buf, ptmx) }() // ends with EIO once the child exits
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(3 * time.Minute):
		_ = cmd.Process.Kill()
		<-done
		e.t.Fatalf("backupctl %s did not end in a terminal within 3 min", strings.Join(args, " "))
	}
	wg.Wait()
	e.record("terminal of backupctl "+strings.Join(args, " "), buf.String())
	return cmd.ProcessState.ExitCode(), buf.String()
}

// barPercents lists the percentages the bar of kind drew, in order.
func barPercents(out, kind string) []int {
	var ps []int
	for _, m := range regexp.MustCompile(kind+`\s+(\d+) ?%`).FindAllStringSubmatch(out, -1) {
		p, _ := strconv.Atoi(m[1])
		ps = append(ps, p)
	}
	return ps
}

// TestProgressInTerminal: a local backup, verify and restore of a database of eight tables, and
// a backup through a Job (its dumper's log followed), run in a pseudo-terminal, draw a live bar whose percentage (of the information_schema estimate,
// then of the manifest) reaches 100, with the ETA, rows, MB/s and the table; each ends with its
// summary line rather than key: value lines. Without a terminal the JSON lines stay.
func TestProgressInTerminal(t *testing.T) {
	e := newParallelEnv(t)
	db := e.src.CreateDatabase(t, "e2e_bar")
	q := dbtest.QuoteIdent(db)
	for i := range 8 {
		tbl := fmt.Sprintf("%s.t%d", q, i)
		e.src.Exec(t, "CREATE TABLE "+tbl+" (id INT PRIMARY KEY, v VARCHAR(200)) ENGINE=InnoDB",
			"INSERT INTO "+tbl+" SELECT seq, REPEAT(MD5(seq), 4) FROM "+q+".seq_1_to_40000",
			"ANALYZE TABLE "+tbl)
	}
	env := append(e.baseEnv(), e.allSecrets()...)
	env = withEnv(env, "BACKUP_LOG_FORMAT=auto") // a terminal decides

	code, out := e.inTerminal(env, "backup", "now", "--local", "-d", db)
	t.Logf("backup in a terminal (last 600 bytes): %q", tail(out, 600))
	ps := barPercents(out, "backup")
	t.Logf("backup bar percentages: %v", ps)
	if code != 0 || len(ps) == 0 || ps[len(ps)-1] != 100 {
		t.Fatalf("backup in a terminal: exit %d, percentages %v, want the last 100:\n%q", code, ps, tail(out, 2000))
	}
	for _, want := range []string{"ETA ", "MB/s", "320,000 rows", db + ".t"} {
		if !strings.Contains(out, want) {
			t.Errorf("the backup's bar does not show %q", want)
		}
	}
	sum := regexp.MustCompile(`backup (\S+) verified: \S+ \S+ \(\S+ \S+ of SQL\), 8 tables, 320,000 rows in [0-9.]+ s, s3://` + e.st.bucket + `/` + e.prefix + `/(\S+)/`).FindStringSubmatch(out)
	if sum == nil || sum[1] != sum[2] || strings.Contains(out, "sha256: ") {
		t.Fatalf("the backup's summary line is missing (or key: value lines printed):\n%q", tail(out, 2000))
	}
	id := sum[1]

	code, out = e.inTerminal(env, "verify", id)
	if ps := barPercents(out, "verify"); code != 0 || len(ps) == 0 || ps[len(ps)-1] != 100 || !strings.Contains(out, "backup "+id+" verified: ") {
		t.Errorf("verify in a terminal: exit %d, percentages %v:\n%q", code, ps, tail(out, 2000))
	}

	into := db + "_copy"
	e.dst.DropAtEnd(t, into)
	dst := append(env, "BACKUP_DB_HOST="+e.dst.Host, "BACKUP_DB_PORT="+strconv.Itoa(e.dst.Port))
	code, out = e.inTerminal(dst, "restore", id, "--local", "--into", into)
	if ps := barPercents(out, "restore"); code != 0 || len(ps) == 0 || ps[len(ps)-1] != 100 ||
		!strings.Contains(out, "restored backup "+id+": 8 tables, 320,000 rows into "+into) || !strings.Contains(out, "ETA ") {
		t.Errorf("restore in a terminal: exit %d, percentages %v:\n%q", code, ps, tail(out, 2000))
	}

	// Following a Job: the dumper's JSON progress lines draw the same bar.
	code, out = e.inTerminal(withEnv(e.baseEnv(), "BACKUP_LOG_FORMAT=auto"), "backup", "now", "-d", db)
	if ps := barPercents(out, "backup"); code != 0 || len(ps) == 0 || ps[len(ps)-1] != 100 || !strings.Contains(out, "ETA ") ||
		!regexp.MustCompile(`backup \S+ verified: .* 8 tables, 320,000 rows in .*\(Job `+e.ns+`/`).MatchString(out) {
		t.Errorf("backup now (Job) in a terminal: exit %d, percentages %v:\n%q", code, ps, tail(out, 2000))
	}

	// Not a terminal: JSON lines, progress among them, and no bar.
	r := must(t, e.local("verify", id))
	if !strings.Contains(r.Stderr, `"msg":"verify complete"`) || strings.Contains(r.Stderr, "%") {
		t.Errorf("verify without a terminal:\n%s", r.Stderr)
	}
}

// withEnv returns env with kv replacing the entry of the same key.
func withEnv(env []string, kv string) []string {
	k := kv[:strings.Index(kv, "=")+1]
	out := []string{kv}
	for _, v := range env {
		if !strings.HasPrefix(v, k) {
			out = append(out, v)
		}
	}
	return out
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
