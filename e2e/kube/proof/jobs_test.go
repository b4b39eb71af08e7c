package proof

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// A one-shot Job completes 1/1, its logs are readable with `kubectl logs
// job/NAME`, the termination message reaches the status, and
// ttlSecondsAfterFinished removes the Job afterwards.
func TestJobCompletesWithLogsAndTTL(t *testing.T) {
	c, ns, ctx := setup(t)

	job := shellJob("oneshot", `echo "hello from the job"; echo to-stderr >&2; printf '{"ok":true}' > /dev/termination-log`)
	job.Spec.TTLSecondsAfterFinished = ptr.To[int32](15)
	if _, err := c.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	j, _ := jobCondition(t, c, ns, "oneshot", batchv1.JobComplete, 90*time.Second)
	if j.Status.Succeeded != 1 {
		t.Fatalf("succeeded = %d, want 1", j.Status.Succeeded)
	}
	out, err := kubectl(t, "-n", ns, "get", "job", "oneshot", "-o", "jsonpath={.status.succeeded}/{.spec.completions}")
	if err != nil || out != "1/1" {
		t.Fatalf("kubectl get job: %q, %v; want 1/1", out, err)
	}
	logs, err := kubectl(t, "-n", ns, "logs", "job/oneshot")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs, "hello from the job\n") || !strings.Contains(logs, "to-stderr\n") {
		t.Fatalf("kubectl logs job/oneshot = %q", logs)
	}
	t.Logf("kubectl logs job/oneshot:\n%s", logs)

	pods := jobPods(t, c, ns, "oneshot")
	if len(pods) != 1 {
		t.Fatalf("%d pods, want 1", len(pods))
	}
	p := pods[0]
	if p.Status.Phase != v1.PodSucceeded {
		t.Fatalf("pod phase %s", p.Status.Phase)
	}
	term := p.Status.ContainerStatuses[0].State.Terminated
	if term == nil || term.ExitCode != 0 || term.Reason != "Completed" || term.Message != `{"ok":true}` {
		t.Fatalf("terminated state = %+v", term)
	}
	if term.StartedAt.IsZero() || term.FinishedAt.Before(&term.StartedAt) || p.Status.StartTime == nil {
		t.Fatalf("times: start %v finish %v pod start %v", term.StartedAt, term.FinishedAt, p.Status.StartTime)
	}

	eventually(t, 90*time.Second, "ttlSecondsAfterFinished to delete the job", func() (bool, error) {
		_, err := c.BatchV1().Jobs(ns).Get(ctx, "oneshot", metav1.GetOptions{})
		return isNotFound(err), nil
	})
	eventually(t, 60*time.Second, "the job's pod to be garbage-collected", func() (bool, error) {
		return len(jobPods(t, c, ns, "oneshot")) == 0, nil
	})
}

// client-go GetLogs with Follow streams a running container's output as it
// is written and ends when the container ends.
func TestLogsFollow(t *testing.T) {
	c, ns, ctx := setup(t)

	job := shellJob("follow", `for i in 1 2 3 4 5; do echo "line $i"; sleep 1; done`)
	if _, err := c.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var pod v1.Pod
	eventually(t, 60*time.Second, "the pod to run", func() (bool, error) {
		pods := jobPods(t, c, ns, "follow")
		if len(pods) == 1 && pods[0].Status.Phase == v1.PodRunning {
			pod = pods[0]
			return true, nil
		}
		return false, nil
	})
	sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	stream, err := c.CoreV1().Pods(ns).GetLogs(pod.Name, &v1.PodLogOptions{Follow: true}).Stream(sctx)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	data, err := io.ReadAll(stream)
	stream.Close()
	if err != nil {
		t.Fatalf("reading the followed log: %v", err)
	}
	want := "line 1\nline 2\nline 3\nline 4\nline 5\n"
	if string(data) != want {
		t.Fatalf("followed log = %q, want %q", data, want)
	}
	// Following must have waited for lines still to come, not returned early.
	if time.Since(start) < 2*time.Second {
		t.Fatalf("follow returned after %s; it should wait for the container", time.Since(start))
	}
	jobCondition(t, c, ns, "follow", batchv1.JobComplete, 60*time.Second)

	// tailLines, timestamps and limitBytes, through kubectl.
	out, err := kubectl(t, "-n", ns, "logs", "job/follow", "--tail=2")
	if err != nil || out != "line 4\nline 5\n" {
		t.Fatalf("--tail=2: %q, %v", out, err)
	}
	out, err = kubectl(t, "-n", ns, "logs", "job/follow", "--tail=1", "--timestamps")
	if err != nil || !strings.HasSuffix(out, "Z line 5\n") {
		t.Fatalf("--timestamps: %q, %v", out, err)
	}
	out, err = kubectl(t, "-n", ns, "logs", "job/follow", "--limit-bytes=4")
	if err != nil || out != "line" {
		t.Fatalf("--limit-bytes: %q, %v", out, err)
	}
}

