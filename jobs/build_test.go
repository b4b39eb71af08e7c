package jobs

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

var testNow = time.Date(2026, 11, 26, 23, 4, 5, 0, time.FixedZone("CET", 3600))

// testSuffix stands in for NameSuffix in the builders.
const testSuffix = "x7k2q"

var testArgs = []string{"backup", "--db-host=mariadb.db.svc", "--s3-endpoint=https://s3.example", "--bucket=backups"}

func secretEnv(secret string) []corev1.EnvVar {
	var env []corev1.EnvVar
	for _, k := range []string{"BACKUP_DB_PASSWORD", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		env = append(env, corev1.EnvVar{Name: k, ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: k},
		}})
	}
	return env
}

// signingEnv is the optional BACKUP_SIGNING_KEY that backup Jobs (never restore Jobs) get.
func signingEnv(secret string) corev1.EnvVar {
	return corev1.EnvVar{Name: "BACKUP_SIGNING_KEY", ValueFrom: &corev1.EnvVarSource{
		SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: "BACKUP_SIGNING_KEY", Optional: ptr.To(true)},
	}}
}

var goMemLimit = corev1.EnvVar{Name: "GOMEMLIMIT", ValueFrom: &corev1.EnvVarSource{
	ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "dumper", Resource: "limits.memory"},
}}

// wantBackupJob is the Job BackupJob must build from Spec{Args: testArgs} at testNow, written out
// in full so a change to any default shows up here.
func wantBackupJob() *batchv1.Job {
	labels := map[string]string{
		"app.kubernetes.io/name":       "backupctl",
		"app.kubernetes.io/component":  "backup",
		"app.kubernetes.io/managed-by": "backupctl",
		"app.kubernetes.io/instance":   "backupctl-backup-20261126-220405-x7k2q",
	}
	return &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      "backupctl-backup-20261126-220405-x7k2q", // UTC
			Namespace: "backupctl",
			Labels:    labels,
		},
		Spec: batchv1.JobSpec{
			BackoffLimit:            ptr.To[int32](1),
			ActiveDeadlineSeconds:   ptr.To[int64](6 * 3600),
			TTLSecondsAfterFinished: ptr.To[int32](7 * 24 * 3600),
			PodReplacementPolicy:    ptr.To(batchv1.Failed),
			PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
				{
					Action: batchv1.PodFailurePolicyActionFailJob,
					OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
						ContainerName: ptr.To("dumper"),
						Operator:      batchv1.PodFailurePolicyOnExitCodesOpIn,
						Values:        []int32{2, 4},
					},
				},
				{
					Action: batchv1.PodFailurePolicyActionIgnore,
					OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{
						{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue},
					},
				},
			}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					RestartPolicy:                corev1.RestartPolicyNever,
					ServiceAccountName:           "backupctl-dumper",
					AutomountServiceAccountToken: ptr.To(false),
					EnableServiceLinks:           ptr.To(false),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptr.To(true),
						RunAsUser:      ptr.To[int64](65532),
						RunAsGroup:     ptr.To[int64](65532),
						FSGroup:        ptr.To[int64](65532),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:  "dumper",
						Image: "ghcr.io/backupctl/dumper:latest", // a test binary is a dev build
						Args:  testArgs,
						Env:   append(secretEnv("backupctl"), goMemLimit, signingEnv("backupctl")),
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{
								corev1.ResourceCPU:    resource.MustParse("100m"),
								corev1.ResourceMemory: resource.MustParse("128Mi"),
							},
							Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
						},
						VolumeMounts:             []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}},
						TerminationMessagePath:   "/dev/termination-log",
						TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
						SecurityContext: &corev1.SecurityContext{
							RunAsNonRoot:             ptr.To(true),
							ReadOnlyRootFilesystem:   ptr.To(true),
							AllowPrivilegeEscalation: ptr.To(false),
							Privileged:               ptr.To(false),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
							SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
						},
					}},
					Volumes: []corev1.Volume{{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
				},
			},
		},
	}
}

func container(j *batchv1.Job) *corev1.Container { return &j.Spec.Template.Spec.Containers[0] }

