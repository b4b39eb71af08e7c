package jobs

import (
	"fmt"
	"sort"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/backupctl/backupctl/contract"
)

// Outcome is how a Job ended, as Wait saw it.
type Outcome struct {
	Namespace string
	JobName   string
	// Succeeded: the Job completed and the dumper, if it reported, reported success. A caller
	// that needs proof of a verified backup also checks Result.
	Succeeded bool
	// Reason says in one line why the Job did not succeed ("" when it did).
	Reason string
	// Pod is the last pod that ran the dumper, Attempts how many pods the Job made.
	Pod      string
	Attempts int
	// TerminationMessage is the dumper container's raw termination message; Result is that
	// message parsed, nil when it is not the dumper's JSON (e.g. log lines after a crash).
	TerminationMessage string
	Result             *contract.JobResult
	ExitCode           int32
	// LastLogLines are the last lines the last pod logged.
	LastLogLines []string
	// Stuck: the pod could never start (image, Secret): bad configuration, and the Job was deleted.
	Stuck bool
}

// Code is the exit code of whoever followed the Job: 0 for a reported success, the dumper's own
// code for its failure, ExitUsage for a pod that could never start (a retry fails the same way),
// else ExitFailed. A dumper stopped by a signal only knows it was interrupted: the Job failed.
func (o *Outcome) Code() int {
	r := o.Result
	switch {
	case o.Succeeded && r != nil && r.OK:
		return contract.ExitOK
	case r != nil && !r.OK && r.ExitCode != 0 && !(r.ExitCode == contract.ExitInterrupted && o.Reason != ""):
		return r.ExitCode
	case o.Stuck:
		return contract.ExitUsage
	}
	return contract.ExitFailed
}

// Reasons a container cannot start that no wait will fix: Wait gives up on them.
var stuckReasons = map[string]string{
	"ErrImagePull":               "image cannot be pulled",
	"ImagePullBackOff":           "image cannot be pulled",
	"InvalidImageName":           "image name is invalid",
	"CreateContainerConfigError": "container cannot be configured (check the Secret and its keys)",
}

// kubeletRetries says whether a stuck reason's message is about the kubelet itself, which tries
// again (its watch of Secrets and ConfigMaps not synced yet on a busy node: "failed to sync
// secret cache: timed out waiting for the condition"), rather than about the pod's spec.
func kubeletRetries(msg string) bool {
	return strings.HasPrefix(msg, "failed to sync secret cache") || strings.HasPrefix(msg, "failed to sync configmap cache")
}

// tracker folds what the API reports about a Job and its pods into an Outcome. It does no I/O,
// so every classification is tested without a cluster.
type tracker struct {
	namespace, name string
	job             *batchv1.Job
	jobDeleted      bool
	pods            map[string]*corev1.Pod
	// deleted holds pods removed (or being removed) before their dumper finished.
	deleted map[string]bool
	// stuck, when set, is why the pod cannot start: Wait deletes the Job and reports it.
	stuck string
}

func newTracker(namespace, name string) *tracker {
	return &tracker{namespace: namespace, name: name, pods: map[string]*corev1.Pod{}, deleted: map[string]bool{}}
}

func (t *tracker) observeJob(j *batchv1.Job) { t.job = j }

func (t *tracker) jobGone() { t.jobDeleted = true }

// observePod records a pod's state and notices a pod that can never start.
func (t *tracker) observePod(p *corev1.Pod) {
	t.pods[p.Name] = p
	if p.DeletionTimestamp != nil && !dumperFinished(p) {
		t.deleted[p.Name] = true
	}
	if t.stuck != "" || t.finished() {
		return
	}
	for _, st := range allStatuses(p) {
		w := st.State.Waiting
		if w == nil {
			continue
		}
		if what, ok := stuckReasons[w.Reason]; ok && !kubeletRetries(w.Message) {
			t.stuck = oneLine(fmt.Sprintf("%s: %q (%s: %s)", what, st.Image, w.Reason, w.Message))
			return
		}
	}
}

// podGone records a pod that disappeared; if its dumper had not finished, that is the news.
func (t *tracker) podGone(name string) {
	if p, ok := t.pods[name]; ok && !dumperFinished(p) {
		t.deleted[name] = true
	}
}

// syncPods replaces the known pods by a fresh list; a known pod missing from it is gone.
func (t *tracker) syncPods(pods []corev1.Pod) {
	seen := map[string]bool{}
	for i := range pods {
		seen[pods[i].Name] = true
		t.observePod(&pods[i])
	}
	for name := range t.pods {
		if !seen[name] {
			t.podGone(name)
		}
	}
}

// finished reports whether the Job reached Complete or Failed.
func (t *tracker) finished() bool {
	c := t.terminalCondition()
	return c != nil
}

// done reports whether there is nothing left to wait for.
func (t *tracker) done() bool { return t.finished() || t.jobDeleted || t.stuck != "" }

func (t *tracker) terminalCondition() *batchv1.JobCondition {
	if t.job == nil {
		return nil
	}
	for i, c := range t.job.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return &t.job.Status.Conditions[i]
		}
	}
	return nil
}