// A failing container fails the Job after backoffLimit retries; the exit code
// and, with FallbackToLogsOnError, the log tail reach the pod status.
func TestJobBackoffLimit(t *testing.T) {
	c, ns, ctx := setup(t)

	job := shellJob("failing", `echo "about to fail"; exit 3`)
	job.Spec.BackoffLimit = ptr.To[int32](1)
	job.Spec.Template.Spec.Containers[0].TerminationMessagePolicy = v1.TerminationMessageFallbackToLogsOnError
	if _, err := c.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	j, cond := jobCondition(t, c, ns, "failing", batchv1.JobFailed, 120*time.Second)
	if cond.Reason != "BackoffLimitExceeded" {
		t.Fatalf("failed reason %q (%s)", cond.Reason, cond.Message)
	}
	if j.Status.Failed != 2 {
		t.Fatalf("failed pods = %d, want 2 (1 try + 1 retry)", j.Status.Failed)
	}
	pods := jobPods(t, c, ns, "failing")
	if len(pods) != 2 {
		t.Fatalf("%d pods, want 2", len(pods))
	}
	for _, p := range pods {
		term := p.Status.ContainerStatuses[0].State.Terminated
		if p.Status.Phase != v1.PodFailed || term == nil || term.ExitCode != 3 || term.Reason != "Error" {
			t.Fatalf("pod %s: phase %s, terminated %+v", p.Name, p.Status.Phase, term)
		}
		// The kubelet's fallback is the log's tail as written, newline included.
		if term.Message != "about to fail\n" {
			t.Fatalf("FallbackToLogsOnError message = %q", term.Message)
		}
	}
}

// activeDeadlineSeconds: the Job controller deletes the running pod, the
// agent sends SIGTERM and, since the process ignores it, SIGKILL after the
// grace period; the Job reports DeadlineExceeded.
func TestJobActiveDeadline(t *testing.T) {
	c, ns, ctx := setup(t)

	job := shellJob("deadline", `trap '' TERM; echo started; sleep 600`)
	job.Spec.ActiveDeadlineSeconds = ptr.To[int64](5)
	job.Spec.Template.Spec.TerminationGracePeriodSeconds = ptr.To[int64](2)
	if _, err := c.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, cond := jobCondition(t, c, ns, "deadline", batchv1.JobFailed, 90*time.Second)
	if cond.Reason != batchv1.JobReasonDeadlineExceeded {
		t.Fatalf("failed reason %q (%s)", cond.Reason, cond.Message)
	}
	eventually(t, 60*time.Second, "the killed pod to be removed", func() (bool, error) {
		return len(jobPods(t, c, ns, "deadline")) == 0, nil
	})
	t.Logf("deadline reached and pod removed after %s", time.Since(start).Round(time.Second))
}

