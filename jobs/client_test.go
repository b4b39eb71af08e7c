package jobs

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	authorizationv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/backupctl/backupctl/contract"
)

func ns(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

func secret(namespace, name string, keys ...string) *corev1.Secret {
	data := map[string][]byte{}
	for _, k := range keys {
		data[k] = []byte("s3cr3t-value-" + k)
	}
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}, Data: data}
}

func sa(namespace, name string) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
}

func TestPreflight(t *testing.T) {
	all := SecretKeys
	tests := []struct {
		name    string
		objs    []runtime.Object
		spec    Spec
		forbid  string   // resource whose reads are forbidden
		rules   []string // resources the caller's rules in the namespace name (SelfSubjectRulesReview)
		wantErr string   // "" for none
	}{
		{name: "ready", objs: []runtime.Object{ns("backupctl"), secret("backupctl", "backupctl", all...), sa("backupctl", "backupctl-dumper")}},
		{name: "no namespace", spec: Spec{Namespace: "nope"},
			wantErr: `namespace "nope" does not exist: pass --namespace (BACKUP_NAMESPACE) for an installed one, or install it: cd deploy && kustomize edit set namespace nope && kubectl apply -k .`},
		{name: "namespace unreadable, Secret lookup still answers", forbid: "namespaces", rules: []string{"jobs", "pods"}, objs: []runtime.Object{ns("backupctl")},
			wantErr: `secret "backupctl" not found in namespace "backupctl"`},
		// Under deploy/'s Role a mistyped namespace is one where the caller has no rules: named
		// as missing, not as "permission denied".
		{name: "namespace unreadable, no rights in it", forbid: "namespaces", rules: []string{"selfsubjectrulesreviews"}, objs: []runtime.Object{ns("backupctl")},
			spec:    Spec{Namespace: "backupclt"},
			wantErr: `namespace "backupclt" does not exist, or you have no rights in it: pass --namespace`},
		{name: "no secret", objs: []runtime.Object{ns("backupctl")}, spec: Spec{Secret: "prod"},
			wantErr: `secret "prod" not found in namespace "backupctl": create it with keys BACKUP_DB_PASSWORD, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (see deploy/examples/secret.yaml) or pass --secret`},
		{name: "keys missing", objs: []runtime.Object{ns("backupctl"), secret("backupctl", "backupctl", "AWS_ACCESS_KEY_ID")},
			wantErr: `secret backupctl/backupctl lacks key(s) BACKUP_DB_PASSWORD, AWS_SECRET_ACCESS_KEY: add them`},
		// A user without read access to Secrets (deploy/'s Role) skips the key check, and the
		// checks after it still run.
		{name: "secret unreadable", forbid: "secrets", objs: []runtime.Object{ns("backupctl")},
			wantErr: `service account "backupctl-dumper" not found in namespace "backupctl"`},
		{name: "secret unreadable, rest fine", forbid: "secrets", objs: []runtime.Object{ns("backupctl"), sa("backupctl", "backupctl-dumper")}},
		{name: "no service account", objs: []runtime.Object{ns("backupctl"), secret("backupctl", "backupctl", all...)},
			wantErr: `service account "backupctl-dumper" not found in namespace "backupctl"`},
		{name: "CA bundle without its key",
			objs: []runtime.Object{ns("backupctl"), secret("backupctl", "backupctl", all...), sa("backupctl", "backupctl-dumper"),
				&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "backupctl", Name: "ca"}, Data: map[string]string{"other.crt": "x"}}},
			spec:    Spec{CABundle: &CABundle{ConfigMap: "ca"}},
			wantErr: `CA bundle configmap backupctl/ca has no key "ca.crt"`},
		{name: "CA bundle present",
			objs: []runtime.Object{ns("backupctl"), secret("backupctl", "backupctl", all...), sa("backupctl", "backupctl-dumper"),
				&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "backupctl", Name: "ca"}, Data: map[string]string{"ca.crt": "x"}}},
			spec: Spec{CABundle: &CABundle{ConfigMap: "ca"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := fake.NewClientset(tt.objs...)
			if tt.forbid != "" {
				cs.PrependReactor("get", tt.forbid, func(a k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: tt.forbid}, "x", errors.New("no"))
				})
			}
			cs.PrependReactor("create", "selfsubjectrulesreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
				rr := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectRulesReview).DeepCopy()
				rr.Status.ResourceRules = []authorizationv1.ResourceRule{{Verbs: []string{"get"}, Resources: tt.rules}}
				return true, rr, nil
			})
			c := &Client{Interface: cs}
			err := c.Preflight(context.Background(), tt.spec)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Preflight() = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Preflight() = %v\nwant it to contain %s", err, tt.wantErr)
			}
			var ue *contract.UsageError
			if !errors.As(err, &ue) {
				t.Errorf("Preflight() error %T is not a usage error", err)
			}
			if strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error is not one line, or shows a secret value: %q", err)
			}
		})
	}
}