// lastPod is the newest pod: the one whose result counts.
func (t *tracker) lastPod() *corev1.Pod {
	pods := make([]*corev1.Pod, 0, len(t.pods))
	for _, p := range t.pods {
		pods = append(pods, p)
	}
	if len(pods) == 0 {
		return nil
	}
	sort.Slice(pods, func(i, j int) bool {
		a, b := pods[i].CreationTimestamp, pods[j].CreationTimestamp
		if !a.Equal(&b) {
			return a.Before(&b)
		}
		return pods[i].Name < pods[j].Name
	})
	return pods[len(pods)-1]
}

// outcome classifies what was seen into one Outcome.
func (t *tracker) outcome() *Outcome {
	o := &Outcome{Namespace: t.namespace, JobName: t.name, Attempts: len(t.pods)}
	last := t.lastPod()
	if last != nil {
		o.Pod = last.Name
		if term := dumperTerminated(last); term != nil {
			o.ExitCode = term.ExitCode
			o.TerminationMessage = term.Message
			if strings.HasPrefix(strings.TrimSpace(term.Message), "{") {
				if jr, err := contract.ParseJobResult(term.Message); err == nil {
					o.Result = jr
				}
			}
		}
	}
	cond := t.terminalCondition()
	switch {
	case cond != nil && cond.Type == batchv1.JobComplete:
		o.Succeeded = o.Result == nil || o.Result.OK
		if !o.Succeeded {
			o.Reason = oneLine("the dumper reported a failure: " + o.Result.Error)
		}
	case cond != nil:
		o.Reason = t.failureReason(cond, last, o)
	case t.stuck != "":
		o.Reason, o.Stuck = t.stuck, true
	case t.jobDeleted:
		o.Reason = "the Job was deleted before it finished"
		if c := t.cause(last, o); c != "" {
			o.Reason += "; " + c
		}
	default:
		o.Reason = "the Job has not finished"
	}
	o.Reason = oneLine(o.Reason)
	return o
}

func (t *tracker) failureReason(cond *batchv1.JobCondition, last *corev1.Pod, o *Outcome) string {
	cause := t.cause(last, o)
	withCause := func(s string) string {
		if cause == "" {
			return s
		}
		return s + ": " + cause
	}
	switch cond.Reason {
	case batchv1.JobReasonDeadlineExceeded:
		s := "deadline exceeded: the Job ran longer than its active deadline"
		if d := t.job.Spec.ActiveDeadlineSeconds; d != nil {
			s += fmt.Sprintf(" (%ds); raise the deadline or find what slowed the dumper", *d)
		}
		return s
	case batchv1.JobReasonBackoffLimitExceeded:
		return withCause(fmt.Sprintf("backoff limit reached after %d failed attempt(s)", t.job.Status.Failed))
	case batchv1.JobReasonPodFailurePolicy:
		return withCause("the dumper failed with an error that a retry cannot fix")
	}
	s := "the Job failed (" + cond.Reason
	if cond.Message != "" {
		s += ": " + cond.Message
	}
	return withCause(s + ")")
}

// cause says why the last pod failed, most specific first.
func (t *tracker) cause(last *corev1.Pod, o *Outcome) string {
	if last == nil {
		return ""
	}
	if t.deleted[last.Name] {
		return fmt.Sprintf("pod %s was deleted before it finished", last.Name)
	}
	for _, c := range last.Status.Conditions {
		if c.Type == corev1.DisruptionTarget && c.Status == corev1.ConditionTrue {
			return fmt.Sprintf("pod %s was disrupted (%s: %s)", last.Name, c.Reason, c.Message)
		}
	}
	term := dumperTerminated(last)
	switch {
	case o.Result != nil && o.Result.Error != "":
		return o.Result.Error
	case term != nil && term.Reason == "OOMKilled":
		return "the dumper was killed for exceeding its memory limit; raise the limit"
	case term != nil && strings.TrimSpace(term.Message) != "":
		return fmt.Sprintf("the dumper exited with code %d: %s", term.ExitCode, lastLine(term.Message))
	case term != nil:
		return fmt.Sprintf("the dumper exited with code %d", term.ExitCode)
	case last.Status.Reason != "":
		return fmt.Sprintf("pod %s: %s: %s", last.Name, last.Status.Reason, last.Status.Message)
	}
	return ""
}

func allStatuses(p *corev1.Pod) []corev1.ContainerStatus {
	return append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
}

func dumperStatus(p *corev1.Pod) *corev1.ContainerStatus {
	for i, st := range p.Status.ContainerStatuses {
		if st.Name == ContainerName {
			return &p.Status.ContainerStatuses[i]
		}
	}
	if len(p.Status.ContainerStatuses) == 1 { // a Job from someone else's template
		return &p.Status.ContainerStatuses[0]
	}
	return nil
}

func dumperTerminated(p *corev1.Pod) *corev1.ContainerStateTerminated {
	if st := dumperStatus(p); st != nil {
		return st.State.Terminated
	}
	return nil
}

// dumperFinished: the pod ran to an end, so its disappearance is cleanup, not news.
func dumperFinished(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed || dumperTerminated(p) != nil
}

// dumperStarted: the container has run, so its logs can be read.
func dumperStarted(p *corev1.Pod) bool {
	if st := dumperStatus(p); st != nil {
		return st.State.Running != nil || st.State.Terminated != nil
	}
	return false
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// oneLine folds s onto one line of reasonable length.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	const max = 400
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}