// A CronJob on */1 * * * * creates a Job within about a minute.
func TestCronJobCreatesJob(t *testing.T) {
	c, ns, ctx := setup(t)

	cj := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "every-minute"},
		Spec: batchv1.CronJobSpec{
			Schedule:          "*/1 * * * *",
			ConcurrencyPolicy: batchv1.ForbidConcurrent,
			JobTemplate:       batchv1.JobTemplateSpec{Spec: shellJob("", `echo tick`).Spec},
		},
	}
	if _, err := c.BatchV1().CronJobs(ns).Create(ctx, cj, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var jobName string
	eventually(t, 150*time.Second, "the CronJob to create a Job", func() (bool, error) {
		jobs, err := c.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, j := range jobs.Items {
			for _, o := range j.OwnerReferences {
				if o.Kind == "CronJob" && o.Name == "every-minute" {
					jobName = j.Name
					return true, nil
				}
			}
		}
		return false, nil
	})
	jobCondition(t, c, ns, jobName, batchv1.JobComplete, 60*time.Second)
	// Suspend it so it does not keep creating Jobs while the namespace goes.
	_, _ = c.BatchV1().CronJobs(ns).Patch(ctx, "every-minute", "application/merge-patch+json", []byte(`{"spec":{"suspend":true}}`), metav1.PatchOptions{})
}

// An image that is not on the node is pulled from its registry; where nothing
// listens (a loopback address) the pull fails for real: the container waits
// with ErrImagePull, then ImagePullBackOff, and the pod stays Pending.
func TestMissingImageCannotBePulled(t *testing.T) {
	c, ns, ctx := setup(t)

	image := missingImage()
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "nope"},
		Spec: v1.PodSpec{
			RestartPolicy: v1.RestartPolicyNever,
			Containers:    []v1.Container{{Name: "main", Image: image, ImagePullPolicy: v1.PullIfNotPresent}},
		},
	}
	if _, err := c.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	eventually(t, 90*time.Second, "ErrImagePull and then ImagePullBackOff", func() (bool, error) {
		p, err := c.CoreV1().Pods(ns).Get(ctx, "nope", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if p.Status.Phase != v1.PodPending {
			t.Fatalf("pod phase %s, want Pending while the image cannot be pulled", p.Status.Phase)
		}
		if len(p.Status.ContainerStatuses) == 1 {
			if w := p.Status.ContainerStatuses[0].State.Waiting; w != nil {
				seen[w.Reason] = true
				if w.Reason == "ErrImagePull" && !strings.Contains(w.Message, image) {
					t.Fatalf("ErrImagePull message %q does not name %s", w.Message, image)
				}
			}
		}
		return seen["ErrImagePull"] && seen["ImagePullBackOff"], nil
	})
	ev, err := kubectl(t, "-n", ns, "get", "events", "--field-selector", "involvedObject.name=nope,reason=Failed", "-o", "jsonpath={.items[*].message}")
	if err != nil || !strings.Contains(ev, "Failed to pull image \""+image+"\"") {
		t.Fatalf("no Failed event for the pull of %s: %q, %v", image, ev, err)
	}
}

// Deleting a running pod sends SIGTERM to its process, which may clean up
// within the grace period; the kubelet then removes the pod object.
func TestPodDeletionSendsSIGTERM(t *testing.T) {
	c, ns, ctx := setup(t)
	out := t.TempDir()

	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "graceful"},
		Spec: v1.PodSpec{
			RestartPolicy:                 v1.RestartPolicyNever,
			TerminationGracePeriodSeconds: ptr.To[int64](10),
			Containers: []v1.Container{{
				Name: "main", Image: testImage(),
				Command:      []string{"sh", "-c", `trap 'echo got-term > /out/term; exit 0' TERM; echo ready > /out/ready; while true; do sleep 0.2; done`},
				VolumeMounts: []v1.VolumeMount{{Name: "out", MountPath: "/out"}},
			}},
			Volumes: []v1.Volume{{Name: "out", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: out}}}},
		},
	}
	if _, err := c.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "the process to start", func() (bool, error) {
		_, err := os.Stat(filepath.Join(out, "ready"))
		return err == nil, nil
	})
	if err := c.CoreV1().Pods(ns).Delete(ctx, "graceful", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	eventually(t, 30*time.Second, "the pod object to go", func() (bool, error) {
		_, err := c.CoreV1().Pods(ns).Get(ctx, "graceful", metav1.GetOptions{})
		return isNotFound(err), nil
	})
	if b, err := os.ReadFile(filepath.Join(out, "term")); err != nil || string(b) != "got-term\n" {
		t.Fatalf("the process did not see SIGTERM: %q, %v", b, err)
	}
	if d := time.Since(start); d > 8*time.Second {
		t.Fatalf("deletion took %s although the process exited on SIGTERM", d)
	}
}
