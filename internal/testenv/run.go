package testenv

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Result is how one run of a binary ended.
type Result struct {
	Prog   string   // the program's base name
	Args   []string // the arguments, without the program
	Code   int      // the exit code; 128+n when signal n ended it, -1 when it did not run
	Stdout string
	Stderr string // as written, line ends included
	Dur    time.Duration
}

// Messages returns stderr's lines that are not JSON log records, trimmed: what a user reads.
func (r Result) Messages() []string { return Messages(r.Stderr) }

// Message is the error line, or the lines of Messages joined with " | " when there are several.
func (r Result) Message() string { return strings.Join(r.Messages(), " | ") }

// Records returns the JSON log records of stderr, in order.
func (r Result) Records() []map[string]any { return Records(r.Stderr) }

func (r Result) String() string {
	return fmt.Sprintf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(append([]string{r.Prog}, r.Args...), " "), r.Code, r.Stdout, Tail(r.Stderr, 6000))
}

// Messages returns the lines of stderr that are not JSON log records, trimmed, empty ones left out.
func Messages(stderr string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || (strings.HasPrefix(l, "{") && json.Valid([]byte(l))) {
			continue
		}
		out = append(out, l)
	}
	return out
}

// Records returns the lines of stderr that are JSON objects, decoded.
func Records(stderr string) []map[string]any {
	var out []map[string]any
	for _, l := range strings.Split(stderr, "\n") {
		if m, ok := record(l); ok {
			out = append(out, m)
		}
	}
	return out
}

func record(line string) (map[string]any, bool) {
	var m map[string]any
	if json.Unmarshal([]byte(line), &m) != nil {
		return nil, false
	}
	return m, true
}

// MsgIs matches a log record by its message (the "msg" field).
func MsgIs(msg string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["msg"] == msg }
}

// Tail returns the last n bytes of s, marked with "…" when cut.
func Tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// Process is a binary in flight; its stderr is read line by line as it comes, so a test can wait
// for a log record while the process runs.
type Process struct {
	cmd     *exec.Cmd
	start   time.Time
	stdout  bytes.Buffer
	mu      sync.Mutex
	stderr  strings.Builder
	lines   []string
	changed chan struct{}
	done    chan struct{}
}

// Start starts cmd (its Env, Dir and Stdin as the caller set them). Stdout and stderr are
// captured for the Result, except where the caller set cmd.Stdout or cmd.Stderr (a server's log
// file, say): WaitRecord then sees no records. Stop it with Kill in a cleanup: Start does not
// know the test.
func Start(cmd *exec.Cmd) (*Process, error) {
	p := &Process{cmd: cmd, changed: make(chan struct{}, 1), done: make(chan struct{})}
	if cmd.Stdout == nil {
		cmd.Stdout = &p.stdout
	}
	var errPipe io.Reader
	if cmd.Stderr == nil {
		pipe, err := cmd.StderrPipe()
		if err != nil {
			return nil, err
		}
		errPipe = pipe
	}
	p.start = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		if errPipe != nil {
			p.readStderr(errPipe)
		}
		_ = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// readStderr keeps stderr and its lines until EOF.
func (p *Process) readStderr(r io.Reader) {
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		s, err := br.ReadString('\n')
		if s != "" {
			p.mu.Lock()
			p.stderr.WriteString(s)
			p.lines = append(p.lines, strings.TrimSuffix(s, "\n"))
			p.mu.Unlock()
			select {
			case p.changed <- struct{}{}:
			default:
			}
		}
		if err != nil {
			break
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

// Run runs cmd to its end (SIGTERM after d, SIGKILL 30s later) and returns how it ended; a
// process that could not start has code -1 and the error at the end of Stderr. timedOut says
// whether d ran out.
func Run(cmd *exec.Cmd, d time.Duration) (r Result, timedOut bool) {
	p, err := Start(cmd)
	if err != nil {
		return Result{Prog: filepath.Base(cmd.Path), Args: cmd.Args[1:], Code: -1, Stderr: "\nrun " + cmd.Path + ": " + err.Error()}, false
	}
	return p.Wait(d)
}

// Alive reports whether the process still runs.
func (p *Process) Alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Done is closed when the process has ended.
func (p *Process) Done() <-chan struct{} { return p.done }

// Pid is the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig to the process.
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Kill ends the process with SIGKILL, if it still runs, and waits for it.
func (p *Process) Kill() {
	if p.Alive() {
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// WaitRecord waits for a JSON log record on stderr for which match is true; false if the process
// ended or d ran out first.
func (p *Process) WaitRecord(d time.Duration, match func(rec map[string]any) bool) (map[string]any, bool) {
	deadline := time.After(d)
	seen := 0
	for {
		p.mu.Lock()
		lines := p.lines[seen:]
		seen = len(p.lines)
		p.mu.Unlock()
		for _, l := range lines {
			if m, ok := record(l); ok && match(m) {
				return m, true
			}
		}
		select {
		case <-p.changed:
		case <-p.done:
			select {
			case <-p.changed:
				continue
			default:
			}
			p.mu.Lock()
			more := len(p.lines) > seen
			p.mu.Unlock()
			if more {
				continue
			}
			return nil, false
		case <-deadline:
			return nil, false
		}
	}
}

// Wait waits for the process to end and returns how it ended. After d it sends SIGTERM (a
// backupctl then aborts its upload and leaves nothing behind), after 30s more SIGKILL; timedOut
// says so.
func (p *Process) Wait(d time.Duration) (r Result, timedOut bool) {
	select {
	case <-p.done:
	case <-time.After(d):
		timedOut = true
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			_ = p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.done
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	code := p.cmd.ProcessState.ExitCode()
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		code = 128 + int(ws.Signal())
	}
	return Result{Prog: filepath.Base(p.cmd.Path), Args: p.cmd.Args[1:], Code: code, Stdout: p.stdout.String(), Stderr: p.stderr.String(),
		Dur: time.Since(p.start)}, timedOut
}