func TestBackupJob(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		want func(j *batchv1.Job) // edits wantBackupJob() into the expected Job
	}{
		{name: "defaults", spec: Spec{Args: testArgs}, want: func(*batchv1.Job) {}},
		{
			name: "overrides",
			spec: Spec{
				Namespace: "db", Image: "registry.local/backupctl/dumper:v1.2.3", ImagePullPolicy: corev1.PullAlways,
				ServiceAccount: "dumper", Secret: "prod-backup", Args: testArgs,
				Env:          []corev1.EnvVar{{Name: "BACKUP_S3_PREFIX", Value: "prod"}},
				BackoffLimit: ptr.To[int32](0), ActiveDeadlineSeconds: ptr.To[int64](600), TTLSecondsAfterFinished: ptr.To[int32](0),
				Resources:   &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}},
				Labels:      map[string]string{"team": "dba", "app.kubernetes.io/name": "not-ours"},
				Annotations: map[string]string{"sidecar.istio.io/inject": "false"},
			},
			want: func(j *batchv1.Job) {
				j.Namespace = "db"
				for _, l := range []map[string]string{j.Labels, j.Spec.Template.Labels} {
					l["team"] = "dba"
				}
				j.Annotations = map[string]string{"sidecar.istio.io/inject": "false"}
				j.Spec.Template.Annotations = map[string]string{"sidecar.istio.io/inject": "false"}
				j.Spec.BackoffLimit = ptr.To[int32](0)
				j.Spec.ActiveDeadlineSeconds = ptr.To[int64](600)
				j.Spec.TTLSecondsAfterFinished = ptr.To[int32](0)
				ps := &j.Spec.Template.Spec
				ps.ServiceAccountName = "dumper"
				c := container(j)
				c.Image = "registry.local/backupctl/dumper:v1.2.3"
				c.ImagePullPolicy = corev1.PullAlways
				// No memory limit, so no GOMEMLIMIT.
				c.Env = append(secretEnv("prod-backup"), signingEnv("prod-backup"), corev1.EnvVar{Name: "BACKUP_S3_PREFIX", Value: "prod"})
				c.Resources = corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}}
			},
		},
		{
			name: "CA bundle from a ConfigMap",
			spec: Spec{Args: testArgs, CABundle: &CABundle{ConfigMap: "s3-ca"}},
			want: func(j *batchv1.Job) {
				c := container(j)
				c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "ca-bundle", MountPath: "/etc/backupctl/ca", ReadOnly: true})
				ps := &j.Spec.Template.Spec
				ps.Volumes = append(ps.Volumes, corev1.Volume{Name: "ca-bundle", VolumeSource: corev1.VolumeSource{
					ConfigMap: &corev1.ConfigMapVolumeSource{
						LocalObjectReference: corev1.LocalObjectReference{Name: "s3-ca"},
						Items:                []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}},
					},
				}})
			},
		},
		{
			name: "CA bundle from a Secret",
			spec: Spec{Args: testArgs, CABundle: &CABundle{Secret: "s3-tls", Key: "root.pem"}},
			want: func(j *batchv1.Job) {
				c := container(j)
				c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "ca-bundle", MountPath: "/etc/backupctl/ca", ReadOnly: true})
				ps := &j.Spec.Template.Spec
				ps.Volumes = append(ps.Volumes, corev1.Volume{Name: "ca-bundle", VolumeSource: corev1.VolumeSource{
					Secret: &corev1.SecretVolumeSource{SecretName: "s3-tls", Items: []corev1.KeyToPath{{Key: "root.pem", Path: "root.pem"}}},
				}})
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := wantBackupJob()
			tt.want(want)
			got := BackupJob(tt.spec, testNow, testSuffix)
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("BackupJob (-want +got):\n%s", d)
			}
		})
	}
}

func TestBackupJobDoesNotAliasSpec(t *testing.T) {
	s := Spec{Args: []string{"backup"}, Labels: map[string]string{"a": "b"}}
	j := BackupJob(s, testNow, testSuffix)
	container(j).Args[0] = "changed"
	j.Labels["a"] = "changed"
	if s.Args[0] != "backup" || s.Labels["a"] != "b" {
		t.Fatalf("BackupJob shares memory with its Spec: %v %v", s.Args, s.Labels)
	}
	if j.Spec.Template.Labels["a"] != "b" {
		t.Fatalf("Job and pod template share their labels map")
	}
}

func TestRestoreJob(t *testing.T) {
	args := []string{"restore", "20261126T220000Z-ab12", "--drop-existing"}
	want := wantBackupJob()
	name := "backupctl-restore-20261126-220405-x7k2q"
	want.Name = name
	for _, l := range []map[string]string{want.Labels, want.Spec.Template.Labels} {
		l["app.kubernetes.io/component"] = "restore"
		l["app.kubernetes.io/instance"] = name
	}
	want.Annotations = map[string]string{"backupctl.io/backup-id": "20261126T220000Z-ab12"}
	want.Spec.BackoffLimit = ptr.To[int32](0) // a restore is not retried
	container(want).Args = args
	// A restore needs no signing key, so its pod never gets one; it gets the optional age
	// identity that decrypts encrypted backups, from the Secret only.
	container(want).Env = append(secretEnv("backupctl"), goMemLimit, corev1.EnvVar{Name: "BACKUP_AGE_IDENTITY", ValueFrom: &corev1.EnvVarSource{
		SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "backupctl"}, Key: "BACKUP_AGE_IDENTITY", Optional: ptr.To(true)},
	}})

	got := RestoreJob(Spec{Args: args}, "20261126T220000Z-ab12", testNow, testSuffix)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("RestoreJob (-want +got):\n%s", d)
	}
}

func TestDefaultImage(t *testing.T) {
	if got, want := DefaultImage(), "ghcr.io/backupctl/dumper:latest"; got != want {
		t.Errorf("DefaultImage() = %q, want %q for a dev build", got, want)
	}
}

func TestCABundleFile(t *testing.T) {
	if got := (CABundle{ConfigMap: "x"}).File(); got != "/etc/backupctl/ca/ca.crt" {
		t.Errorf("File() = %q", got)
	}
	if got := (CABundle{Secret: "x", Key: "s3.pem"}).File(); got != "/etc/backupctl/ca/s3.pem" {
		t.Errorf("File() = %q", got)
	}
}
