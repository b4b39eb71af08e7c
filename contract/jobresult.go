package contract

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

// TerminationLogPath is Kubernetes' default terminationMessagePath: the Job builders set it on
// the dumper's container, and the dumper writes its JobResult there.
const TerminationLogPath = "/dev/termination-log"

// TerminationLogEnv names another file for the dumper's result (tests, a pod runner that maps
// paths); unset, the dumper writes to TerminationLogPath when it exists.
const TerminationLogEnv = "BACKUP_TERMINATION_LOG"

// MaxTerminationMessage is the kubelet's limit on a termination message.
const MaxTerminationMessage = 4096

// JobResult is what the dumper reports through its container's termination message, and what
// backupctl reads back. It stays under MaxTerminationMessage.
type JobResult struct {
	OK       bool            `json:"ok"`
	ExitCode int             `json:"exit_code"`
	Error    string          `json:"error,omitempty"`
	Result   json.RawMessage `json:"result,omitempty"`
}

// NewJobResult is the outcome of a run: result (JSON-encoded) when runErr is nil, else the
// error with the exit code the dumper exits with.
func NewJobResult(result any, code int, runErr error) JobResult {
	jr := JobResult{OK: runErr == nil, ExitCode: code}
	if runErr != nil {
		jr.Error = runErr.Error()
	}
	if result != nil && runErr == nil {
		if b, err := json.Marshal(result); err == nil {
			jr.Result = b
		}
	}
	return jr
}

// Message is the termination message: jr as JSON, without the result's detail (and with the
// error cut) when the whole would not fit in MaxTerminationMessage.
func (jr JobResult) Message() []byte {
	b, _ := json.Marshal(jr)
	if len(b) > MaxTerminationMessage {
		// Keep the outcome; drop the detail that does not fit.
		jr.Result = nil
		if len(jr.Error) > 3000 {
			jr.Error = jr.Error[:3000]
		}
		b, _ = json.Marshal(jr)
	}
	return b
}

// WriteTerminationLog records jr for whoever watches the pod, at $BACKUP_TERMINATION_LOG or
// else TerminationLogPath (when it exists: outside a pod nothing is written). It never fails
// the run.
func WriteTerminationLog(jr JobResult) {
	if path := TerminationLog(); path != "" {
		_ = os.WriteFile(path, jr.Message(), 0o644)
	}
}

// TerminationLog is where WriteTerminationLog writes: $BACKUP_TERMINATION_LOG, else
// TerminationLogPath when it exists; "" outside a pod.
func TerminationLog() string {
	if path := os.Getenv(TerminationLogEnv); path != "" {
		return path
	}
	if _, err := os.Stat(TerminationLogPath); errors.Is(err, os.ErrNotExist) {
		return ""
	}
	return TerminationLogPath
}

// ParseJobResult reads a termination message written by WriteTerminationLog.
func ParseJobResult(msg string) (*JobResult, error) {
	var jr JobResult
	if err := json.Unmarshal([]byte(msg), &jr); err != nil {
		return nil, fmt.Errorf("the dumper's termination message is not its JSON result (%q): %w", truncate(msg, 200), err)
	}
	return &jr, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
