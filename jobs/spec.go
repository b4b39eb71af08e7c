// Package jobs builds the Kubernetes Jobs and CronJob that run the dumper, and submits and
// follows them. The builders are pure (a Spec and a `now` in, an object out); Client is the thin
// layer over client-go.
package jobs

import (
	"path"
	"slices"
	"strings"
	"time"

	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/version"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Defaults a Spec falls back to when a field is left empty.
const (
	DefaultNamespace      = "backupctl"                // where deploy/ puts everything
	DefaultImageRepo      = "ghcr.io/backupctl/dumper" // tagged by DefaultImage
	DefaultServiceAccount = "backupctl-dumper"         // deploy/10-serviceaccount.yaml
	DefaultSecret         = "backupctl"                // holds SecretKeys

	// A backup is safe to retry (each run writes a new id), so one retry rides out a
	// transient failure; more would only delay the report of a real one.
	DefaultBackoffLimit int32 = 1
	// A restore is not retried: the retry would meet a half-restored target and refuse (or,
	// with --drop-existing, hide the first failure). An operator should look first.
	DefaultRestoreBackoffLimit int32 = 0
	// Long enough for a large database, short enough that a hung dump is noticed the same day.
	DefaultActiveDeadline = 6 * time.Hour
	// Keep a finished Job and its pod's logs for a week of inspection, then let Kubernetes clean up.
	DefaultTTLAfterFinished = 7 * 24 * time.Hour
)

// Names and paths inside the pod.
const (
	// ContainerName is the dumper's container in every pod we build.
	ContainerName = "dumper"
	// RunAsUser is the distroless "nonroot" user the dumper image runs as.
	RunAsUser int64 = 65532
	// CAMountPath is where the optional CA bundle is mounted.
	CAMountPath = "/etc/backupctl/ca"
	tmpVolume   = "tmp"
	caVolume    = "ca-bundle"
)

// Secret keys the dumper reads from the environment; the Secret must hold all three.
const (
	KeyDBPassword   = contract.EnvDBPassword   // MariaDB password
	KeyAWSAccessKey = contract.EnvAWSAccessKey // S3 access key
	KeyAWSSecretKey = contract.EnvAWSSecretKey // S3 secret key
)

// SecretKeys lists the keys the Secret must hold, in the order they become env vars.
var SecretKeys = slices.Clone(contract.SecretEnv)

// Labels set on every object we build; selectors rely on them.
const (
	LabelName      = "app.kubernetes.io/name"       // always AppName
	LabelComponent = "app.kubernetes.io/component"  // ComponentBackup or ComponentRestore
	LabelManagedBy = "app.kubernetes.io/managed-by" // always AppName
	LabelInstance  = "app.kubernetes.io/instance"   // the Job's or the CronJob's name
	AppName        = "backupctl"                    // value of LabelName and LabelManagedBy
	// AnnotationBackupID records which backup a restore Job applies.
	AnnotationBackupID = "backupctl.io/backup-id"
)

// Components of the app.kubernetes.io/component label.
const (
	ComponentBackup  = "backup"  // a backup Job, or the CronJob making them
	ComponentRestore = "restore" // a restore Job
)

// Spec says how to run the dumper in a pod. Zero fields take the defaults above.
type Spec struct {
	Namespace string
	// Image defaults to DefaultImageRepo tagged with this build's version, so the dumper
	// speaks the same flags as the CLI that launched it.
	Image           string
	ImagePullPolicy corev1.PullPolicy // empty: Kubernetes' default for the tag
	ServiceAccount  string
	// Secret names the Secret holding SecretKeys; it reaches the pod only as secretKeyRef env.
	Secret string
	// Args are the dumper's whole argument list, built by the CLI (e.g. "backup", "--db-host=...").
	// Never put a secret here: args show in `kubectl describe` and `ps`.
	Args []string
	// Env is extra non-secret environment for the dumper.
	Env []corev1.EnvVar
	// BackoffLimit, ActiveDeadlineSeconds and TTLSecondsAfterFinished: nil takes the default
	// (0 is a meaningful value for the first and last).
	BackoffLimit            *int32
	ActiveDeadlineSeconds   *int64
	TTLSecondsAfterFinished *int32
	// Resources nil takes DefaultResources.
	Resources *corev1.ResourceRequirements
	// Labels and Annotations are added to the Job and its pod; ours win on a clash.
	Labels      map[string]string
	Annotations map[string]string
	// CABundle, when set, is mounted read-only under CAMountPath.
	CABundle *CABundle
	// NoS3Keys leaves the S3 keys out of the pod (and of the keys the Secret must hold): the
	// ServiceAccount provides credentials (IRSA's webhook, Pod Identity), or WebIdentity does.
	NoS3Keys bool
	// WebIdentity, when set, mounts a service-account token for its audience and points the
	// dumper's web identity at it; the S3 keys are left out as with NoS3Keys.
	WebIdentity *WebIdentity
	// SSECKey gives the pod BACKUP_SSE_C_KEY from the Secret (--sse c).
	SSECKey bool
}

// CABundle names a ConfigMap or a Secret (exactly one) whose Key holds a PEM CA bundle.
type CABundle struct {
	ConfigMap string
	Secret    string
	Key       string // default "ca.crt"
}

// File is the bundle's path inside the pod, for --s3-ca-file or --db-tls-ca.
func (b CABundle) File() string { return path.Join(CAMountPath, b.key()) }

func (b CABundle) key() string {
	if b.Key == "" {
		return "ca.crt"
	}
	return b.Key
}

// DefaultImage is DefaultImageRepo tagged with this build's version ("latest" for a dev build,
// which has no published image of its own).
func DefaultImage() string {
	v := version.Version
	if v == "" || v == "dev" || strings.ContainsAny(v, "+/ ") {
		v = "latest"
	}
	return DefaultImageRepo + ":" + v
}

// DefaultResources requests little, as the dumper streams; it limits memory so a runaway is
// OOM-killed and reported rather than starving the node. No CPU limit: throttling only makes
// a backup slower, and requests already share the CPU fairly.
func DefaultResources() corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("100m"),
			corev1.ResourceMemory: resource.MustParse("128Mi"),
		},
		Limits: corev1.ResourceList{
			corev1.ResourceMemory: resource.MustParse("512Mi"),
		},
	}
}

// withDefaults returns s with every empty field filled; backoff is the component's default.
func (s Spec) withDefaults(backoff int32) Spec {
	if s.Namespace == "" {
		s.Namespace = DefaultNamespace
	}
	if s.Image == "" {
		s.Image = DefaultImage()
	}
	if s.ServiceAccount == "" {
		s.ServiceAccount = DefaultServiceAccount
	}
	if s.Secret == "" {
		s.Secret = DefaultSecret
	}
	if s.BackoffLimit == nil {
		s.BackoffLimit = &backoff
	}
	if s.ActiveDeadlineSeconds == nil {
		d := int64(DefaultActiveDeadline / time.Second)
		s.ActiveDeadlineSeconds = &d
	}
	if s.TTLSecondsAfterFinished == nil {
		d := int32(DefaultTTLAfterFinished / time.Second)
		s.TTLSecondsAfterFinished = &d
	}
	if s.Resources == nil {
		r := DefaultResources()
		s.Resources = &r
	}
	return s
}
