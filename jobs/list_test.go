package jobs

import (
	"encoding/json"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/backupctl/backupctl/contract"
)

// TestListJobs: each Job's state, backup id and exit code come from the same classification
// Wait uses, newest first.
func TestListJobs(t *testing.T) {
	ok := jobWith(batchv1.JobComplete, "", 0)
	okPod := podWith(0, terminated(0, resultJSON(t, contract.JobResult{OK: true, Result: json.RawMessage(`{"id":"20261126T220405Z-ab12","verified":true}`)})), corev1.PodSucceeded)

	failed := RestoreJob(Spec{Args: testArgs}, "20261101T000000Z-cd34", testNow.Add(60e9), "b2c3d")
	failed.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: batchv1.JobReasonPodFailurePolicy}}
	failedPod := podWith(0, terminated(4, resultJSON(t, contract.JobResult{ExitCode: contract.ExitNotFound, Error: "no backup 20261101T000000Z-cd34"})), corev1.PodFailed)
	failedPod.Name, failedPod.Labels[JobNameLabel] = failed.Name+"-a", failed.Name

	running := BackupJob(Spec{Args: testArgs}, testNow.Add(120e9), "c3d4e")
	for i, j := range []*batchv1.Job{ok, failed, running} {
		j.CreationTimestamp = metav1.NewTime(testNow.Add(time.Duration(i) * time.Minute))
	}
	for _, p := range []*corev1.Pod{okPod, failedPod} {
		p.Labels[LabelManagedBy] = AppName // as the Job's template gives its pods
	}
	c := &Client{Interface: fake.NewClientset(ok, okPod, failed, failedPod, running)}
	got, err := c.ListJobs(t.Context(), "backupctl")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("ListJobs = %+v", got)
	}
	r, f, s := got[0], got[1], got[2]
	if r.Name != running.Name || r.State != StateRunning {
		t.Errorf("newest: %+v, want %s running", r, running.Name)
	}
	if f.Kind != ComponentRestore || f.State != StateFailed || f.ExitCode != contract.ExitNotFound || f.BackupID != "20261101T000000Z-cd34" || f.Reason == "" {
		t.Errorf("failed restore: %+v", f)
	}
	if s.Name != ok.Name || s.State != StateSucceeded || s.BackupID != "20261126T220405Z-ab12" || s.ExitCode != 0 || s.Attempts != 1 {
		t.Errorf("succeeded backup: %+v", s)
	}
}
