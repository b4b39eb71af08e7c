package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// scheduleInfo is what `schedule set` and `schedule show` print.
type scheduleInfo struct {
	Namespace         string   `json:"namespace"`
	Name              string   `json:"name"`
	Action            string   `json:"action"`
	Schedule          string   `json:"schedule"`
	TimeZone          string   `json:"time_zone"`
	Suspended         bool     `json:"suspended"`
	ConcurrencyPolicy string   `json:"concurrency_policy"`
	Image             string   `json:"image"`
	Args              []string `json:"args"`
	NotChecked        []string `json:"not_checked"`
	NewestBackup      *struct {
		ID string `json:"id"`
	} `json:"newest_backup"`
}

// pruned is the retention report a backup result carries.
type pruned struct {
	Pruned *pruneReport `json:"pruned"`
}

// pruneReport is what prune prints with -o json (and a backup's retention carries).
type pruneReport struct {
	DryRun bool `json:"dry_run"`
	Sets   []struct {
		Set  string `json:"set"`
		Kept []struct {
			ID     string   `json:"id"`
			Origin string   `json:"origin"`
			Rules  []string `json:"rules"`
		} `json:"kept"`
		WouldDelete []string `json:"would_delete"`
		Deleted     []string `json:"deleted"`
		Ignored     []struct {
			ID     string `json:"id"`
			Reason string `json:"reason"`
		} `json:"ignored"`
	} `json:"sets"`
}

// deleted lists what the report deleted (or would delete), sorted.
func (p pruneReport) deleted() []string {
	var out []string
	for _, s := range p.Sets {
		out = append(out, s.Deleted...)
		out = append(out, s.WouldDelete...)
	}
	slices.Sort(out)
	return out
}

// kept lists what the report kept, sorted.
func (p pruneReport) kept() []string {
	var out []string
	for _, s := range p.Sets {
		for _, k := range s.Kept {
			out = append(out, k.ID)
		}
	}
	slices.Sort(out)
	return out
}

