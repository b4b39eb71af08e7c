package contract

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestJobResultRoundTrip(t *testing.T) {
	path := t.TempDir() + "/log"
	t.Setenv(TerminationLogEnv, path)
	read := func() *JobResult {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > MaxTerminationMessage {
			t.Fatalf("termination message is %d bytes, over the kubelet's %d", len(b), MaxTerminationMessage)
		}
		jr, err := ParseJobResult(string(b))
		if err != nil {
			t.Fatal(err)
		}
		return jr
	}

	WriteTerminationLog(NewJobResult(map[string]any{"id": "abc", "pad": strings.Repeat("x", 5000)}, ExitOK, nil))
	if jr := read(); !jr.OK || jr.ExitCode != 0 {
		t.Errorf("got %+v, want ok", jr)
	}
	WriteTerminationLog(NewJobResult(map[string]any{"id": "abc"}, ExitOK, nil))
	if jr := read(); !jr.OK || string(jr.Result) != `{"id":"abc"}` {
		t.Errorf("got %+v, want ok with the result", jr)
	}
	WriteTerminationLog(NewJobResult(nil, ExitUsage, Usagef("bad --bucket")))
	if jr := read(); jr.OK || jr.ExitCode != ExitUsage || jr.Error != "bad --bucket" {
		t.Errorf("got %+v, want a usage failure", jr)
	}
	WriteTerminationLog(NewJobResult(nil, ExitFailed, errors.New(strings.Repeat("e", 5000))))
	if jr := read(); jr.OK || jr.ExitCode != ExitFailed || len(jr.Error) != 3000 {
		t.Errorf("got ok=%v code=%d and %d bytes of error, want a failure cut to 3000", jr.OK, jr.ExitCode, len(jr.Error))
	}
}

func TestParseJobResultNotJSON(t *testing.T) {
	_, err := ParseJobResult("panic: " + strings.Repeat("x", 300))
	if err == nil || !strings.Contains(err.Error(), "not its JSON result") || len(err.Error()) > 400 {
		t.Errorf("got %v", err)
	}
}
