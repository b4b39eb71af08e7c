package jobs

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/backupctl/backupctl/contract"
)

const testJob = "backupctl-backup-20261126-220405-x7k2q"

// jobWith is the test Job with a terminal condition (none when condType is "").
func jobWith(condType batchv1.JobConditionType, reason string, failed int32) *batchv1.Job {
	j := BackupJob(Spec{Args: testArgs}, testNow, testSuffix)
	j.Status.Failed = failed
	if condType != "" {
		j.Status.Conditions = []batchv1.JobCondition{{Type: condType, Status: corev1.ConditionTrue, Reason: reason, Message: "msg from the job controller"}}
	}
	return j
}

// podWith is pod n (its creation second orders the attempts) in the given dumper state.
func podWith(n int, state corev1.ContainerState, phase corev1.PodPhase) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: testJob + "-" + string(rune('a'+n)), Namespace: "backupctl",
			CreationTimestamp: metav1.NewTime(testNow.Add(time.Duration(n) * time.Minute)),
			Labels:            map[string]string{JobNameLabel: testJob},
		},
		Status: corev1.PodStatus{
			Phase: phase,
			ContainerStatuses: []corev1.ContainerStatus{{
				Name: "dumper", Image: "ghcr.io/backupctl/dumper:v1", State: state,
			}},
		},
	}
}

func terminated(code int32, msg string) corev1.ContainerState {
	reason := "Completed"
	if code != 0 {
		reason = "Error"
	}
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason, Message: msg}}
}

func waiting(reason, msg string) corev1.ContainerState {
	return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}
}

var running = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}

