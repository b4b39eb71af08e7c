package e2e

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/backupctl/backupctl/internal/dbtest"
)

// jobCreated is what a Job command prints with --wait=false.
type jobCreated struct {
	Namespace string `json:"namespace"`
	Job       string `json:"job"`
	Status    string `json:"status"`
	Logs      string `json:"logs"`
	Wait      string `json:"wait"`
}

// jobInfo is one entry of `backupctl jobs -o json`.
type jobInfo struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	State    string `json:"state"`
	BackupID string `json:"backup_id"`
	ExitCode int    `json:"exit_code"`
}

// TestDetachedJobs: two `backup now --wait=false` started together both get a Job (their names
// differ though they start in the same second) and print the commands that get back to them;
// `logs -f` follows one to its end, `wait` exits with the other's result as if it had been
// followed, `jobs` lists both with the backups they wrote, and a Job that is not there is exit 4.
func TestDetachedJobs(t *testing.T) {
	e := newParallelEnv(t)
	db := e.smallDB()

	var wg sync.WaitGroup
	runs := make([]res, 2)
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runs[i] = e.runRaw(e.baseEnv(), "backup", "now", "-d", db, "--wait=false", "-o", "json")
		}()
	}
	wg.Wait()
	var created []jobCreated
	for _, r := range runs {
		c := decode[jobCreated](t, must(t, r))
		if c.Namespace != e.ns || !strings.HasPrefix(c.Job, "backupctl-backup-") ||
			c.Logs != "backupctl logs -n "+e.ns+" -f "+c.Job || c.Wait != "backupctl wait -n "+e.ns+" "+c.Job {
			t.Errorf("--wait=false printed %+v", c)
		}
		created = append(created, c)
	}
	a, b := created[0].Job, created[1].Job
	if a == b {
		t.Fatalf("both starts made Job %s", a)
	}
	// Names are backupctl-backup-<time>-<suffix>: say whether this run proved the same second.
	t.Logf("Jobs %s and %s (same second: %v)", a, b, a[:len(a)-6] == b[:len(b)-6])

	lf := must(t, e.job("logs", "-f", a))
	if !strings.Contains(lf.Stdout, "manifest written") {
		t.Errorf("logs -f %s does not show the dumper's log to its end:\n%s", a, lf)
	}
	w := must(t, e.job("wait", b, "-o", "json"))
	wb := decode[backupResult](t, w)
	checkVerified(t, wb)
	if wb.Job != e.ns+"/"+b {
		t.Errorf("wait %s: result names Job %q", b, wb.Job)
	}
	if l := must(t, e.job("logs", a)); !strings.Contains(l.Stdout, "manifest written") {
		t.Errorf("logs %s after its end:\n%s", a, l)
	}

	js := decode[[]jobInfo](t, must(t, e.job("jobs", "-o", "json")))
	var names []string
	for _, j := range js {
		names = append(names, j.Name)
		if j.Kind != "backup" || j.State != "succeeded" || j.BackupID == "" {
			t.Errorf("jobs: %+v, want a succeeded backup with its id", j)
		}
	}
	slices.Sort(names)
	if want := []string{min(a, b), max(a, b)}; !slices.Equal(names, want) {
		t.Errorf("jobs lists %v, want %v", names, want)
	}
	if l := e.list(); len(l) != 2 || !slices.Contains(ids(l), wb.ID) {
		t.Errorf("list = %v, want two backups including %s", ids(l), wb.ID)
	}

	fails(t, e.job("wait", "backupctl-backup-nosuch"), 4, `no Job "backupctl-backup-nosuch" in namespace`)
	fails(t, e.job("logs", "backupctl-backup-nosuch"), 4, `no Job "backupctl-backup-nosuch" in namespace`)
}

