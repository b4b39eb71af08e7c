package e2e

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/backupctl/backupctl/internal/dbtest"
)

// TestWrongPasswordInSecret: a Secret holding a wrong MariaDB password fails the backup with the
// server's "Access denied" and the setting to fix as the reason, exit 2 (configuration), and no
// manifest.
func TestWrongPasswordInSecret(t *testing.T) {
	e := newParallelEnv(t)
	db := e.smallDB()
	e.createSecret("wrong-password", map[string]string{
		"BACKUP_DB_PASSWORD": "e2e-wrong-" + dbtest.UniqueName("pw"), "AWS_ACCESS_KEY_ID": e.st.accessKey, "AWS_SECRET_ACCESS_KEY": e.st.secretKey,
	})
	r := e.job("backup", "now", "-d", db, "--secret", "wrong-password")
	fails(t, r, 2, `failed: .*connect to MariaDB at .*Access denied for user.*BACKUP_DB_PASSWORD`)
	e.noManifest()
}

// TestMissingBucket: a bucket that does not exist is a configuration error (exit 2) that names
// the bucket; the Job is not retried, and nothing is written.
func TestMissingBucket(t *testing.T) {
	e := newParallelEnv(t)
	db := e.smallDB()
	bucket := strings.ReplaceAll(dbtest.UniqueName("nosuch"), "_", "-")
	r := e.job("backup", "now", "-d", db, "--bucket", bucket)
	fails(t, r, 2, regexp.QuoteMeta(fmt.Sprintf(`bucket %q does not exist`, bucket)))
	js := e.jobsIn()
	if len(js) != 1 || js[0].Status.Failed != 1 {
		t.Errorf("want one Job with one failed pod (exit 2 is not retried): %d Jobs", len(js))
	}
	e.noManifest()
}

// TestActiveDeadline: a dump that cannot finish (its table is locked) is killed at
// --active-deadline; backupctl says "deadline exceeded", exits non-zero, and no manifest exists.
func TestActiveDeadline(t *testing.T) {
	e := newParallelEnv(t)
	db := e.smallDB()
	e.lockTable(db)
	r := e.job("backup", "now", "-d", db, "--active-deadline", "3s")
	fails(t, r, 1, `deadline exceeded: the Job ran longer than its active deadline \(3s\)`)
	e.noManifest()
	if objs := e.objects(); len(objs) != 0 {
		t.Errorf("the killed dump left objects: %v", objs)
	}
}

// TestDumperKilledRetried: the dumper is SIGKILLed mid-dump inside the Job; the Job's one retry
// makes a verified backup; exactly one manifest exists, and anything the killed attempt left has
// no manifest, so list shows only the good backup.
func TestDumperKilledRetried(t *testing.T) {
	e := newParallelEnv(t)
	db := e.smallDB()
	release := e.lockTable(db)
	done := e.start("backup", "now", "-d", db, "-o", "json")
	e.waitBlocked(db, time.Minute)
	pod := e.runningPod(30 * time.Second)
	pid := e.dumperPID(pod)
	t.Logf("SIGKILL dumper pid %d of pod %s", pid, pod.Name)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Let the retry run unhindered once the killed pod is reported Failed.
	e.waitPod(pod.Name, 30*time.Second, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	release()
	r := must(t, await(t, done, 2*time.Minute))
	b := decode[backupResult](t, r)
	checkVerified(t, b)
	if !strings.Contains(r.Stderr, "(attempt 2)") {
		t.Errorf("stderr does not show the retry:\n%s", r)
	}
	js := e.jobsIn()
	if len(js) != 1 || js[0].Status.Failed != 1 || js[0].Status.Succeeded != 1 {
		t.Errorf("want one Job with one failed and one succeeded pod: %+v", js)
	}
	if first := e.terminated(pod.Name); first == nil || first.ExitCode != 137 {
		t.Errorf("killed pod's dumper: %+v, want exit 137", first)
	}
	if m := e.manifests(); len(m) != 1 || m[0] != b.Manifest {
		t.Errorf("manifests = %v, want just %s", m, b.Manifest)
	}
	if l := e.list(); len(l) != 1 || l[0].ID != b.ID {
		t.Errorf("list = %v, want [%s]", ids(l), b.ID)
	}
	must(t, e.withKeys("verify", b.ID))
}

// TestPodDeletedMidRun: deleting the pod while the dump runs ends the backup with a reason that
// says so and a non-zero exit; no manifest is written.
func TestPodDeletedMidRun(t *testing.T) {
	e := newParallelEnv(t)
	db := e.smallDB()
	e.lockTable(db)
	done := e.start("backup", "now", "-d", db, "--backoff-limit", "0")
	e.waitBlocked(db, time.Minute)
	pod := e.runningPod(30 * time.Second)
	if err := e.kube.CoreV1().Pods(e.ns).Delete(context.Background(), pod.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	r := await(t, done, 2*time.Minute)
	fails(t, r, 1, `failed: .*pod `+regexp.QuoteMeta(pod.Name)+` was deleted before it finished`)
	e.noManifest()
}

// TestNothingCreatedOnBadSetup: a missing namespace, a missing Secret, a Secret without a key, no
// kubeconfig at all: each is one line on stderr, exit 2, and no Job or CronJob is created.
func TestNothingCreatedOnBadSetup(t *testing.T) {
	e := newParallelEnv(t)
	e.createSecret("partial", map[string]string{"BACKUP_DB_PASSWORD": e.st.dbPassword, "AWS_ACCESS_KEY_ID": e.st.accessKey})
	noKube := filepath.Join(e.t.TempDir(), "empty-home")
	if err := os.Mkdir(noKube, 0o700); err != nil {
		t.Fatal(err)
	}
	missingNS := strings.ReplaceAll(dbtest.UniqueName("e2e-nosuch"), "_", "-")
	for _, c := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"namespace", nil, []string{"-n", missingNS}, fmt.Sprintf(`namespace %q does not exist`, missingNS)},
		{"secret", nil, []string{"--secret", "nosuch"}, fmt.Sprintf(`secret "nosuch" not found in namespace %q`, e.ns)},
		{"key", nil, []string{"--secret", "partial"}, fmt.Sprintf(`secret %s/partial lacks key(s) AWS_SECRET_ACCESS_KEY`, e.ns)},
		{"kubeconfig", []string{"KUBECONFIG=", "HOME=" + noKube}, nil, `no kubeconfig found`},
	} {
		for _, cmd := range [][]string{{"backup", "now", "-d", "x"}, {"schedule", "set"}, {"restore", "20260101T000000Z-abcdef"}} {
			t.Run(c.name+"/"+cmd[0], func(t *testing.T) {
				env := e.baseEnv()
				env = append(env, c.env...)
				if c.name == "kubeconfig" {
					env = without(env, "KUBECONFIG")
				}
				r := e.runRaw(env, append(cmd, c.args...)...)
				fails(t, r, 2, regexp.QuoteMeta(c.want))
				if n := strings.Count(r.Stderr, "\n"); n != 1 {
					t.Errorf("stderr has %d lines, want one:\n%s", n, r.Stderr)
				}
			})
		}
	}
	if js := e.jobsIn(); len(js) != 0 {
		t.Errorf("%d Jobs created", len(js))
	}
	if cjs := e.cronJobs(); len(cjs) != 0 {
		t.Errorf("%d CronJobs created", len(cjs))
	}
	if _, err := e.kube.CoreV1().Namespaces().Get(context.Background(), missingNS, metav1.GetOptions{}); err == nil {
		t.Errorf("namespace %s was created", missingNS)
	}
}

