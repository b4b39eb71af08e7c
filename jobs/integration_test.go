package jobs

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/backupctl/backupctl/internal/testenv"
)

// These tests run real Jobs on the local cluster from `make up`: its kubelet and containerd run
// the image BACKUP_K8S_TEST_IMAGE (a static busybox, entrypoint /bin/sh) in real containers.
// Without it they fail (skip only under -short): in CI a missing service is a failure.

// kubeTest returns a client and a fresh namespace holding the Secret and ServiceAccount a Job
// of ours needs; the namespace is deleted afterwards.
func kubeTest(t *testing.T) (*Client, string) {
	t.Helper()
	testenv.SkipShort(t, "the local Kubernetes control plane")
	testenv.Get(t, "KUBECONFIG")
	c, err := NewClient("", "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.CoreV1().Namespaces().List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
		t.Fatalf("the API server does not answer (%v): %s", err, testenv.Hint)
	}
	ns := "backupctl-it-" + testenv.RandomHex(5)
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
	})
	sec := secret(ns, DefaultSecret, SecretKeys...)
	if _, err := c.CoreV1().Secrets(ns).Create(ctx, sec, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dumperSA := sa(ns, DefaultServiceAccount)
	dumperSA.AutomountServiceAccountToken = ptr.To(false)
	if _, err := c.CoreV1().ServiceAccounts(ns).Create(ctx, dumperSA, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return c, ns
}

func shellSpec(t *testing.T, ns, script string) Spec {
	t.Helper()
	return Spec{Namespace: ns, Image: testenv.Get(t, "BACKUP_K8S_TEST_IMAGE"), Args: []string{"-c", script}}
}

func runShell(t *testing.T, c *Client, s Spec) (*Outcome, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := c.Preflight(ctx, s); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	o, err := c.Run(ctx, BackupJob(s, time.Now(), NameSuffix()), RunOptions{Wait: true, Logs: &logs})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("outcome: %+v\nlogs:\n%s", *o, logs.String())
	return o, logs.String()
}

func TestKubeJobSucceeds(t *testing.T) {
	c, ns := kubeTest(t)
	o, logs := runShell(t, c, shellSpec(t, ns, "echo hello; exit 0"))
	if !o.Succeeded || o.Reason != "" || o.ExitCode != 0 || o.Attempts != 1 {
		t.Errorf("outcome = %+v, want success", *o)
	}
	if !strings.Contains(logs, "hello") || !slicesContain(o.LastLogLines, "hello") {
		t.Errorf("log not captured: streamed %q, last lines %q", logs, o.LastLogLines)
	}
}

func TestKubeJobFails(t *testing.T) {
	c, ns := kubeTest(t)
	s := shellSpec(t, ns, "echo about to fail; exit 3")
	s.BackoffLimit = ptr.To[int32](0)
	o, _ := runShell(t, c, s)
	want := "backoff limit reached after 1 failed attempt(s): the dumper exited with code 3"
	if o.Succeeded || o.ExitCode != 3 || !strings.HasPrefix(o.Reason, want) {
		t.Errorf("outcome = %+v\nwant a failure starting %q", *o, want)
	}
	if !slicesContain(o.LastLogLines, "about to fail") {
		t.Errorf("last lines = %q", o.LastLogLines)
	}
}

func TestKubeJobReportsResult(t *testing.T) {
	c, ns := kubeTest(t)
	// What the dumper does: its JSON result goes to the termination log.
	s := shellSpec(t, ns, `echo '{"ok":false,"exit_code":2,"error":"connect to MariaDB: Access denied"}' > /dev/termination-log; exit 2`)
	o, _ := runShell(t, c, s)
	want := "the dumper failed with an error that a retry cannot fix: connect to MariaDB: Access denied"
	if o.Succeeded || o.Reason != want || o.Result == nil || o.Result.Error != "connect to MariaDB: Access denied" || o.Attempts != 1 {
		t.Errorf("outcome = %+v\nwant reason %q and no retry", *o, want)
	}
}

func TestKubeTriggerCronJob(t *testing.T) {
	c, ns := kubeTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cj, err := CronJob(shellSpec(t, ns, "echo from the schedule"), CronSpec{Suspend: true})
	if err != nil {
		t.Fatal(err)
	}
	// `schedule set` twice with the same settings, then with a new schedule.
	for i, want := range []Applied{AppliedCreated, AppliedUnchanged, AppliedUnchanged} {
		if _, applied, err := c.ApplyCronJob(ctx, cj); err != nil || applied != want {
			t.Fatalf("apply %d: %v, %v; want %v", i, applied, err, want)
		}
	}
	cj.Spec.Schedule = "30 3 * * *"
	if _, applied, err := c.ApplyCronJob(ctx, cj); err != nil || applied != AppliedUpdated {
		t.Fatalf("apply with a new schedule: %v, %v", applied, err)
	}
	job, err := c.TriggerCronJob(ctx, ns, cj.Name, time.Now(), NameSuffix())
	if err != nil {
		t.Fatal(err)
	}
	o, err := c.Wait(ctx, ns, job.Name, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !o.Succeeded || !slicesContain(o.LastLogLines, "from the schedule") {
		t.Errorf("outcome = %+v", *o)
	}
	if err := c.DeleteCronJob(ctx, ns, cj.Name); err != nil {
		t.Fatal(err)
	}
}

func slicesContain(lines []string, s string) bool {
	for _, l := range lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

func TestKubeDeadlineExceeded(t *testing.T) {
	c, ns := kubeTest(t)
	s := shellSpec(t, ns, "echo started; sleep 60")
	s.ActiveDeadlineSeconds = ptr.To[int64](3)
	o, _ := runShell(t, c, s)
	if o.Succeeded || !strings.HasPrefix(o.Reason, "deadline exceeded: the Job ran longer than its active deadline (3s)") {
		t.Errorf("outcome = %+v", *o)
	}
}

func TestKubeImageCannotBePulled(t *testing.T) {
	c, ns := kubeTest(t)
	s := shellSpec(t, ns, "true")
	// A registry on loopback where nothing listens: the pull fails for real, on this machine.
	s.Image = testenv.Get(t, "BACKUP_K8S_MISSING_IMAGE")
	o, _ := runShell(t, c, s)
	if o.Succeeded || !strings.Contains(o.Reason, `"`+s.Image+`"`) || !strings.HasSuffix(o.Reason, "; deleted Job "+o.JobName) {
		t.Errorf("outcome = %+v", *o)
	}
}

// TestKubeSecretKeyMissing: the Secret lost a key the Job's env names after the CLI checked it.
// The kubelet cannot configure the container (CreateContainerConfigError, naming the key); Wait
// gives up, deletes the Job and says why.
func TestKubeSecretKeyMissing(t *testing.T) {
	c, ns := kubeTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := shellSpec(t, ns, "true")
	if err := c.Preflight(ctx, s); err != nil {
		t.Fatal(err)
	}
	gone := SecretKeys[0]
	if _, err := c.CoreV1().Secrets(ns).Update(ctx, secret(ns, DefaultSecret, SecretKeys[1:]...), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	o, err := c.Run(ctx, BackupJob(s, time.Now(), NameSuffix()), RunOptions{Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	if o.Succeeded || !o.Stuck || !strings.Contains(o.Reason, "(CreateContainerConfigError: ") ||
		!strings.Contains(o.Reason, gone) || !strings.HasSuffix(o.Reason, "; deleted Job "+o.JobName) {
		t.Errorf("outcome = %+v", *o)
	}
}

// TestKubeContainerLockedDown: the Job's container really runs as 65532 (its pid 1's
// /proc/1/status), cannot write its root filesystem, and writes /tmp (the emptyDir).
func TestKubeContainerLockedDown(t *testing.T) {
	c, ns := kubeTest(t)
	o, logs := runShell(t, c, shellSpec(t, ns, `grep '^Uid:' /proc/1/status; id -u; id -g
touch /probe 2>&1 || echo "root fs: refused"
echo ok > /tmp/probe && echo "tmp: $(cat /tmp/probe)"`))
	if !o.Succeeded {
		t.Fatalf("outcome = %+v", *o)
	}
	for _, want := range []string{"Uid:\t65532\t65532\t65532\t65532\n65532\n65532\n", "Read-only file system\nroot fs: refused\n", "tmp: ok\n"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}

func TestKubePodDeleted(t *testing.T) {
	c, ns := kubeTest(t)
	s := shellSpec(t, ns, "echo started; sleep 60")
	s.BackoffLimit = ptr.To[int32](0)
	go func() {
		// Delete the pod once it runs, as a careless operator or a node drain would.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for ctx.Err() == nil {
			pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if err == nil && len(pods.Items) > 0 && pods.Items[0].Status.Phase == corev1.PodRunning {
				_ = c.CoreV1().Pods(ns).Delete(ctx, pods.Items[0].Name, metav1.DeleteOptions{})
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	o, _ := runShell(t, c, s)
	if o.Succeeded || !strings.Contains(o.Reason, "was deleted before it finished") {
		t.Errorf("outcome = %+v", *o)
	}
}

// TestKubeDeployRBACSuffices applies deploy/'s ServiceAccount and Role, then runs a backup Job
// and the schedule commands as a member of the Role's group: least privilege, proven.
func TestKubeDeployRBACSuffices(t *testing.T) {
	admin, ns := kubeTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// kubeTest made a ServiceAccount already; deploy/'s replaces it.
	if err := admin.CoreV1().ServiceAccounts(ns).Delete(ctx, DefaultServiceAccount, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	var group string
	for _, file := range []string{"../deploy/10-serviceaccount.yaml", "../deploy/20-rbac.yaml"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range strings.Split(string(b), "\n---\n") {
			obj, _, err := scheme.Codecs.UniversalDeserializer().Decode([]byte(doc), nil, nil)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			switch o := obj.(type) {
			case *corev1.ServiceAccount:
				o.Namespace = ns
				_, err = admin.CoreV1().ServiceAccounts(ns).Create(ctx, o, metav1.CreateOptions{})
			case *rbacv1.Role:
				o.Namespace = ns
				_, err = admin.RbacV1().Roles(ns).Create(ctx, o, metav1.CreateOptions{})
			case *rbacv1.RoleBinding:
				o.Namespace = ns
				group = o.Subjects[0].Name
				_, err = admin.RbacV1().RoleBindings(ns).Create(ctx, o, metav1.CreateOptions{})
			default:
				t.Fatalf("%s: unexpected %T", file, obj)
			}
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
		}
	}

	cfg, _, err := loadConfig("", "")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "operator@example.com", Groups: []string{group, "system:authenticated"}}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	op := &Client{Interface: cs}

	// The Role grants no read of the namespace itself: Preflight must cope with that.
	s := shellSpec(t, ns, "echo as an operator")
	if err := op.Preflight(ctx, s); err != nil {
		t.Fatal(err)
	}
	// The Role grants no read of Secrets (a read returns the values): Preflight skips the key check.
	if _, err := cs.CoreV1().Secrets(ns).Get(ctx, s.Secret, metav1.GetOptions{}); err == nil {
		t.Errorf("the operator Role can read Secret %s: it must not see the password", s.Secret)
	}
	o, err := op.Run(ctx, BackupJob(s, time.Now(), NameSuffix()), RunOptions{Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	if !o.Succeeded || !slicesContain(o.LastLogLines, "as an operator") {
		t.Errorf("outcome = %+v", *o)
	}
	cj, err := CronJob(s, CronSpec{Suspend: true})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, _, err := op.ApplyCronJob(ctx, cj); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := op.GetCronJob(ctx, ns, cj.Name); err != nil {
		t.Fatal(err)
	}
	job, err := op.TriggerCronJob(ctx, ns, cj.Name, time.Now(), NameSuffix())
	if err != nil {
		t.Fatal(err)
	}
	if o, err := op.Wait(ctx, ns, job.Name, RunOptions{}); err != nil || !o.Succeeded {
		t.Errorf("triggered run: %+v, %v", o, err)
	}
	if err := op.DeleteCronJob(ctx, ns, cj.Name); err != nil {
		t.Fatal(err)
	}
}

func TestKubeJobRetriedOnce(t *testing.T) {
	c, ns := kubeTest(t)
	// Default backoff limit: one retry, after the Job controller's 10 s back-off.
	o, logs := runShell(t, c, shellSpec(t, ns, "echo attempt on $HOSTNAME; exit 1"))
	want := "backoff limit reached after 2 failed attempt(s): the dumper exited with code 1: attempt on " + o.Pod
	if o.Succeeded || o.Attempts != 2 || o.Reason != want {
		t.Errorf("outcome = %+v\nwant reason %q", *o, want)
	}
	if strings.Count(logs, "attempt on ") != 2 || !strings.Contains(logs, "(attempt 2) ---") {
		t.Errorf("both attempts' logs were not streamed: %q", logs)
	}
}
