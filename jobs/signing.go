package jobs

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/backupctl/backupctl/contract"
)

// KeySigningKey is the Secret's optional key holding the dumper's private signing key. Only
// backup Jobs (and the CronJob) get it; a Secret without it runs them unsigned.
const KeySigningKey = contract.EnvSigningKey

// withSigningKey gives a backup Job's pod BACKUP_SIGNING_KEY from the Secret, optional so that
// a Secret without the key still runs. It goes before s.Env.
func withSigningKey(s Spec) Spec { return withOptionalSecret(s, KeySigningKey) }

// withOptionalSecret gives the pod the Secret's key as the environment variable of its name,
// optional so that a Secret without the key still runs. It goes before s.Env.
func withOptionalSecret(s Spec, key string) Spec {
	env := corev1.EnvVar{
		Name: key,
		ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: s.Secret},
			Key:                  key,
			Optional:             ptr.To(true),
		}},
	}
	s.Env = append([]corev1.EnvVar{env}, s.Env...)
	return s
}