func without(env []string, key string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// runningPod waits for a pod in the namespace whose dumper is running.
func (e *env) runningPod(timeout time.Duration) corev1.Pod {
	e.t.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		l, err := e.kube.CoreV1().Pods(e.ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			e.t.Fatal(err)
		}
		for _, p := range l.Items {
			for _, st := range p.Status.ContainerStatuses {
				if st.Name == "dumper" && st.State.Running != nil && p.DeletionTimestamp == nil {
					return p
				}
			}
		}
	}
	e.t.Fatalf("no running dumper pod in %s within %v", e.ns, timeout)
	return corev1.Pod{}
}

// dumperPID is the host pid of pod's dumper on the local node: the one process in the cgroup the
// kubelet made for its container (BACKUP_K8S_NODE_CGROUP). Before anyone signals it, it checks
// that it is the container's pid 1, runs as 65532 (its /proc/1/status, read through the
// container's own root and /proc) and has a read-only root filesystem.
func (e *env) dumperPID(p corev1.Pod) int {
	e.t.Helper()
	if e.st.nodeCgroup == "" {
		e.t.Fatal("BACKUP_K8S_NODE_CGROUP is not set: this test signals the dumper on the node's host (the local node from `make up`)")
	}
	var id string
	for _, st := range p.Status.ContainerStatuses {
		if st.Name == "dumper" {
			_, id, _ = strings.Cut(st.ContainerID, "://")
		}
	}
	var procs []byte
	root := filepath.Join("/sys/fs/cgroup/pids", e.st.nodeCgroup)
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && id != "" && d.Name() == id {
			procs, _ = os.ReadFile(filepath.Join(path, "cgroup.procs"))
			return filepath.SkipAll
		}
		return nil
	})
	pids := strings.Fields(string(procs))
	if len(pids) != 1 {
		e.t.Fatalf("container %q of pod %s: processes %v under %s, want the dumper alone", id, p.Name, pids, root)
	}
	pid, _ := strconv.Atoi(pids[0])
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/root/proc/1/status", pid))
	if err != nil || !regexp.MustCompile(`(?m)^Uid:\s+65532\s+65532\s+65532\s+65532$`).Match(status) {
		e.t.Fatalf("the dumper container's /proc/1/status (%v) does not show uid 65532:\n%s", err, status)
	}
	if mi, _ := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid)); !regexp.MustCompile(`(?m)^\S+ \S+ \S+ \S+ / (ro,|ro$|\S*,ro\b)`).Match(mi) {
		e.t.Fatalf("the dumper's root filesystem is not read-only:\n%s", mi)
	}
	return pid
}

// waitPod waits until pod satisfies ok.
func (e *env) waitPod(name string, timeout time.Duration, ok func(*corev1.Pod) bool) {
	e.t.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		p, err := e.kube.CoreV1().Pods(e.ns).Get(context.Background(), name, metav1.GetOptions{})
		if err == nil && ok(p) {
			return
		}
	}
	e.t.Fatalf("pod %s did not reach the expected state within %v", name, timeout)
}

// terminated is the dumper's final state in pod name.
func (e *env) terminated(name string) *corev1.ContainerStateTerminated {
	p, err := e.kube.CoreV1().Pods(e.ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return nil
	}
	for _, st := range p.Status.ContainerStatuses {
		if st.Name == "dumper" {
			return st.State.Terminated
		}
	}
	return nil
}