// TestSameCodeWhoever: the same mistake exits with the same code whether the caller is an admin
// (who may read Secrets and Namespaces) or bound to deploy/'s Role (who may not): a Secret that
// is not there, and a namespace that is not there.
func TestSameCodeWhoever(t *testing.T) {
	e := newParallelEnv(t)
	db := e.smallDB()
	operator := []string{"KUBECONFIG=" + e.operatorKubeconfig()}
	missingNS := strings.ReplaceAll(dbtest.UniqueName("e2e-nosuch"), "_", "-")
	for _, c := range []struct {
		name string
		args []string
		re   string // the error line, under both
	}{
		{"secret", []string{"backup", "now", "-d", db, "--secret", "nosuch"}, `nosuch`},
		{"namespace", []string{"backup", "now", "-d", db, "-n", missingNS}, `namespace "` + missingNS + `" does not exist`},
		{"namespace/jobs", []string{"jobs", "-n", missingNS}, `namespace "` + missingNS + `" does not exist`},
		{"schedule", []string{"schedule", "run"}, `no schedule "backupctl-nightly"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			admin := e.runEnv(nil, c.args...)
			op := e.runEnv(operator, c.args...)
			fails(t, admin, op.Code, c.re)
			fails(t, op, admin.Code, c.re)
			if admin.Code == 0 || admin.Code == 1 {
				t.Errorf("exit %d for a mistake the user fixes, want a code of its own:\n%s", admin.Code, admin)
			}
			t.Logf("%s: exit %d under both (%v)", c.name, admin.Code, time.Since(start).Round(time.Second))
		})
	}
}

// scheduleEdit is what `schedule set` and `show` print beyond scheduleInfo.
type scheduleEdit struct {
	scheduleInfo
	Changes    []string `json:"changes"`
	NotChecked []string `json:"not_checked"`
	NextRun    string   `json:"next_run"`
}

// TestScheduleEdit: a second `schedule set` with other flags keeps the first one's flags, says
// what it changes before it does, and `suspend`/`resume` touch nothing else; a database that
// is not there is refused when MariaDB is reachable from here, and said unchecked when not.
func TestScheduleEdit(t *testing.T) {
	e := newParallelEnv(t)
	db := e.smallDB()
	first := decode[scheduleEdit](t, must(t, e.job("schedule", "set", "-d", db, "--keep-daily", "7", "--schedule", "0 3 1 1 *", "-o", "json")))
	if first.Action != "created" || len(first.NotChecked) == 0 || !strings.Contains(strings.Join(first.NotChecked, ";"), db) {
		t.Errorf("first set: %+v, want created, with the database said unchecked (no password here)", first)
	}
	r := must(t, e.job("schedule", "set", "--schedule", "30 4 2 1 *", "-o", "json"))
	second := decode[scheduleEdit](t, r)
	if second.Action != "updated" || second.Schedule != "30 4 2 1 *" ||
		!slices.Contains(second.Args, "--database="+db) || !slices.Contains(second.Args, "--keep-daily=7") {
		t.Errorf("second set dropped the first one's flags: %+v", second)
	}
	if want := "schedule: 0 3 1 1 * → 30 4 2 1 *"; !slices.Equal(second.Changes, []string{want}) || !strings.Contains(r.Stderr, want) {
		t.Errorf("second set: changes %q, stderr:\n%s", second.Changes, r.Stderr)
	}
	s := decode[scheduleEdit](t, must(t, e.job("schedule", "suspend", "-o", "json")))
	if !s.Suspended || s.Schedule != "30 4 2 1 *" || !slices.Equal(s.Args, second.Args) {
		t.Errorf("suspend: %+v", s)
	}
	s = decode[scheduleEdit](t, must(t, e.job("schedule", "resume", "-o", "json")))
	if s.Suspended || s.Schedule != "30 4 2 1 *" || s.NextRun == "" {
		t.Errorf("resume: %+v", s)
	}
	fails(t, e.local("schedule", "set", "-d", "no_such_db_e2e"), 2, `--database: no_such_db_e2e not on the server`)
	if cjs := e.cronJobs(); len(cjs) != 1 || !slices.Contains(cjs[0].Spec.JobTemplate.Spec.Template.Spec.Containers[0].Args, "--database="+db) {
		t.Errorf("a refused set changed the schedule")
	}
	rep := decode[scheduleEdit](t, must(t, e.job("schedule", "set", "--replace", "-d", db, "-o", "json")))
	if slices.Contains(rep.Args, "--keep-daily=7") || rep.Schedule != "0 2 * * *" {
		t.Errorf("--replace kept old flags: %+v", rep)
	}
}

// TestRestoreCheckedBeforeJob: a backup that is not there (with the S3 keys at hand), a table
// not in the backup, and options that do not combine are refused before any Job is created.
func TestRestoreCheckedBeforeJob(t *testing.T) {
	e := newParallelEnv(t)
	db := e.smallDB()
	b := decode[backupResult](t, must(t, e.local("backup", "now", "--local", "-d", db, "-o", "json")))
	fails(t, e.withKeys("restore", "20260101T000000Z-abcdef", "--into", db+"_x"), 4, `backup 20260101T000000Z-abcdef not found`)
	fails(t, e.withKeys("restore", b.ID, "-t", db+".nosuch", "--into", db+"_x"), 2, `--table `+db+`.nosuch is not in backup`)
	fails(t, e.withKeys("restore", b.ID, "-t", db+".t", "-d", db), 2, `--table and --database cannot be combined`)
	if js := e.jobsIn(); len(js) != 0 {
		t.Errorf("%d Jobs created for refused restores", len(js))
	}
}

// TestKustomizeInstall: deploy/ is a kustomization; an overlay that names another namespace
// installs everything there (`kubectl apply -k`), and a backup Job runs in it.
func TestKustomizeInstall(t *testing.T) {
	e := newParallelEnv(t)
	db := e.smallDB()
	ns := strings.ReplaceAll(dbtest.UniqueName("e2e-kust"), "_", "-")
	dir := t.TempDir()
	deploy, err := filepath.Abs(filepath.Join("..", "deploy"))
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(dir, deploy)
	if err != nil {
		t.Fatal(err)
	}
	overlay := "resources:\n  - " + rel + "\nnamespace: " + ns + "\n"
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(overlay), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = e.kube.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
	})
	out, err := e.kubectl(nil, "apply", "-k", dir)
	if err != nil {
		t.Fatalf("kubectl apply -k: %v\n%s", err, out)
	}
	for _, want := range []string{"namespace/" + ns, "serviceaccount/backupctl-dumper", "role.rbac.authorization.k8s.io/backupctl-operator", "rolebinding.rbac.authorization.k8s.io/backupctl-operator"} {
		if !strings.Contains(out, want+" created") {
			t.Errorf("kubectl apply -k did not create %s:\n%s", want, out)
		}
	}
	ctx := t.Context()
	if _, err := e.kube.RbacV1().Roles(ns).Get(ctx, "backupctl-operator", metav1.GetOptions{}); err != nil {
		t.Errorf("the Role is not in %s: %v", ns, err)
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "backupctl", Namespace: ns}, StringData: map[string]string{
		"BACKUP_DB_PASSWORD": e.st.dbPassword, "AWS_ACCESS_KEY_ID": e.st.accessKey, "AWS_SECRET_ACCESS_KEY": e.st.secretKey,
	}}
	if _, err := e.kube.CoreV1().Secrets(ns).Create(ctx, sec, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r := must(t, e.runEnv([]string{"BACKUP_NAMESPACE=" + ns}, "backup", "now", "-d", db, "-o", "json"))
	b := decode[backupResult](t, r)
	checkVerified(t, b)
	if !strings.HasPrefix(b.Job, ns+"/backupctl-backup-") {
		t.Errorf("the backup ran in Job %q, want one in %s", b.Job, ns)
	}
}

// scheduleShown is what `schedule show -o json` says about the runs.
type scheduleShown struct {
	NextRun string `json:"next_run"`
	LastRun *struct {
		Job    string `json:"job"`
		State  string `json:"state"`
		Reason string `json:"reason"`
	} `json:"last_run"`
}

// TestScheduleShowsFailedRun: a schedule whose database is not there (unchecked here: no
// password in this environment) fails when run, and `schedule show` then names that run, its
// failure and why, and the next run.
func TestScheduleShowsFailedRun(t *testing.T) {
	e := newParallelEnv(t)
	must(t, e.job("schedule", "set", "-d", "no_such_db_e2e", "--schedule", "0 3 1 1 *"))
	r := e.job("schedule", "run", "-o", "json")
	if r.Code == 0 {
		t.Fatalf("a run of a missing database succeeded:\n%s", r)
	}
	s := decode[scheduleShown](t, must(t, e.job("schedule", "show", "-o", "json")))
	if s.NextRun == "" || s.LastRun == nil || s.LastRun.State != "failed" || !strings.Contains(s.LastRun.Reason, "no_such_db_e2e") {
		t.Errorf("schedule show after a failed run: next %q, last %+v", s.NextRun, s.LastRun)
	}
}
