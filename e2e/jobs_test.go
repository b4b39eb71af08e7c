package e2e

import (
	"strconv"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/backupctl/backupctl/internal/dbtest"
)

// TestBackupRestoreViaJob: `backup now` runs a Job in a namespace made from deploy/ (restricted
// Pod Security), the dumper gets its credentials only from the Secret, the result is a verified
// backup that `verify` and `list` agree on; `restore` through a Job into the target server gives
// a database equal to the source, table by table and object by object. It runs on the
// generated sample database and, when the shared data sets are here, on Sakila.
func TestBackupRestoreViaJob(t *testing.T) {
	t.Parallel()
	least := map[string]struct {
		tables int
		rows   int64
	}{"sample": {13, 50000}, "sakila": {16, 40000}}
	for _, c := range dbtest.Cases(t, "sakila") {
		t.Run(c.Name, func(t *testing.T) { backupRestoreViaJob(t, c, least[c.Name].tables, least[c.Name].rows) })
	}
}

func backupRestoreViaJob(t *testing.T, c dbtest.Case, tables int, rows int64) {
	e := newEnv(t)
	db := dbtest.UniqueName("e2e_" + c.Name)
	c.Load(t, e.src, db)

	r := must(t, e.job("backup", "now", "-d", db, "-o", "json"))
	b := decode[backupResult](t, r)
	checkVerified(t, b)
	if len(b.Databases) != 1 || b.Databases[0] != db || b.Tables < tables || b.Rows < rows {
		t.Errorf("backup of %s: %+v", db, b)
	}
	if !strings.Contains(r.Stderr, "manifest written") {
		t.Errorf("the dumper's log was not followed on stderr:\n%s", r)
	}

	js := e.jobsIn()
	if len(js) != 1 {
		t.Fatalf("%d Jobs in %s, want 1", len(js), e.ns)
	}
	j := js[0]
	if b.Job != e.ns+"/"+j.Name || !complete(&j) || j.Status.Succeeded != 1 || j.Status.Failed != 0 {
		t.Errorf("job %s: result names %q, status %+v", j.Name, b.Job, j.Status)
	}
	checkJobSecrets(t, &j, "backupctl")
	if pods := e.podsOf(j.Name); len(pods) != 1 || pods[0].Status.Phase != corev1.PodSucceeded {
		t.Errorf("job %s: pods %v", j.Name, podPhases(pods))
	}

	v := must(t, e.withKeys("verify", b.ID, "-o", "json"))
	if !strings.Contains(v.Stdout, b.SHA256) {
		t.Errorf("verify does not report the backup's sha256:\n%s", v)
	}
	l := e.list()
	if len(l) != 1 || l[0].ID != b.ID || l[0].SHA256 != b.SHA256 || l[0].Size != b.Size || l[0].Key != b.Key {
		t.Errorf("list = %+v, want just %s", l, b.ID)
	}

	into := dbtest.UniqueName("e2e_restored")
	e.dst.DropAtEnd(e.t, into)
	rr := must(t, e.job("restore", b.ID, "--db-host", e.st.podDBHost, "--db-port", strconv.Itoa(e.dst.Port), "--into", into, "-o", "json"))
	if !strings.Contains(rr.Stdout, into) {
		t.Errorf("restore result does not name %s:\n%s", into, rr)
	}
	var rj *batchv1.Job
	for _, j := range e.jobsIn() {
		if strings.HasPrefix(j.Name, "backupctl-restore-") {
			rj = &j
		}
	}
	if rj == nil || !complete(rj) || rj.Annotations["backupctl.io/backup-id"] != b.ID {
		t.Fatalf("no completed restore Job for %s: %+v", b.ID, rj)
	}
	checkJobSecrets(t, rj, "backupctl")
	dbtest.Compare(t, e.src, db, e.dst, into)
}

func complete(j *batchv1.Job) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == batchv1.JobComplete && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func podPhases(pods []corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name+"="+string(p.Status.Phase))
	}
	return out
}
