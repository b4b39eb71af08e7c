package jobs

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// TestWebIdentityJob: a backup Job with web identity takes no S3 keys from the Secret, mounts a
// projected token for the audience and points the dumper at it; everything else is the
// usual Job.
func TestWebIdentityJob(t *testing.T) {
	s := Spec{Args: testArgs, WebIdentity: &WebIdentity{Audience: "sts.example", RoleARN: "arn:aws:iam::1:role/backup"}}
	got := BackupJob(s, testNow, testSuffix)
	want := wantBackupJob()
	pod := &want.Spec.Template.Spec
	c := &pod.Containers[0]
	c.Env = []corev1.EnvVar{secretEnv("backupctl")[0], goMemLimit, signingEnv("backupctl"),
		{Name: "AWS_WEB_IDENTITY_TOKEN_FILE", Value: "/var/run/secrets/backupctl/web-identity/token"},
		{Name: "AWS_ROLE_ARN", Value: "arn:aws:iam::1:role/backup"}}
	c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "web-identity", MountPath: "/var/run/secrets/backupctl/web-identity", ReadOnly: true})
	pod.Volumes = append(pod.Volumes, corev1.Volume{Name: "web-identity", VolumeSource: corev1.VolumeSource{
		Projected: &corev1.ProjectedVolumeSource{DefaultMode: ptr.To[int32](0o440), Sources: []corev1.VolumeProjection{{
			ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Audience: "sts.example", ExpirationSeconds: ptr.To[int64](3600), Path: "token"},
		}}},
	}})
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("BackupJob with web identity (-want +got):\n%s", d)
	}
	// The restore Job gets the same credentials.
	r := RestoreJob(Spec{Args: []string{"restore", "x"}, WebIdentity: s.WebIdentity}, "x", testNow, testSuffix)
	if d := cmp.Diff(got.Spec.Template.Spec.Volumes, r.Spec.Template.Spec.Volumes); d != "" {
		t.Errorf("restore Job volumes differ from the backup Job's:\n%s", d)
	}
	// And so do the scheduled ones.
	cj, err := CronJob(s, CronSpec{})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(got.Spec.Template.Spec.Volumes, cj.Spec.JobTemplate.Spec.Template.Spec.Volumes); d != "" {
		t.Errorf("CronJob volumes differ from the backup Job's:\n%s", d)
	}
}

// TestSecretKeys: which of the Secret's keys the pod takes, and the preflight asks for.
func TestSecretKeys(t *testing.T) {
	for _, tc := range []struct {
		s    Spec
		want []string
	}{
		{Spec{}, []string{"BACKUP_DB_PASSWORD", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}},
		{Spec{NoS3Keys: true}, []string{"BACKUP_DB_PASSWORD"}},
		{Spec{WebIdentity: &WebIdentity{Audience: "a", RoleARN: "r"}}, []string{"BACKUP_DB_PASSWORD"}},
		{Spec{SSECKey: true}, []string{"BACKUP_DB_PASSWORD", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "BACKUP_SSE_C_KEY"}},
		{Spec{NoS3Keys: true, SSECKey: true}, []string{"BACKUP_DB_PASSWORD", "BACKUP_SSE_C_KEY"}},
	} {
		if d := cmp.Diff(tc.want, tc.s.secretKeys()); d != "" {
			t.Errorf("%+v: (-want +got)\n%s", tc.s, d)
		}
		// The SSE-C key reaches the pod only through a secretKeyRef, never as a value.
		for _, e := range podSpec(tc.s.withDefaults(0)).Containers[0].Env {
			if e.Name == "BACKUP_SSE_C_KEY" && (e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil) {
				t.Errorf("BACKUP_SSE_C_KEY not from the Secret: %+v", e)
			}
		}
	}
	if SecretKeys[1] != "AWS_ACCESS_KEY_ID" || len(SecretKeys) != 3 {
		t.Errorf("secretKeys changed SecretKeys: %q", SecretKeys)
	}
}