func resultJSON(t *testing.T, jr contract.JobResult) string {
	b, err := json.Marshal(jr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestTrackerOutcome(t *testing.T) {
	okMsg := `{"ok":true,"exit_code":0,"result":{"id":"20261126T220405Z"}}`
	denied := contract.JobResult{OK: false, ExitCode: 2, Error: "connect to MariaDB: Error 1045: Access denied for user 'backupctl'@'10.0.0.7'"}
	deniedMsg := resultJSON(t, denied)
	verified := Outcome{
		Namespace: "backupctl", JobName: testJob, Succeeded: true, Pod: testJob + "-a", Attempts: 1,
		TerminationMessage: okMsg,
		Result:             &contract.JobResult{OK: true, Result: json.RawMessage(`{"id":"20261126T220405Z"}`)},
	}
	// failed is the outcome of the Job's one pod that ended for reason; stuck, of one that cannot start.
	failed := func(reason string) Outcome {
		return Outcome{Namespace: "backupctl", JobName: testJob, Pod: testJob + "-a", Attempts: 1, Reason: reason}
	}
	stuck := func(reason string) Outcome {
		o := failed(reason)
		o.Stuck = true
		return o
	}

	tests := []struct {
		name string
		feed func(tr *tracker)
		want Outcome
		done bool
	}{
		{
			name: "verified backup",
			feed: func(tr *tracker) {
				tr.observePod(podWith(0, running, corev1.PodRunning))
				tr.observePod(podWith(0, terminated(0, okMsg), corev1.PodSucceeded))
				tr.observeJob(jobWith(batchv1.JobComplete, "CompletionsReached", 0))
			},
			done: true,
			want: verified,
		},
		{
			name: "completed without a result (not the dumper)",
			feed: func(tr *tracker) {
				tr.observePod(podWith(0, terminated(0, ""), corev1.PodSucceeded))
				tr.observeJob(jobWith(batchv1.JobComplete, "CompletionsReached", 0))
			},
			done: true,
			want: Outcome{Namespace: "backupctl", JobName: testJob, Succeeded: true, Pod: testJob + "-a", Attempts: 1},
		},
		{
			name: "wrong credentials: non-retryable exit code",
			feed: func(tr *tracker) {
				tr.observePod(podWith(0, terminated(2, deniedMsg), corev1.PodFailed))
				tr.observeJob(jobWith(batchv1.JobFailed, batchv1.JobReasonPodFailurePolicy, 1))
			},
			done: true,
			want: Outcome{
				Namespace: "backupctl", JobName: testJob, Pod: testJob + "-a", Attempts: 1,
				Reason:             "the dumper failed with an error that a retry cannot fix: " + denied.Error,
				TerminationMessage: deniedMsg, Result: &denied, ExitCode: 2,
			},
		},
		{
			name: "backoff limit: the last attempt's error counts",
			feed: func(tr *tracker) {
				tr.observePod(podWith(0, terminated(1, `{"ok":false,"exit_code":1,"error":"first"}`), corev1.PodFailed))
				tr.observePod(podWith(1, terminated(1, `{"ok":false,"exit_code":1,"error":"upload part 3: connection reset"}`), corev1.PodFailed))
				tr.observeJob(jobWith(batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded, 2))
			},
			done: true,
			want: Outcome{
				Namespace: "backupctl", JobName: testJob, Pod: testJob + "-b", Attempts: 2,
				Reason:             "backoff limit reached after 2 failed attempt(s): upload part 3: connection reset",
				TerminationMessage: `{"ok":false,"exit_code":1,"error":"upload part 3: connection reset"}`,
				Result:             &contract.JobResult{ExitCode: 1, Error: "upload part 3: connection reset"},
				ExitCode:           1,
			},
		},
		{
			name: "crash: the log tail stands in for the message",
			feed: func(tr *tracker) {
				tr.observePod(podWith(0, terminated(3, "hello\npanic: boom\n"), corev1.PodFailed))
				tr.observeJob(jobWith(batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded, 1))
			},
			done: true,
			want: Outcome{
				Namespace: "backupctl", JobName: testJob, Pod: testJob + "-a", Attempts: 1,
				Reason:             "backoff limit reached after 1 failed attempt(s): the dumper exited with code 3: panic: boom",
				TerminationMessage: "hello\npanic: boom\n", ExitCode: 3,
			},
		},
		{
			name: "out of memory",
			feed: func(tr *tracker) {
				p := podWith(0, terminated(137, ""), corev1.PodFailed)
				p.Status.ContainerStatuses[0].State.Terminated.Reason = "OOMKilled"
				tr.observePod(p)
				tr.observeJob(jobWith(batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded, 1))
			},
			done: true,
			want: Outcome{
				Namespace: "backupctl", JobName: testJob, Pod: testJob + "-a", Attempts: 1, ExitCode: 137,
				Reason: "backoff limit reached after 1 failed attempt(s): the dumper was killed for exceeding its memory limit; raise the limit",
			},
		},
		{
			name: "deadline exceeded",
			feed: func(tr *tracker) {
				tr.observePod(podWith(0, running, corev1.PodRunning))
				p := podWith(0, running, corev1.PodRunning)
				p.DeletionTimestamp = &metav1.Time{Time: testNow.Add(6 * time.Hour)}
				tr.observePod(p)
				tr.observeJob(jobWith(batchv1.JobFailed, batchv1.JobReasonDeadlineExceeded, 1))
			},
			done: true,
			want: failed("deadline exceeded: the Job ran longer than its active deadline (21600s); raise the deadline or find what slowed the dumper"),
		},
		{
			name: "image cannot be pulled",
			feed: func(tr *tracker) {
				tr.observeJob(jobWith("", "", 0))
				tr.observePod(podWith(0, waiting("ContainerCreating", ""), corev1.PodPending))
				tr.observePod(podWith(0, waiting("ImagePullBackOff", `Back-off pulling image "ghcr.io/backupctl/dumper:v1"`), corev1.PodPending))
			},
			done: true,
			want: stuck(`image cannot be pulled: "ghcr.io/backupctl/dumper:v1" (ImagePullBackOff: Back-off pulling image "ghcr.io/backupctl/dumper:v1")`),
		},
		{
			name: "secret key missing at start",
			feed: func(tr *tracker) {
				tr.observePod(podWith(0, waiting("CreateContainerConfigError", `couldn't find key AWS_ACCESS_KEY_ID in Secret backupctl/backupctl`), corev1.PodPending))
			},
			done: true,
			want: stuck(`container cannot be configured (check the Secret and its keys): "ghcr.io/backupctl/dumper:v1" (CreateContainerConfigError: couldn't find key AWS_ACCESS_KEY_ID in Secret backupctl/backupctl)`),
		},
		{
			name: "the kubelet's secret cache not synced yet: it retries, not stuck",
			feed: func(tr *tracker) {
				tr.observeJob(jobWith("", "", 0))
				tr.observePod(podWith(0, waiting("CreateContainerConfigError", `failed to sync secret cache: timed out waiting for the condition`), corev1.PodPending))
			},
			done: false,
			want: failed("the Job has not finished"),
		},
		{
			name: "pod deleted, then the retry budget is spent",
			feed: func(tr *tracker) {
				tr.observePod(podWith(0, running, corev1.PodRunning))
				tr.podGone(testJob + "-a")
				tr.observeJob(jobWith(batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded, 1))
			},
			done: true,
			want: failed("backoff limit reached after 1 failed attempt(s): pod " + testJob + "-a was deleted before it finished"),
		},
		{
			name: "pod deleted, the Job retries: not done",
			feed: func(tr *tracker) {
				tr.observeJob(jobWith("", "", 0))
				tr.observePod(podWith(0, running, corev1.PodRunning))
				tr.syncPods(nil)
			},
			done: false,
			want: failed("the Job has not finished"),
		},
		{
			name: "Job deleted",
			feed: func(tr *tracker) {
				tr.observePod(podWith(0, running, corev1.PodRunning))
				tr.podGone(testJob + "-a")
				tr.jobGone()
			},
			done: true,
			want: failed("the Job was deleted before it finished; pod " + testJob + "-a was deleted before it finished"),
		},
		{
			name: "finished pods disappearing is only cleanup",
			feed: func(tr *tracker) {
				tr.observePod(podWith(0, terminated(0, okMsg), corev1.PodSucceeded))
				tr.podGone(testJob + "-a")
				tr.observeJob(jobWith(batchv1.JobComplete, "CompletionsReached", 0))
			},
			done: true,
			want: verified,
		},
		{
			name: "evicted",
			feed: func(tr *tracker) {
				p := podWith(0, terminated(143, ""), corev1.PodFailed)
				p.Status.Conditions = []corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "EvictionByEvictionAPI", Message: "Eviction API: evicting"}}
				tr.observePod(p)
				tr.observeJob(jobWith(batchv1.JobFailed, "SomethingNew", 1))
			},
			done: true,
			want: Outcome{
				Namespace: "backupctl", JobName: testJob, Pod: testJob + "-a", Attempts: 1, ExitCode: 143,
				Reason: "the Job failed (SomethingNew: msg from the job controller): pod " + testJob + "-a was disrupted (EvictionByEvictionAPI: Eviction API: evicting)",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTracker("backupctl", testJob)
			tt.feed(tr)
			if tr.done() != tt.done {
				t.Errorf("done() = %v, want %v", tr.done(), tt.done)
			}
			got := tr.outcome()
			if d := cmp.Diff(&tt.want, got); d != "" {
				t.Errorf("outcome (-want +got):\n%s", d)
			}
			if strings.Contains(got.Reason, "\n") {
				t.Errorf("Reason is not one line: %q", got.Reason)
			}
		})
	}
}

func TestOneLine(t *testing.T) {
	if got := oneLine("a\n  b\tc"); got != "a b c" {
		t.Errorf("oneLine = %q", got)
	}
	if got := oneLine(strings.Repeat("x", 1000)); len(got) != 403 {
		t.Errorf("oneLine kept %d chars", len(got))
	}
}
