package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/minio/minio-go/v7"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/internal/testenv"
	"github.com/backupctl/backupctl/storage"
)

// TestExitCodeTable: one failure, one code, however it is wrapped.
func TestExitCodeTable(t *testing.T) {
	gr := schema.GroupResource{Group: "batch", Resource: "jobs"}
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	for _, c := range []struct {
		name string
		err  error
		want int
	}{
		{"usage", contract.Usagef("bad"), contract.ExitUsage},
		{"not found", contract.NotFound(errors.New("no schedule")), contract.ExitNotFound},
		{"no manifest", fmt.Errorf("read: %w", backup.ErrNoManifest), contract.ExitNotFound},
		{"endpoint refused", fmt.Errorf("%w: cannot reach S3 endpoint: %w", storage.ErrConfig, refused), contract.ExitTransient},
		{"endpoint timeout", fmt.Errorf("x: %w", &net.DNSError{Err: "timeout", IsTimeout: true}), contract.ExitTransient},
		{"no such host", fmt.Errorf("%w: %w", storage.ErrConfig, &net.DNSError{Err: "no such host", IsNotFound: true}), contract.ExitUsage},
		{"S3 throttled", fmt.Errorf("put: %w", minio.ErrorResponse{Code: "SlowDown", StatusCode: 503}), contract.ExitTransient},
		{"S3 5xx", fmt.Errorf("put: %w", minio.ErrorResponse{Code: "X", StatusCode: 502}), contract.ExitTransient},
		{"S3 denied", fmt.Errorf("put: %w", minio.ErrorResponse{Code: "AccessDenied", StatusCode: 403}), contract.ExitFailed},
		{"API unavailable", fmt.Errorf("create job: %w", apierrors.NewServiceUnavailable("down")), contract.ExitTransient},
		{"API throttled", fmt.Errorf("create job: %w", apierrors.NewTooManyRequests("slow", 1)), contract.ExitTransient},
		{"API conflict", fmt.Errorf("create job: %w", apierrors.NewAlreadyExists(gr, "x")), contract.ExitFailed},
		{"marked", contract.Transient(errors.New("later")), contract.ExitTransient},
		{"job's code", &contract.ExitError{Code: contract.ExitRefused, Err: errors.New("x")}, contract.ExitRefused},
	} {
		if got := ExitCode(c.err); got != c.want {
			t.Errorf("%s: ExitCode(%v) = %d, want %d", c.name, c.err, got, c.want)
		}
	}
}

// TestUnreachableEndpointIsTransient: the whole path, from the flags to the exit code.
func TestUnreachableEndpointIsTransient(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "k")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "s")
	addr := testenv.FreeAddr(t) // nothing listens there now
	code, stderr := runMain(t, map[string]string{"BACKUP_S3_ENDPOINT": "http://" + addr, "BACKUP_S3_BUCKET": "backups"}, "verify", "x")
	if code != contract.ExitTransient || !strings.Contains(stderr, "cannot reach S3 endpoint") {
		t.Errorf("exit %d, want %d; stderr: %s", code, contract.ExitTransient, stderr)
	}
}

// TestLogWriterText: with text logs, the dumper's JSON lines read like the CLI's own; other
// lines pass as they are, and a line split across writes is kept whole.
func TestLogWriterText(t *testing.T) {
	var errb bytes.Buffer
	g := &Globals{LogFormat: "text", Stderr: &errb}
	w := g.LogWriter()
	in := `{"time":"2026-11-29T05:00:00.5Z","level":"INFO","msg":"manifest written","id":"20261129T050000Z-ab12","rows":3}` + "\n" +
		"--- backupctl: following pod p (attempt 2) ---\n" +
		"dumper: dump failed\n"
	for _, part := range []string{in[:40], in[40:]} {
		if _, err := w.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	want := `time=2026-11-29T05:00:00.500Z level=INFO msg="manifest written" id=20261129T050000Z-ab12 rows=3` + "\n" +
		"--- backupctl: following pod p (attempt 2) ---\n"
	if errb.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", errb.String(), want)
	}
	g.LogFormat = "json"
	if g.LogWriter() != g.Err() {
		t.Errorf("with json logs the lines must pass as they are")
	}
	g.Quiet = true
	if g.LogWriter() != nil {
		t.Errorf("with --quiet there is no log")
	}
}

// TestReportInPod: in a pod the result is the termination message only (backupctl prints it
// from there, once); elsewhere it is printed.
func TestReportInPod(t *testing.T) {
	res := map[string]string{"id": "20261129T050000Z-ab12"}
	var out bytes.Buffer
	g := &Globals{Stdout: &out}
	path := t.TempDir() + "/termination-log"
	t.Setenv(contract.TerminationLogEnv, path)
	if err := g.Report(res, nil); err != nil {
		t.Fatal(err)
	}
	msg, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(msg), "20261129T050000Z-ab12") || out.Len() != 0 {
		t.Errorf("in a pod: termination message %q (%v), stdout %q", msg, err, out.String())
	}
	t.Setenv(contract.TerminationLogEnv, "")
	if contract.TerminationLog() != "" {
		return // this machine has /dev/termination-log: it is a pod
	}
	if err := g.Report(res, nil); err != nil || !strings.Contains(out.String(), "id: 20261129T050000Z-ab12") {
		t.Errorf("outside a pod: stdout %q (%v)", out.String(), err)
	}
}

// TestInterruptedSaidForPeople: a run stopped by a signal exits 130 and its message says what
// was going on, not "context canceled".
func TestInterruptedSaidForPeople(t *testing.T) {
	err := fmt.Errorf("BACKUP STAGE START: %w", context.Canceled)
	var buf bytes.Buffer
	code := Exit(&Globals{Stderr: &buf}, "backupctl", err)
	if code != contract.ExitInterrupted || strings.Contains(buf.String(), "context canceled") ||
		!strings.Contains(buf.String(), "interrupted by a signal during: BACKUP STAGE START") {
		t.Errorf("exit %d, %q", code, buf.String())
	}
}