func TestNewClientWithoutKubeconfig(t *testing.T) {
	t.Setenv("KUBECONFIG", "")
	t.Setenv("HOME", t.TempDir())
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	_, err := NewClient("", "")
	if err == nil || !strings.Contains(err.Error(), "set --kubeconfig or KUBECONFIG") {
		t.Fatalf("NewClient() = %v, want the no-kubeconfig advice", err)
	}
}

func TestApplyCronJob(t *testing.T) {
	ctx := context.Background()
	c := &Client{Interface: fake.NewClientset()}
	cj, err := CronJob(Spec{Args: testArgs}, CronSpec{})
	if err != nil {
		t.Fatal(err)
	}
	_, applied, err := c.ApplyCronJob(ctx, cj)
	if err != nil || applied != AppliedCreated {
		t.Fatalf("first apply: %v, %v", applied, err)
	}

	// Someone labels it by hand; then `schedule set` runs again with the same settings.
	cur, _ := c.BatchV1().CronJobs("backupctl").Get(ctx, "backupctl-nightly", metav1.GetOptions{})
	cur.Labels["owner"] = "dba"
	if _, err := c.BatchV1().CronJobs("backupctl").Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	again, _ := CronJob(Spec{Args: testArgs}, CronSpec{})
	got, applied, err := c.ApplyCronJob(ctx, again)
	if err != nil || applied == AppliedCreated {
		t.Fatalf("second apply: %v, %v", applied, err)
	}
	if d := cmp.Diff(cj.Spec, got.Spec); d != "" {
		t.Errorf("second apply changed the spec (-want +got):\n%s", d)
	}
	if got.Labels["owner"] != "dba" {
		t.Errorf("apply dropped a label set by someone else: %v", got.Labels)
	}

	// A new schedule updates the same object in place.
	changed, _ := CronJob(Spec{Args: testArgs}, CronSpec{Schedule: "30 3 * * *", TimeZone: "Europe/Berlin"})
	// (The fake store keeps resource versions still, so updated vs unchanged is proven only
	// against a real API server, in TestKubeTriggerCronJob.)
	if _, applied, err := c.ApplyCronJob(ctx, changed); err != nil || applied == AppliedCreated {
		t.Fatalf("third apply: %v, %v", applied, err)
	}
	list, _ := c.BatchV1().CronJobs("backupctl").List(ctx, metav1.ListOptions{})
	if len(list.Items) != 1 || list.Items[0].Spec.Schedule != "30 3 * * *" || *list.Items[0].Spec.TimeZone != "Europe/Berlin" {
		t.Fatalf("after update: %d CronJobs, %+v", len(list.Items), list.Items)
	}

	got, err = c.GetCronJob(ctx, "backupctl", "backupctl-nightly")
	if err != nil || got.Spec.Schedule != "30 3 * * *" {
		t.Fatalf("GetCronJob = %v, %v", got, err)
	}
	if err := c.DeleteCronJob(ctx, "backupctl", "backupctl-nightly"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetCronJob(ctx, "backupctl", "backupctl-nightly"); !apierrors.IsNotFound(err) {
		t.Fatalf("GetCronJob after delete = %v, want not found", err)
	}
	if err := c.DeleteCronJob(ctx, "backupctl", "backupctl-nightly"); !apierrors.IsNotFound(err) {
		t.Fatalf("second delete = %v, want not found", err)
	}
}

func TestTriggerCronJob(t *testing.T) {
	ctx := context.Background()
	cj, _ := CronJob(Spec{Args: testArgs}, CronSpec{})
	cj.UID = "uid-1"
	c := &Client{Interface: fake.NewClientset(cj)}
	job, err := c.TriggerCronJob(ctx, "backupctl", "backupctl-nightly", testNow, testSuffix)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := c.BatchV1().Jobs("backupctl").Get(ctx, "backupctl-nightly-manual-20261126-220405-x7k2q", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := JobFromCronJob(cj, testNow, testSuffix)
	want.ResourceVersion, want.ManagedFields = stored.ResourceVersion, stored.ManagedFields // set by the store
	if d := cmp.Diff(want, stored); d != "" {
		t.Errorf("stored Job (-want +got):\n%s", d)
	}
	if job.Name != stored.Name {
		t.Errorf("returned %q, stored %q", job.Name, stored.Name)
	}
	if _, err := c.TriggerCronJob(ctx, "backupctl", "missing", testNow, testSuffix); !apierrors.IsNotFound(err) {
		t.Errorf("trigger of a missing CronJob = %v", err)
	}
}

func TestRunWithoutWait(t *testing.T) {
	c := &Client{Interface: fake.NewClientset()}
	job := BackupJob(Spec{Args: testArgs}, testNow, testSuffix)
	o, err := c.Run(context.Background(), job, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(&Outcome{Namespace: "backupctl", JobName: job.Name}, o); d != "" {
		t.Errorf("outcome (-want +got):\n%s", d)
	}
	if _, err := c.Run(context.Background(), job, RunOptions{}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second Run = %v, want already exists", err)
	}
}

// watchSignal makes the fake announce each watch once it is registered, so a test changes
// objects only when Wait can see the change.
func watchSignal(cs *fake.Clientset) <-chan string {
	ch := make(chan string, 16)
	cs.PrependWatchReactor("*", func(a k8stesting.Action) (bool, watch.Interface, error) {
		w, err := cs.Tracker().Watch(a.GetResource(), a.GetNamespace(), a.(k8stesting.WatchActionImpl).ListOptions)
		ch <- a.GetResource().Resource
		return true, w, err
	})
	return ch
}

// startWait runs Wait on a fake cluster that holds job, and returns once Wait watches; the
// outcome arrives on the channel (nil if Wait failed, which fails the test).
func startWait(ctx context.Context, t *testing.T, job *batchv1.Job, opts RunOptions) (*fake.Clientset, <-chan *Outcome) {
	t.Helper()
	cs := fake.NewClientset(job)
	watches := watchSignal(cs)
	done := make(chan *Outcome, 1)
	go func() {
		o, err := (&Client{Interface: cs}).Wait(ctx, "backupctl", job.Name, opts)
		if err != nil {
			t.Error(err)
		}
		done <- o
	}()
	waitWatches(t, watches)
	return cs, done
}

func waitWatches(t *testing.T, ch <-chan string) {
	t.Helper()
	for range 2 {
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatal("Wait did not start watching")
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the log goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunFollowsToCompletion(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs := fake.NewClientset()
	watches := watchSignal(cs)
	c := &Client{Interface: cs}
	job := BackupJob(Spec{Args: testArgs}, testNow, testSuffix)

	var logs syncBuffer
	type result struct {
		o   *Outcome
		err error
	}
	done := make(chan result, 1)
	go func() {
		o, err := c.Run(ctx, job, RunOptions{Wait: true, Logs: &logs})
		done <- result{o, err}
	}()
	waitWatches(t, watches)

	// The Job controller's part: a pod runs, ends with the dumper's result, the Job completes.
	okMsg := `{"ok":true,"exit_code":0,"result":{"id":"x"}}`
	pod := podWith(0, running, corev1.PodRunning)
	if _, err := cs.CoreV1().Pods("backupctl").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod = podWith(0, terminated(0, okMsg), corev1.PodSucceeded)
	if _, err := cs.CoreV1().Pods("backupctl").UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	j := jobWith(batchv1.JobComplete, "CompletionsReached", 0)
	if _, err := cs.BatchV1().Jobs("backupctl").UpdateStatus(ctx, j, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	want := &Outcome{
		Namespace: "backupctl", JobName: testJob, Succeeded: true, Pod: testJob + "-a", Attempts: 1,
		TerminationMessage: okMsg, Result: &contract.JobResult{OK: true, Result: []byte(`{"id":"x"}`)},
		LastLogLines: []string{"fake logs"}, // what the fake serves as any pod's log
	}
	if d := cmp.Diff(want, r.o); d != "" {
		t.Errorf("outcome (-want +got):\n%s", d)
	}
	if got := logs.String(); got != "fake logs\n" {
		t.Errorf("streamed logs = %q", got)
	}
}

func TestWaitGivesUpOnAnImageThatCannotBePulled(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	job := BackupJob(Spec{Args: testArgs}, testNow, testSuffix)
	cs, done := startWait(ctx, t, job, RunOptions{})
	pod := podWith(0, waiting("ErrImagePull", "manifest unknown"), corev1.PodPending)
	if _, err := cs.CoreV1().Pods("backupctl").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	o := <-done
	if o == nil {
		t.FailNow()
	}
	wantReason := `image cannot be pulled: "ghcr.io/backupctl/dumper:v1" (ErrImagePull: manifest unknown); deleted Job ` + job.Name
	if o.Succeeded || o.Reason != wantReason {
		t.Errorf("outcome = %+v\nwant reason %s", o, wantReason)
	}
	if _, err := cs.BatchV1().Jobs("backupctl").Get(ctx, job.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the stuck Job was not deleted: %v", err)
	}
}

func TestWaitOnFinishedJobDoesNotWatch(t *testing.T) {
	job := jobWith(batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded, 1)
	pod := podWith(0, terminated(3, ""), corev1.PodFailed)
	cs := fake.NewClientset(job, pod)
	cs.PrependWatchReactor("*", func(k8stesting.Action) (bool, watch.Interface, error) {
		t.Error("Wait watched a Job that had already finished")
		return true, watch.NewFake(), nil
	})
	o, err := (&Client{Interface: cs}).Wait(context.Background(), "backupctl", testJob, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := &Outcome{
		Namespace: "backupctl", JobName: testJob, Pod: testJob + "-a", Attempts: 1, ExitCode: 3,
		Reason:       "backoff limit reached after 1 failed attempt(s): the dumper exited with code 3",
		LastLogLines: []string{"fake logs"},
	}
	if d := cmp.Diff(want, o); d != "" {
		t.Errorf("outcome (-want +got):\n%s", d)
	}
}

func TestWaitForMissingJob(t *testing.T) {
	_, err := (&Client{Interface: fake.NewClientset()}).Wait(context.Background(), "backupctl", "nope", RunOptions{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("Wait = %v, want not found", err)
	}
}

func TestWaitHonoursCancel(t *testing.T) {
	job := BackupJob(Spec{Args: testArgs}, testNow, testSuffix)
	cs := fake.NewClientset(job)
	watches := watchSignal(cs)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := (&Client{Interface: cs}).Wait(ctx, "backupctl", job.Name, RunOptions{})
		errc <- err
	}()
	waitWatches(t, watches)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait after cancel = %v", err)
	}
}

func TestWaitFollowsEachRetry(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	job := BackupJob(Spec{Args: testArgs}, testNow, testSuffix)
	var logs syncBuffer
	cs, done := startWait(ctx, t, job, RunOptions{Logs: &logs})
	pods := cs.CoreV1().Pods("backupctl")
	// The first attempt fails, the Job controller makes a second one, which succeeds.
	for _, p := range []*corev1.Pod{
		podWith(0, terminated(1, `{"ok":false,"exit_code":1,"error":"upload: connection reset"}`), corev1.PodFailed),
		podWith(1, terminated(0, `{"ok":true,"exit_code":0}`), corev1.PodSucceeded),
	} {
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	j := jobWith(batchv1.JobComplete, "CompletionsReached", 1)
	if _, err := cs.BatchV1().Jobs("backupctl").UpdateStatus(ctx, j, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	o := <-done
	if o == nil || !o.Succeeded || o.Attempts != 2 || o.Pod != testJob+"-b" {
		t.Fatalf("outcome = %+v", o)
	}
	want := "fake logs\n--- backupctl: following pod " + testJob + "-b (attempt 2) ---\nfake logs\n"
	if got := logs.String(); got != want {
		t.Errorf("streamed logs = %q, want %q", got, want)
	}
}
