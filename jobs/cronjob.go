package jobs

import (
	"maps"
	"strings"
	"time"

	// Embedded so --time-zone is checked the same way on a machine without /usr/share/zoneinfo.
	_ "time/tzdata"

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/backupctl/backupctl/contract"
)

// Defaults a CronSpec falls back to.
const (
	DefaultCronJobName = "backupctl-nightly" // the one schedule `backupctl schedule` manages
	DefaultSchedule    = "0 2 * * *"         // nightly, at 02:00 in DefaultTimeZone
	// Explicit, so the schedule does not silently follow the controller-manager's zone.
	DefaultTimeZone = "Etc/UTC"
	// A run missed (controller down, previous backup still running) may start this late and no
	// later: a 02:00 backup then still ends before business hours.
	DefaultStartingDeadline            = 3 * time.Hour
	DefaultSuccessfulJobsHistory int32 = 3 // finished Jobs kept (the TTL may remove them sooner)
	// Kubernetes keeps one failed Job by default; three nights of failures say more.
	DefaultFailedJobsHistory int32 = 3
)

// CronSpec says when the nightly backup runs. Zero fields take the defaults above.
type CronSpec struct {
	Name                       string
	Schedule                   string // standard five-field cron, or a descriptor such as @daily
	TimeZone                   string // IANA name
	StartingDeadlineSeconds    *int64
	SuccessfulJobsHistoryLimit *int32
	FailedJobsHistoryLimit     *int32
	Suspend                    bool
}

// AnnotationInstantiate marks a Job made by hand from a CronJob, as kubectl does.
const AnnotationInstantiate = "cronjob.kubernetes.io/instantiate"

func (c CronSpec) withDefaults() CronSpec {
	if c.Name == "" {
		c.Name = DefaultCronJobName
	}
	if c.Schedule == "" {
		c.Schedule = DefaultSchedule
	}
	if c.TimeZone == "" {
		c.TimeZone = DefaultTimeZone
	}
	if c.StartingDeadlineSeconds == nil {
		c.StartingDeadlineSeconds = ptr.To(int64(DefaultStartingDeadline / time.Second))
	}
	if c.SuccessfulJobsHistoryLimit == nil {
		c.SuccessfulJobsHistoryLimit = ptr.To(DefaultSuccessfulJobsHistory)
	}
	if c.FailedJobsHistoryLimit == nil {
		c.FailedJobsHistoryLimit = ptr.To(DefaultFailedJobsHistory)
	}
	return c
}

// ValidateSchedule checks a cron expression with the parser the CronJob controller uses.
func ValidateSchedule(schedule string) error {
	if strings.Contains(schedule, "TZ=") {
		return contract.Usagef("--schedule %q sets a time zone: drop TZ=/CRON_TZ= and use --time-zone", schedule)
	}
	if _, err := cron.ParseStandard(schedule); err != nil {
		return contract.Usagef("invalid --schedule %q (%v): give five fields, minute hour day-of-month month day-of-week, e.g. %q", schedule, err, DefaultSchedule)
	}
	return nil
}

// ValidateTimeZone checks a time zone the way the API server does: an IANA name, not "Local".
func ValidateTimeZone(tz string) error {
	if strings.EqualFold(tz, "Local") {
		return contract.Usagef("invalid --time-zone %q: give an IANA name such as Europe/Berlin or Etc/UTC", tz)
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return contract.Usagef("invalid --time-zone %q (unknown time zone): give an IANA name such as Europe/Berlin or Etc/UTC", tz)
	}
	return nil
}

// CronJob builds the CronJob that runs BackupJob's Job on c's schedule, one at a time.
func CronJob(s Spec, c CronSpec) (*batchv1.CronJob, error) {
	c = c.withDefaults()
	if err := ValidateSchedule(c.Schedule); err != nil {
		return nil, err
	}
	if err := ValidateTimeZone(c.TimeZone); err != nil {
		return nil, err
	}
	s = withSigningKey(s.withDefaults(DefaultBackoffLimit))
	// The controller names each Job after the CronJob, so the instance is the CronJob.
	labels := Labels(s.Labels, ComponentBackup, c.Name)
	return &batchv1.CronJob{
		TypeMeta: metav1.TypeMeta{APIVersion: batchv1.SchemeGroupVersion.String(), Kind: "CronJob"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        c.Name,
			Namespace:   s.Namespace,
			Labels:      labels,
			Annotations: maps.Clone(s.Annotations),
		},
		Spec: batchv1.CronJobSpec{
			Schedule:                c.Schedule,
			TimeZone:                ptr.To(c.TimeZone),
			StartingDeadlineSeconds: c.StartingDeadlineSeconds,
			// Two dumps of one database at once only slow each other down.
			ConcurrencyPolicy:          batchv1.ForbidConcurrent,
			Suspend:                    ptr.To(c.Suspend),
			SuccessfulJobsHistoryLimit: c.SuccessfulJobsHistoryLimit,
			FailedJobsHistoryLimit:     c.FailedJobsHistoryLimit,
			JobTemplate: batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels:      maps.Clone(labels),
					Annotations: maps.Clone(s.Annotations),
				},
				Spec: jobSpec(s, labels),
			},
		},
	}, nil
}

// ManualJobName is the name JobFromCronJob gives a Job made from CronJob cronJob at now with
// suffix (see NameSuffix).
func ManualJobName(cronJob string, now time.Time, suffix string) string {
	const manual = "-manual-"
	// A Job name must fit in a 63-character label value (the job-name label).
	maxPrefix := 63 - len(manual) - len(jobName("", now, suffix))
	if len(cronJob) > maxPrefix {
		cronJob = strings.TrimRight(cronJob[:maxPrefix], "-.")
	}
	return jobName(cronJob+manual, now, suffix)
}

// JobFromCronJob builds a Job from cj's template as `kubectl create job --from=cronjob/NAME`
// does: same spec and labels, the instantiate=manual annotation, owned by the CronJob (so
// deleting the CronJob can take it along, and the controller's history sees it).
func JobFromCronJob(cj *batchv1.CronJob, now time.Time, suffix string) *batchv1.Job {
	ann := map[string]string{AnnotationInstantiate: "manual"}
	maps.Copy(ann, cj.Spec.JobTemplate.Annotations)
	return &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: batchv1.SchemeGroupVersion.String(), Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        ManualJobName(cj.Name, now, suffix),
			Namespace:   cj.Namespace,
			Labels:      maps.Clone(cj.Spec.JobTemplate.Labels),
			Annotations: ann,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: batchv1.SchemeGroupVersion.String(),
				Kind:       "CronJob",
				Name:       cj.Name,
				UID:        cj.UID,
				Controller: ptr.To(true),
			}},
		},
		Spec: *cj.Spec.JobTemplate.Spec.DeepCopy(),
	}
}

// NextRun is when schedule, read in time zone tz, next fires after now.
func NextRun(schedule, tz string, now time.Time) (time.Time, error) {
	sched, err := cron.ParseStandard(schedule)
	if err != nil {
		return time.Time{}, err
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return time.Time{}, err
	}
	return sched.Next(now.In(loc)), nil
}