// TestSchedule: `schedule set` twice leaves one CronJob with concurrencyPolicy Forbid (the second
// run changes nothing), a new --schedule updates it in place, `show` prints it, `run` makes a Job
// from it whose backup is verified and listed and whose --keep-last retention prunes the older
// backup of the schedule's set (a scheduled backup of that set taken before), and `delete`
// removes it.
func TestSchedule(t *testing.T) {
	e := newParallelEnv(t)
	db := e.smallDB()
	old := decode[backupResult](t, must(t, e.local("backup", "now", "--local", "-d", db, "--set", "backupctl-nightly", "--scheduled", "-o", "json")))
	checkVerified(t, old)

	// With the S3 keys here, schedule set checks the bucket before installing anything; without
	// them it says it did not.
	missing := "no-such-bucket-" + strings.ToLower(e.ns)
	fails(t, e.withKeys("schedule", "set", "-d", db, "--bucket", missing, "--schedule", "30 4 1 1 *"), 2, missing)
	if n := len(e.cronJobs()); n != 0 {
		t.Fatalf("schedule set with a missing bucket installed %d CronJobs", n)
	}

	// Dates far from now, so the controller itself never starts a run during the test.
	set := func(schedule, want string) scheduleInfo {
		t.Helper()
		in := decode[scheduleInfo](t, must(t, e.job("schedule", "set", "-d", db, "--keep-last", "1", "--schedule", schedule, "-o", "json")))
		if !slices.ContainsFunc(in.NotChecked, func(s string) bool { return strings.Contains(s, "bucket") && strings.Contains(s, "no S3 keys here") }) {
			t.Errorf("schedule set without the keys does not say it did not check the bucket: %v", in.NotChecked)
		}
		if in.Action != want || in.Schedule != schedule || in.ConcurrencyPolicy != string(batchv1.ForbidConcurrent) || in.Namespace != e.ns {
			t.Errorf("schedule set %q: %+v, want action %s", schedule, in, want)
		}
		return in
	}
	set("0 3 1 1 *", "created")
	set("0 3 1 1 *", "unchanged")
	first := e.cronJobs()
	set("30 4 2 1 *", "updated")
	cjs := e.cronJobs()
	if len(first) != 1 || len(cjs) != 1 {
		t.Fatalf("CronJobs after set, set: %d; after a third set: %d; want 1 and 1", len(first), len(cjs))
	}
	cj := cjs[0]
	if cj.UID != first[0].UID || cj.Spec.Schedule != "30 4 2 1 *" || cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("CronJob not updated in place: uid %s→%s, schedule %q, policy %s", first[0].UID, cj.UID, cj.Spec.Schedule, cj.Spec.ConcurrencyPolicy)
	}
	tmpl := &batchv1.Job{Spec: cj.Spec.JobTemplate.Spec}
	tmpl.Name, tmpl.Labels = "template of "+cj.Name, cj.Spec.JobTemplate.Labels
	checkJobSecrets(t, tmpl, "backupctl")

	show := decode[scheduleInfo](t, must(t, e.job("schedule", "show", "-o", "json")))
	if show.Name != cj.Name || show.Schedule != "30 4 2 1 *" || show.ConcurrencyPolicy != "Forbid" || show.Image != e.st.image ||
		!slices.Contains(show.Args, "--keep-last=1") || !slices.Contains(show.Args, "--database="+db) {
		t.Errorf("schedule show: %+v", show)
	}

	r := must(t, e.job("schedule", "run", "-o", "json"))
	b := decode[backupResult](t, r)
	checkVerified(t, b)
	var js []batchv1.Job
	for _, j := range e.jobsIn() {
		if strings.HasPrefix(j.Name, cj.Name+"-manual-") {
			js = append(js, j)
		}
	}
	if len(js) != 1 || b.Job != e.ns+"/"+js[0].Name || !complete(&js[0]) ||
		len(js[0].OwnerReferences) != 1 || js[0].OwnerReferences[0].UID != cj.UID {
		t.Fatalf("schedule run: want one completed Job owned by the CronJob, named in the result %q; got %d", b.Job, len(js))
	}
	checkJobSecrets(t, &js[0], "backupctl")
	p := decode[pruned](t, r)
	if p.Pruned == nil || !slices.Equal(p.Pruned.deleted(), []string{old.ID}) || len(p.Pruned.Sets) != 1 || p.Pruned.Sets[0].Set != "backupctl-nightly" {
		t.Errorf("retention in the scheduled run: %+v, want %s deleted", p.Pruned, old.ID)
	}
	if l := e.list(); len(l) != 1 || l[0].ID != b.ID {
		t.Errorf("list after the scheduled run with --keep-last 1 = %v, want [%s]", ids(l), b.ID)
	}
	must(t, e.withKeys("verify", b.ID))

	// schedule show names the newest backup of the schedule's set when it has the S3 keys, and
	// says it could not look without them.
	if in := decode[scheduleInfo](t, must(t, e.withKeys("schedule", "show", "-o", "json"))); in.NewestBackup == nil || in.NewestBackup.ID != b.ID {
		t.Errorf("schedule show with the keys: newest backup %+v, want %s (not checked: %v)", in.NewestBackup, b.ID, in.NotChecked)
	}
	if in := decode[scheduleInfo](t, must(t, e.job("schedule", "show", "-o", "json"))); in.NewestBackup != nil ||
		!slices.ContainsFunc(in.NotChecked, func(s string) bool { return strings.Contains(s, "no S3 keys here") }) {
		t.Errorf("schedule show without the keys: newest %+v, not checked %v", in.NewestBackup, in.NotChecked)
	}

	must(t, e.job("schedule", "delete"))
	// Deleted with propagation Orphan: the garbage collector removes its finalizer first.
	for deadline := time.Now().Add(15 * time.Second); len(e.cronJobs()) != 0; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the CronJob is still there 15s after schedule delete")
		}
	}
	// Its Job is orphaned, not deleted: a running backup must survive the schedule's removal.
	if j := e.jobsIn(); len(j) != 1 || len(j[0].OwnerReferences) != 0 {
		t.Errorf("after schedule delete: %d Jobs, want the one run's, orphaned", len(j))
	}
	fails(t, e.job("schedule", "show"), 4, `no schedule "backupctl-nightly" in namespace`)
}

func (e *env) cronJobs() []batchv1.CronJob {
	e.t.Helper()
	return listIn(e, e.kube.BatchV1().CronJobs(e.ns).List, metav1.ListOptions{}).Items
}
