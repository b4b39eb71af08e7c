package e2e

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

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
	t.Parallel()
	e := newEnv(t)
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
	if !strings.Contains(lf.stdout, "manifest written") {
		t.Errorf("logs -f %s does not show the dumper's log to its end:\n%s", a, lf)
	}
	w := must(t, e.job("wait", b, "-o", "json"))
	wb := decode[backupResult](t, w)
	checkVerified(t, wb)
	if wb.Job != e.ns+"/"+b {
		t.Errorf("wait %s: result names Job %q", b, wb.Job)
	}
	if l := must(t, e.job("logs", a)); !strings.Contains(l.stdout, "manifest written") {
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
	t.Parallel()
	e := newEnv(t)
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
			fails(t, admin, op.code, c.re)
			fails(t, op, admin.code, c.re)
			if admin.code == 0 || admin.code == 1 {
				t.Errorf("exit %d for a mistake the user fixes, want a code of its own:\n%s", admin.code, admin)
			}
			t.Logf("%s: exit %d under both (%v)", c.name, admin.code, time.Since(start).Round(time.Second))
		})
	}
}
