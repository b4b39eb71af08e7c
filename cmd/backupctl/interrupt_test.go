package main

import (
	"strings"
	"testing"
)

// TestDetachedMessage: the message names the Job, how to follow it and how to stop it; for a
// restore it warns of a partial target; it never says "context canceled".
func TestDetachedMessage(t *testing.T) {
	for _, restore := range []bool{false, true} {
		msg := detachedMessage("prod", "backupctl-restore-1", restore)
		for _, want := range []string{"detached: Job prod/backupctl-restore-1 keeps running", "backupctl wait -n prod backupctl-restore-1",
			"kubectl logs -f job/backupctl-restore-1 -n prod", "kubectl delete job backupctl-restore-1 -n prod", "--cancel-on-interrupt"} {
			if !strings.Contains(msg, want) {
				t.Errorf("restore %v: %q does not say %q", restore, msg, want)
			}
		}
		if strings.Contains(msg, "partial") != restore || strings.Contains(msg, "context canceled") {
			t.Errorf("restore %v: %q", restore, msg)
		}
	}
}
