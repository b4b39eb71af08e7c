package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/backupctl/backupctl/internal/testenv"
)

// TestInterruptFollow sends a real SIGINT to backupctl while it follows a backup Job whose
// dumper waits on a locked table. With --cancel-on-interrupt the Job and its pod are deleted and
// nothing is stored; without it backupctl detaches, says how to follow and stop the Job, and the
// Job goes on to a verified backup. Neither says "context canceled".
func TestInterruptFollow(t *testing.T) {
	e := newParallelEnv(t)
	db := e.smallDB()
	release := e.lockTable(db)

	// interrupt starts backup now, waits until its Job's dumper runs and waits for the lock,
	// sends SIGINT and returns how backupctl ended and the Job's name.
	interrupt := func(extra ...string) (res, string) {
		t.Helper()
		cmd := exec.Command(backupctlBin, append([]string{"backup", "now", "-d", db}, extra...)...)
		cmd.Env, cmd.Dir = e.baseEnv(), e.home
		p, err := testenv.Start(cmd)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Kill)
		job := e.runningJob(time.Minute)
		e.waitBlocked(db, time.Minute)
		if err := p.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		r, timedOut := p.Wait(2 * time.Minute)
		e.record("interrupted backup now stderr", r.Stderr)
		if timedOut || r.Code != 130 {
			t.Errorf("backupctl after SIGINT: exit %d (timed out %v), want 130:\n%s", r.Code, timedOut, r)
		}
		if strings.Contains(r.Stderr, "context canceled") {
			t.Errorf("backupctl says \"context canceled\":\n%s", r.Stderr)
		}
		return r, job
	}

	r, job := interrupt("--cancel-on-interrupt")
	t.Logf("with --cancel-on-interrupt: %s", lastLine(r.Stderr))
	if msg := lastLine(r.Stderr); !strings.Contains(msg, "interrupted: deleted Job "+e.ns+"/"+job+" and its pod") {
		t.Errorf("with --cancel-on-interrupt: %q", msg)
	}
	if js, pods := e.jobsIn(), e.podsOf(job); len(js) != 0 || len(pods) != 0 {
		t.Errorf("with --cancel-on-interrupt: %d Jobs and %d pods left", len(js), len(pods))
	}
	if objs := e.objects(); len(objs) != 0 {
		t.Errorf("a cancelled backup left objects: %v", objs)
	}

	r, job = interrupt()
	msg := lastLine(r.Stderr)
	t.Logf("detached: %s", msg)
	for _, want := range []string{"detached: Job " + e.ns + "/" + job + " keeps running", "backupctl wait -n " + e.ns + " " + job, "kubectl delete job " + job} {
		if !strings.Contains(msg, want) {
			t.Errorf("detached: %q does not say %q", msg, want)
		}
	}
	if js := e.jobsIn(); len(js) != 1 || js[0].Name != job || complete(&js[0]) {
		t.Fatalf("after a detach: want Job %s still running, got %d Jobs", job, len(js))
	}
	release()
	b := decode[backupResult](t, must(t, e.job("wait", job, "-o", "json")))
	checkVerified(t, b)
}

// runningJob waits for the namespace's one Job to have a running dumper and returns its name.
func (e *env) runningJob(timeout time.Duration) string {
	e.t.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		var running []batchv1.Job
		for _, j := range e.jobsIn() {
			if !complete(&j) {
				running = append(running, j)
			}
		}
		if len(running) != 1 {
			continue
		}
		for _, p := range e.podsOf(running[0].Name) {
			if p.Status.Phase == corev1.PodRunning {
				return running[0].Name
			}
		}
	}
	e.t.Fatalf("no Job with a running pod in %s after %v", e.ns, timeout)
	return ""
}
