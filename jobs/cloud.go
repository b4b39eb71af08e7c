package jobs

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/backupctl/backupctl/contract"
)

// Web identity in the pod: a projected service-account token the kubelet rotates, and the
// variables that point the dumper's credential chain at it.
const (
	WebIdentityMountPath      = "/var/run/secrets/backupctl/web-identity"
	WebIdentityTokenPath      = WebIdentityMountPath + "/" + webIdentityTokenFileLabel
	DefaultWebIdentityExpiry  = int64(3600) // seconds; the kubelet renews the token at 80%
	webIdentityVolume         = "web-identity"
	EnvWebIdentityTokenFile   = "AWS_WEB_IDENTITY_TOKEN_FILE"
	EnvRoleARN                = "AWS_ROLE_ARN"
	KeySSECKey                = contract.EnvSSECKey // the Secret's SSE-C key, with Spec.SSECKey
	webIdentityTokenFileMode  = int32(0o440)
	webIdentityTokenFileLabel = "token"
)

// WebIdentity is a service-account token for Audience, exchanged for S3 credentials of RoleARN.
type WebIdentity struct {
	Audience string
	RoleARN  string
	// ExpirationSeconds is the token's lifetime: 0 is DefaultWebIdentityExpiry.
	ExpirationSeconds int64
}

// secretKeys are the Secret's keys that become the pod's environment, in order: SecretKeys
// without the S3 keys when the pod gets credentials otherwise, and the SSE-C key when asked.
func (s Spec) secretKeys() []string {
	keys := slices.Clone(SecretKeys)
	if s.NoS3Keys || s.WebIdentity != nil {
		keys = slices.DeleteFunc(keys, func(k string) bool { return k == KeyAWSAccessKey || k == KeyAWSSecretKey })
	}
	if s.SSECKey {
		keys = append(keys, KeySSECKey)
	}
	return keys
}

// withWebIdentity adds the token volume, its mount and the two variables when s asks for them.
func (s Spec) withWebIdentity(env []corev1.EnvVar, mounts []corev1.VolumeMount, volumes []corev1.Volume) ([]corev1.EnvVar, []corev1.VolumeMount, []corev1.Volume) {
	w := s.WebIdentity
	if w == nil {
		return env, mounts, volumes
	}
	exp := w.ExpirationSeconds
	if exp == 0 {
		exp = DefaultWebIdentityExpiry
	}
	env = append(env,
		corev1.EnvVar{Name: EnvWebIdentityTokenFile, Value: WebIdentityTokenPath},
		corev1.EnvVar{Name: EnvRoleARN, Value: w.RoleARN})
	mounts = append(mounts, corev1.VolumeMount{Name: webIdentityVolume, MountPath: WebIdentityMountPath, ReadOnly: true})
	volumes = append(volumes, corev1.Volume{Name: webIdentityVolume, VolumeSource: corev1.VolumeSource{
		Projected: &corev1.ProjectedVolumeSource{
			DefaultMode: ptr.To(webIdentityTokenFileMode),
			Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{
				Audience: w.Audience, ExpirationSeconds: ptr.To(exp), Path: webIdentityTokenFileLabel,
			}}},
		},
	}})
	return env, mounts, volumes
}
