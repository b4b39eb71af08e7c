package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

// TerminationLogEnv names the file the dumper writes its result to; unset, it writes to
// DefaultTerminationLog as a kubelet expects.
const TerminationLogEnv = "BACKUP_TERMINATION_LOG"

// DefaultTerminationLog is Kubernetes' default terminationMessagePath.
const DefaultTerminationLog = "/dev/termination-log"

// JobResult is what the dumper reports through its container's termination message, and what
// backupctl reads back. It stays under the kubelet's 4096-byte limit.
type JobResult struct {
	OK       bool            `json:"ok"`
	ExitCode int             `json:"exit_code"`
	Error    string          `json:"error,omitempty"`
	Result   json.RawMessage `json:"result,omitempty"`
}

// maxTerminationMessage is the kubelet's limit on a termination message.
const maxTerminationMessage = 4096

// WriteTerminationLog records the outcome for whoever watches the pod. It never fails the run.
func WriteTerminationLog(result any, runErr error) {
	path := os.Getenv(TerminationLogEnv)
	if path == "" {
		path = DefaultTerminationLog
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return // not in a pod
		}
	}
	jr := JobResult{OK: runErr == nil, ExitCode: ExitCode(runErr)}
	if runErr != nil {
		jr.Error = runErr.Error()
	}
	if result != nil && runErr == nil {
		if b, err := json.Marshal(result); err == nil {
			jr.Result = b
		}
	}
	b, _ := json.Marshal(jr)
	if len(b) > maxTerminationMessage {
		// Keep the outcome; drop the detail that does not fit.
		jr.Result = nil
		if len(jr.Error) > 3000 {
			jr.Error = jr.Error[:3000]
		}
		b, _ = json.Marshal(jr)
	}
	_ = os.WriteFile(path, b, 0o644)
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
