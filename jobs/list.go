package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// States of a Job in JobInfo.
const (
	StateRunning   = "running"
	StateSucceeded = "succeeded"
	StateFailed    = "failed"
)

// JobInfo is one of our Jobs as `backupctl jobs` shows it.
type JobInfo struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Kind      string `json:"kind"`               // ComponentBackup or ComponentRestore
	Schedule  string `json:"schedule,omitempty"` // the CronJob that made it
	State     string `json:"state"`
	Started   string `json:"started"`
	Finished  string `json:"finished,omitempty"`
	Attempts  int    `json:"attempts"`
	// BackupID is the backup a restore applies, or the one a backup wrote (from its result).
	BackupID string `json:"backup_id,omitempty"`
	Reason   string `json:"reason,omitempty"`
	ExitCode int    `json:"exit_code,omitempty"`
}

// selectorOurs selects the Jobs and pods we build, including the CronJob's.
const selectorOurs = LabelManagedBy + "=" + AppName

// Info summarises a Job and its pods, with the classification Wait uses.
func Info(j *batchv1.Job, pods []corev1.Pod) JobInfo {
	t := newTracker(j.Namespace, j.Name)
	t.observeJob(j)
	t.syncPods(pods)
	o := t.outcome()
	in := JobInfo{
		Namespace: j.Namespace, Name: j.Name, Kind: j.Labels[LabelComponent],
		Started: j.CreationTimestamp.UTC().Format(time.RFC3339), Attempts: o.Attempts,
		BackupID: j.Annotations[AnnotationBackupID],
	}
	for _, r := range j.OwnerReferences {
		if r.Kind == "CronJob" {
			in.Schedule = r.Name
		}
	}
	switch {
	case !t.finished():
		in.State = StateRunning
		in.Reason = t.stuck // a pod that cannot start (image, Secret): said while it waits
	case o.Succeeded:
		in.State = StateSucceeded
	default:
		in.State = StateFailed
		in.Reason, in.ExitCode = o.Reason, o.Code()
	}
	if c := t.terminalCondition(); c != nil {
		in.Finished = c.LastTransitionTime.UTC().Format(time.RFC3339)
	}
	if in.BackupID == "" && o.Result != nil && o.Result.OK {
		var r struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(o.Result.Result, &r) == nil {
			in.BackupID = r.ID
		}
	}
	return in
}

// ListJobs returns our backup and restore Jobs in namespace, newest first.
func (c *Client) ListJobs(ctx context.Context, namespace string) ([]JobInfo, error) {
	js, err := c.BatchV1().Jobs(namespace).List(ctx, metav1.ListOptions{LabelSelector: selectorOurs})
	if err != nil {
		return nil, apiError(err, "list jobs in namespace %q", namespace)
	}
	pods, err := c.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selectorOurs})
	if err != nil {
		return nil, apiError(err, "list pods in namespace %q", namespace)
	}
	byJob := map[string][]corev1.Pod{}
	for _, p := range pods.Items {
		byJob[p.Labels[JobNameLabel]] = append(byJob[p.Labels[JobNameLabel]], p)
	}
	items := js.Items
	sort.SliceStable(items, func(i, j int) bool {
		a, b := items[i].CreationTimestamp, items[j].CreationTimestamp
		if !a.Equal(&b) {
			return b.Before(&a)
		}
		return items[i].Name > items[j].Name
	})
	out := make([]JobInfo, 0, len(items))
	for i := range items {
		out = append(out, Info(&items[i], byJob[items[i].Name]))
	}
	return out, nil
}

// GetJob reads one of our Jobs; a missing one is a contract.NotFound error that says where to look.
func (c *Client) GetJob(ctx context.Context, namespace, name string) (*batchv1.Job, error) {
	j, err := c.BatchV1().Jobs(namespace).Get(ctx, name, metav1.GetOptions{})
	return read(j, err, "job", namespace, name, func() error {
		return fmt.Errorf("no Job %q in namespace %q: see `backupctl jobs -n %s` (finished Jobs are removed after their TTL)", name, namespace, namespace)
	})
}

// Logs writes the dumper's log of every pod the Job made so far, oldest first, each retry
// after a header line. It does not follow: for that, Wait with RunOptions.Logs.
func (c *Client) Logs(ctx context.Context, namespace, name string, out io.Writer) error {
	if _, err := c.GetJob(ctx, namespace, name); err != nil {
		return err
	}
	pods, err := c.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: JobNameLabel + "=" + name})
	if err != nil {
		return apiError(err, "list pods of job %s/%s", namespace, name)
	}
	sort.SliceStable(pods.Items, func(i, j int) bool {
		return pods.Items[i].CreationTimestamp.Before(&pods.Items[j].CreationTimestamp)
	})
	f := newLogFollower(ctx, c, namespace, out, 1)
	defer f.stop()
	n := 0
	for i := range pods.Items {
		p := &pods.Items[i]
		if !dumperStarted(p) {
			continue
		}
		if n++; n > 1 {
			fmt.Fprintf(out, "--- backupctl: pod %s (attempt %d) ---\n", p.Name, n)
		}
		rc, err := c.CoreV1().Pods(namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: ContainerName}).Stream(ctx)
		if err != nil {
			return apiError(err, "read the log of pod %s/%s", namespace, p.Name)
		}
		f.copy(rc, &ring{max: 1})
		rc.Close()
	}
	return nil
}
