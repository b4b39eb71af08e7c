package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/jobs"
)

// interruptFlag says what a Ctrl-C (SIGINT, SIGTERM) while following a Job does to the Job.
type interruptFlag struct {
	CancelOnInterrupt bool `name:"cancel-on-interrupt" env:"BACKUP_CANCEL_ON_INTERRUPT" help:"On Ctrl-C while following the Job, delete the Job and its pod (the dumper aborts its upload; a restore leaves the target partial) instead of leaving it running."`
}

// cancelTimeout bounds the wait for a cancelled Job to be gone.
const cancelTimeout = 60 * time.Second

// interrupted is the end of a follow that a signal stopped: the Job is left running (detached),
// or with --cancel-on-interrupt deleted with its pod. Either way it exits 130 with one line that
// says what became of the Job and what to do, never "context canceled".
func (f interruptFlag) interrupted(ctx context.Context, c *jobs.Client, namespace, name, component string) error {
	restore := component == jobs.ComponentRestore
	if !f.CancelOnInterrupt {
		return &contract.ExitError{Code: contract.ExitInterrupted, Err: errors.New(detachedMessage(namespace, name, restore))}
	}
	if err := c.CancelJob(ctx, namespace, name, cancelTimeout); err != nil {
		return &contract.ExitError{Code: contract.ExitInterrupted, Err: fmt.Errorf("interrupted; deleting Job %s/%s failed, it may still run: %w", namespace, name, err)}
	}
	msg := fmt.Sprintf("interrupted: deleted Job %s/%s and its pod; the dumper aborted its upload, nothing was stored", namespace, name)
	if restore {
		msg = fmt.Sprintf("interrupted: deleted Job %s/%s and its pod; the restore stopped and may have left the target partial: restore again with --drop-existing", namespace, name)
	}
	return &contract.ExitError{Code: contract.ExitInterrupted, Err: errors.New(msg)}
}

// detachedMessage says that the Job goes on, how to follow it and how to stop it.
func detachedMessage(namespace, name string, restore bool) string {
	ns := ""
	if namespace != jobs.DefaultNamespace {
		ns = " -n " + namespace
	}
	msg := fmt.Sprintf("detached: Job %s/%s keeps running; follow it with `backupctl wait%s %s` or `kubectl logs -f job/%s -n %s` (see also `backupctl jobs%s`); stop it with `kubectl delete job %s -n %s --cascade=foreground` (or pass --cancel-on-interrupt to stop it on Ctrl-C)",
		namespace, name, ns, name, name, namespace, ns, name, namespace)
	if restore {
		msg += "; a restore stopped before its end leaves the target partial"
	}
	return msg
}

// interruptedBeforeJob is a signal before the Job was created: nothing runs.
func interruptedBeforeJob(namespace string) error {
	return &contract.ExitError{Code: contract.ExitInterrupted, Err: fmt.Errorf("interrupted before the Job was created in namespace %s: nothing was started", namespace)}
}
