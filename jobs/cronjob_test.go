package jobs

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/backupctl/backupctl/contract"
)

// wantCronJob is what CronJob must build from Spec{Args: testArgs} and CronSpec{}.
func wantCronJob() *batchv1.CronJob {
	job := wantBackupJob()
	labels := map[string]string{
		"app.kubernetes.io/name":       "backupctl",
		"app.kubernetes.io/component":  "backup",
		"app.kubernetes.io/managed-by": "backupctl",
		"app.kubernetes.io/instance":   "backupctl-nightly",
	}
	job.Spec.Template.Labels = labels
	return &batchv1.CronJob{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"},
		ObjectMeta: metav1.ObjectMeta{Name: "backupctl-nightly", Namespace: "backupctl", Labels: labels},
		Spec: batchv1.CronJobSpec{
			Schedule:                   "0 2 * * *",
			TimeZone:                   ptr.To("Etc/UTC"),
			StartingDeadlineSeconds:    ptr.To[int64](3 * 3600),
			ConcurrencyPolicy:          batchv1.ForbidConcurrent,
			Suspend:                    ptr.To(false),
			SuccessfulJobsHistoryLimit: ptr.To[int32](3),
			FailedJobsHistoryLimit:     ptr.To[int32](3),
			JobTemplate: batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       job.Spec,
			},
		},
	}
}

func TestCronJob(t *testing.T) {
	tests := []struct {
		name    string
		spec    Spec
		cron    CronSpec
		want    func(*batchv1.CronJob)
		wantErr string // substring of the one-line error; "" for none
	}{
		{name: "defaults", spec: Spec{Args: testArgs}, want: func(*batchv1.CronJob) {}},
		{
			name: "overrides",
			spec: Spec{Args: testArgs, Namespace: "db"},
			cron: CronSpec{
				Name: "hourly", Schedule: "@hourly", TimeZone: "Europe/Berlin",
				StartingDeadlineSeconds: ptr.To[int64](60), SuccessfulJobsHistoryLimit: ptr.To[int32](0),
				FailedJobsHistoryLimit: ptr.To[int32](10), Suspend: true,
			},
			want: func(cj *batchv1.CronJob) {
				cj.Name, cj.Namespace = "hourly", "db"
				cj.Labels["app.kubernetes.io/instance"] = "hourly"
				cj.Spec.Schedule = "@hourly"
				cj.Spec.TimeZone = ptr.To("Europe/Berlin")
				cj.Spec.StartingDeadlineSeconds = ptr.To[int64](60)
				cj.Spec.SuccessfulJobsHistoryLimit = ptr.To[int32](0)
				cj.Spec.FailedJobsHistoryLimit = ptr.To[int32](10)
				cj.Spec.Suspend = ptr.To(true)
			},
		},
		{name: "five fields required", cron: CronSpec{Schedule: "0 2 * *"}, wantErr: `invalid --schedule "0 2 * *"`},
		{name: "out of range", cron: CronSpec{Schedule: "61 2 * * *"}, wantErr: `invalid --schedule "61 2 * * *"`},
		{name: "seconds field", cron: CronSpec{Schedule: "0 0 2 * * *"}, wantErr: "invalid --schedule"},
		{name: "TZ in schedule", cron: CronSpec{Schedule: "CRON_TZ=UTC 0 2 * * *"}, wantErr: "use --time-zone"},
		{name: "unknown zone", cron: CronSpec{TimeZone: "Mars/Olympus"}, wantErr: `invalid --time-zone "Mars/Olympus"`},
		{name: "Local", cron: CronSpec{TimeZone: "Local"}, wantErr: `invalid --time-zone "Local"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CronJob(tt.spec, tt.cron)
			if tt.wantErr != "" {
				var ue *contract.UsageError
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &ue) {
					t.Fatalf("CronJob() error = %v, want a usage error containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error is not one line: %q", err)
				}
				if got != nil {
					t.Errorf("CronJob() returned an object with its error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := wantCronJob()
			tt.want(want)
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("CronJob (-want +got):\n%s", d)
			}
		})
	}
}

func TestJobFromCronJob(t *testing.T) {
	cj := wantCronJob()
	cj.UID = types.UID("0d8a5a4e-1111-2222-3333-444455556666")
	cj.Spec.JobTemplate.Annotations = map[string]string{"team": "dba"}

	want := &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      "backupctl-nightly-manual-20261126-220405-x7k2q",
			Namespace: "backupctl",
			Labels:    cj.Spec.JobTemplate.Labels,
			Annotations: map[string]string{
				"cronjob.kubernetes.io/instantiate": "manual",
				"team":                              "dba",
			},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "batch/v1", Kind: "CronJob", Name: "backupctl-nightly",
				UID: "0d8a5a4e-1111-2222-3333-444455556666", Controller: ptr.To(true),
			}},
		},
		Spec: cj.Spec.JobTemplate.Spec,
	}
	got := JobFromCronJob(cj, testNow, testSuffix)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("JobFromCronJob (-want +got):\n%s", d)
	}
	got.Labels["x"] = "y"
	got.Spec.Template.Spec.Containers[0].Args[0] = "changed"
	if _, ok := cj.Spec.JobTemplate.Labels["x"]; ok || cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Args[0] != "backup" {
		t.Errorf("JobFromCronJob shares memory with the CronJob")
	}
}

func TestManualJobName(t *testing.T) {
	long := strings.Repeat("a", 39) + "-" + strings.Repeat("b", 12) // cut right after the dash
	got := ManualJobName(long, testNow, testSuffix)
	if len(got) > 63 || !strings.HasSuffix(got, "-manual-20261126-220405-x7k2q") || strings.Contains(got, "--") {
		t.Errorf("ManualJobName(%q) = %q (%d chars)", long, got, len(got))
	}
}
