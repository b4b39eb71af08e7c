package jobs

import (
	"maps"
	"slices"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"

	"github.com/backupctl/backupctl/contract"
)

// nameTime formats `now` in Job names: sortable, and valid in a DNS label.
const nameTime = "20060102-150405"

// NameSuffix returns a random suffix for a Job's name (five characters the API server also uses
// for generated names), so two Jobs started in the same second never collide. The builders take
// it as an argument and stay deterministic.
func NameSuffix() string { return utilrand.String(5) }

// jobName is prefix, the time and the suffix: sortable by time, and a valid DNS label.
func jobName(prefix string, now time.Time, suffix string) string {
	n := prefix + now.UTC().Format(nameTime)
	if suffix != "" {
		n += "-" + suffix
	}
	return n
}

// BackupJobName is the name BackupJob gives a Job started at now with suffix.
func BackupJobName(now time.Time, suffix string) string {
	return jobName("backupctl-backup-", now, suffix)
}

// RestoreJobName is the name RestoreJob gives a Job started at now with suffix.
func RestoreJobName(now time.Time, suffix string) string {
	return jobName("backupctl-restore-", now, suffix)
}

// BackupJob builds the one-shot Job that runs the dumper with s.Args, named for now and suffix
// (see NameSuffix).
func BackupJob(s Spec, now time.Time, suffix string) *batchv1.Job {
	s = withSigningKey(s.withDefaults(DefaultBackoffLimit))
	name := BackupJobName(now, suffix)
	return newJob(s, name, ComponentBackup, s.Annotations)
}

// RestoreJob builds the one-shot Job that restores backup id. s.Args must already hold the
// dumper's full restore command line (id included); id is recorded in an annotation, which, unlike
// a label, takes any id, so `kubectl get job -o yaml` shows what was restored.
func RestoreJob(s Spec, id string, now time.Time, suffix string) *batchv1.Job {
	s = withAgeIdentity(s.withDefaults(DefaultRestoreBackoffLimit))
	name := RestoreJobName(now, suffix)
	ann := maps.Clone(s.Annotations)
	if ann == nil {
		ann = map[string]string{}
	}
	ann[AnnotationBackupID] = id
	return newJob(s, name, ComponentRestore, ann)
}

// Labels returns the labels of our objects: extra first, so ours win a clash.
func Labels(extra map[string]string, component, instance string) map[string]string {
	l := maps.Clone(extra)
	if l == nil {
		l = map[string]string{}
	}
	l[LabelName] = AppName
	l[LabelComponent] = component
	l[LabelManagedBy] = AppName
	l[LabelInstance] = instance
	return l
}

// newJob builds a Job from a defaulted Spec.
func newJob(s Spec, name, component string, ann map[string]string) *batchv1.Job {
	labels := Labels(s.Labels, component, name)
	return &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: batchv1.SchemeGroupVersion.String(), Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Namespace:   s.Namespace,
			Labels:      labels,
			Annotations: maps.Clone(ann),
		},
		Spec: jobSpec(s, labels),
	}
}

// jobSpec is the part shared by our Jobs and the CronJob's template.
func jobSpec(s Spec, labels map[string]string) batchv1.JobSpec {
	return batchv1.JobSpec{
		BackoffLimit:            ptr.To(*s.BackoffLimit),
		ActiveDeadlineSeconds:   ptr.To(*s.ActiveDeadlineSeconds),
		TTLSecondsAfterFinished: ptr.To(*s.TTLSecondsAfterFinished),
		// Never two dumpers at once: a replacement pod starts only after the old one is gone.
		PodReplacementPolicy: ptr.To(batchv1.Failed),
		PodFailurePolicy: &batchv1.PodFailurePolicy{
			Rules: []batchv1.PodFailurePolicyRule{
				// Any other failure counts against the backoff limit and is retried: among them
				// contract.ExitTransient, an endpoint that did not answer this time.
				{
					// Bad configuration or a missing backup fails the same way on every retry.
					Action: batchv1.PodFailurePolicyActionFailJob,
					OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
						ContainerName: ptr.To(ContainerName),
						Operator:      batchv1.PodFailurePolicyOnExitCodesOpIn,
						Values:        []int32{contract.ExitUsage, contract.ExitNotFound},
					},
				},
				{
					// A drained node or a preemption is not the dumper's failure: do not count it.
					Action: batchv1.PodFailurePolicyActionIgnore,
					OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{
						{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue},
					},
				},
			},
		},
		Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{
				Labels:      maps.Clone(labels),
				Annotations: maps.Clone(s.Annotations),
			},
			Spec: podSpec(s),
		},
	}
}

// podSpec runs the dumper locked down: non-root, read-only root, no privileges, no API token.
func podSpec(s Spec) corev1.PodSpec {
	env := make([]corev1.EnvVar, 0, len(SecretKeys)+len(s.Env)+1)
	for _, k := range s.secretKeys() {
		env = append(env, corev1.EnvVar{
			Name: k,
			ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: s.Secret},
				Key:                  k,
			}},
		})
	}
	if _, ok := s.Resources.Limits[corev1.ResourceMemory]; ok {
		// Lets the Go runtime collect harder near the limit instead of being OOM-killed.
		env = append(env, corev1.EnvVar{
			Name: "GOMEMLIMIT",
			ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{
				ContainerName: ContainerName,
				Resource:      "limits.memory",
			}},
		})
	}
	env = append(env, s.Env...)

	mounts := []corev1.VolumeMount{{Name: tmpVolume, MountPath: "/tmp"}}
	volumes := []corev1.Volume{{
		Name:         tmpVolume,
		VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}},
	}}
	if b := s.CABundle; b != nil {
		mounts = append(mounts, corev1.VolumeMount{Name: caVolume, MountPath: CAMountPath, ReadOnly: true})
		items := []corev1.KeyToPath{{Key: b.key(), Path: b.key()}}
		v := corev1.Volume{Name: caVolume}
		if b.Secret != "" {
			v.Secret = &corev1.SecretVolumeSource{SecretName: b.Secret, Items: items}
		} else {
			v.ConfigMap = &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: b.ConfigMap},
				Items:                items,
			}
		}
		volumes = append(volumes, v)
	}
	env, mounts, volumes = s.withWebIdentity(env, mounts, volumes)

	return corev1.PodSpec{
		RestartPolicy:      corev1.RestartPolicyNever,
		ServiceAccountName: s.ServiceAccount,
		// The dumper talks to MariaDB and S3, never to the Kubernetes API.
		AutomountServiceAccountToken: ptr.To(false),
		// Service links would inject env such as BACKUP_DB_PORT=tcp://... for a Service named
		// backup-db, clobbering the dumper's own settings.
		EnableServiceLinks: ptr.To(false),
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot:   ptr.To(true),
			RunAsUser:      ptr.To(RunAsUser),
			RunAsGroup:     ptr.To(RunAsUser),
			FSGroup:        ptr.To(RunAsUser),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Containers: []corev1.Container{{
			Name:            ContainerName,
			Image:           s.Image,
			ImagePullPolicy: s.ImagePullPolicy,
			Args:            slices.Clone(s.Args),
			Env:             env,
			Resources:       *s.Resources.DeepCopy(),
			VolumeMounts:    mounts,
			// The dumper writes its JSON result there; if it dies first, its last log lines
			// stand in, so a failure always says something. Kubernetes' default, set explicitly
			// so our objects equal what the API stores.
			TerminationMessagePath:   contract.TerminationLogPath,
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
		Volumes: volumes,
	}
}
