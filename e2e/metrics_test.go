package e2e

import (
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/backupctl/backupctl/internal/testenv"
	"github.com/backupctl/backupctl/metrics"
)

// TestMetricsPush: every run pushes its metrics to the stack's real Pushgateway, success or
// failure, and each run replaces the previous one of its group (operation, schedule, database
// host): a verified backup, then a wrong password, a missing bucket and a run stopped by SIGTERM
// (what a Job's deadline sends), then a verify, a restore and a prune, each in its own group. A
// failure keeps the last success's timestamp; no secret appears anywhere in the metrics; a
// Pushgateway that does not answer is a warning that leaves the backup's success alone.
func TestMetricsPush(t *testing.T) {
	e := newParallelEnv(t)
	pg := testenv.Pushgateway(t)
	db := e.smallDB()
	schedule := "metrics-" + e.ns
	group := map[string]string{"job": metrics.JobName, "operation": metrics.Backup, "schedule": schedule, "db_host": e.st.podDBHost}
	scrape := func(what string, g map[string]string) map[string]float64 {
		t.Helper()
		got, text := testenv.ScrapeGroup(t, pg, g)
		e.record("Pushgateway metrics after "+what, text)
		return got
	}
	backup := []string{"backup", "now", "--local", "-d", db, "--set", schedule, "--metrics-push", pg, "-o", "json"}

	r := must(t, e.local(backup...))
	ok := decode[backupResult](t, r)
	checkVerified(t, ok)
	// The result gives the backup's full location, not only keys relative to the prefix.
	type location struct {
		URL, Bucket string
		ObjectKey   string `json:"object_key"`
	}
	loc := decode[struct{ Location location }](t, r).Location
	if loc.URL != "s3://"+e.st.bucket+"/"+e.prefix+"/"+ok.ID+"/" || loc.Bucket != e.st.bucket || loc.ObjectKey != e.prefix+"/"+ok.Key {
		t.Errorf("location %+v, want s3://%s/%s/%s/ and the key under the prefix", loc, e.st.bucket, e.prefix, ok.ID)
	}
	m := scrape("a success", group)
	want := map[string]float64{
		metrics.NameSuccess: 1, metrics.NameExitCode: 0, metrics.NameVerified: 1,
		metrics.NameStored: float64(ok.Size), metrics.NameRows: float64(ok.Rows), metrics.NameTables: float64(ok.Tables),
	}
	for k, v := range want {
		if got, present := m[k]; !present || got != v {
			t.Errorf("after a success %s = %v (present %v), want %v", k, got, present, v)
		}
	}
	if m[metrics.NameRaw] <= m[metrics.NameStored] || m[metrics.NameDuration] <= 0 ||
		m[metrics.NameLastSuccess] != m[metrics.NameLastRun] || time.Since(time.Unix(int64(m[metrics.NameLastRun]), 0)) > time.Minute {
		t.Errorf("after a success: raw bytes, duration or timestamps wrong: %v", m)
	}
	lastSuccess, lastRun := m[metrics.NameLastSuccess], m[metrics.NameLastRun]

	// failed checks the group after a failed run: this run's exit code, no success, nothing
	// stored, the earlier success's timestamp still there.
	failed := func(what string, r res) {
		t.Helper()
		if r.Code == 0 {
			t.Fatalf("%s: the backup succeeded:\n%s", what, r)
		}
		m := scrape(what, group)
		if m[metrics.NameSuccess] != 0 || m[metrics.NameExitCode] != float64(r.Code) || m[metrics.NameStored] != 0 ||
			m[metrics.NameVerified] != 0 || m[metrics.NameRows] != 0 {
			t.Errorf("%s (exit %d): metrics %v", what, r.Code, m)
		}
		if m[metrics.NameLastSuccess] != lastSuccess || m[metrics.NameLastRun] <= lastRun {
			t.Errorf("%s: last success %v (want %v kept), last run %v (want after %v)", what, m[metrics.NameLastSuccess], lastSuccess, m[metrics.NameLastRun], lastRun)
		}
		lastRun = m[metrics.NameLastRun]
	}
	failed("a wrong password", e.runEnv(append(e.s3Keys(), "BACKUP_DB_PASSWORD=wrong-"+e.ns), backup...))
	failed("a missing bucket", e.runEnv(append(e.allSecrets(), "BACKUP_S3_BUCKET=no-such-bucket-"+strings.ToLower(e.ns)), backup...))

	// Stopped mid-dump by SIGTERM, as the kubelet stops a Job past its deadline.
	release := e.lockTable(db)
	cmd := exec.Command(backupctlBin, backup...)
	cmd.Env, cmd.Dir = append(e.baseEnv(), e.allSecrets()...), e.home
	p, err := testenv.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	e.waitBlocked(db, time.Minute)
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	r, _ = p.Wait(time.Minute)
	e.record("backup stopped by SIGTERM stderr", r.Stderr)
	if r.Code != 130 {
		t.Errorf("backup stopped by SIGTERM: exit %d, want 130:\n%s", r.Code, r)
	}
	failed("a SIGTERM (deadline)", r)
	release()

	// A verify pushes to a group of its own, leaving the backup's alone.
	must(t, e.withKeys("verify", ok.ID, "--set", schedule, "--metrics-push", pg))
	v := scrape("a verify", map[string]string{"job": metrics.JobName, "operation": metrics.Verify, "schedule": schedule})
	if v[metrics.NameSuccess] != 1 || v[metrics.NameVerified] != 1 || v[metrics.NameStored] != float64(ok.Size) {
		t.Errorf("after a verify: %v", v)
	}
	if m := scrape("a verify (backup group)", group); m[metrics.NameSuccess] != 0 || m[metrics.NameLastRun] != lastRun {
		t.Errorf("a verify changed the backup's group: %v", m)
	}

	// A restore and a prune push to groups of their own, with what they did.
	into := db + "_copy"
	e.dst.DropAtEnd(t, into)
	must(t, e.runEnv(append(e.allSecrets(), "BACKUP_DB_HOST="+e.dst.Host, "BACKUP_DB_PORT="+strconv.Itoa(e.dst.Port)),
		"restore", ok.ID, "--local", "--into", into, "--set", schedule, "--metrics-push", pg, "-o", "json"))
	rm := scrape("a restore", map[string]string{"job": metrics.JobName, "operation": metrics.Restore, "schedule": schedule, "db_host": e.dst.Host})
	if rm[metrics.NameSuccess] != 1 || rm[metrics.NameRows] != float64(ok.Rows) || rm[metrics.NameTables] != float64(ok.Tables) {
		t.Errorf("after a restore: %v", rm)
	}
	second := decode[backupResult](t, must(t, e.local("backup", "now", "--local", "-d", db, "--set", schedule, "-o", "json")))
	must(t, e.withKeys("prune", "--keep-last", "1", "--include-manual", "--set", schedule, "--metrics-push", pg))
	pm := scrape("a prune", map[string]string{"job": metrics.JobName, "operation": metrics.Prune, "schedule": schedule})
	if pm[metrics.NameSuccess] != 1 || pm[metrics.NameDeleted] != 1 {
		t.Errorf("after a prune keeping only %s: %v", second.ID, pm)
	}

	// A Pushgateway that does not answer: a warning, and the backup still succeeds.
	r = e.local("backup", "now", "--local", "-d", db, "--metrics-push", "http://127.0.0.1:1", "-o", "json")
	if r.Code != 0 || !strings.Contains(r.Stderr, "metrics not pushed") {
		t.Errorf("a push to a closed port: want exit 0 and a warning:\n%s", r)
	}
	checkVerified(t, decode[backupResult](t, r))

	// A URL with credentials is refused before anything runs: it would show in a Job's args.
	fails(t, e.local("backup", "now", "--local", "-d", db, "--metrics-push", "http://user:pw-"+e.ns+"@127.0.0.1:1"), 2, "must not hold credentials")
}

// TestMetricsPushFromJob: a backup through a Job pushes its metrics from the pod (the dumper
// gets --metrics-push in its arguments), grouped by its set like a local run.
func TestMetricsPushFromJob(t *testing.T) {
	e := newParallelEnv(t)
	pg := testenv.Pushgateway(t)
	db := e.smallDB()
	schedule := "metrics-job-" + e.ns
	// The pod pushes to the Pushgateway at its own address for it; the test reads it at its own.
	b := decode[backupResult](t, must(t, e.job("backup", "now", "-d", db, "--set", schedule, "--metrics-push", e.st.podPushgateway, "-o", "json")))
	checkVerified(t, b)
	got, text := testenv.ScrapeGroup(t, pg, map[string]string{"job": metrics.JobName, "operation": metrics.Backup, "schedule": schedule, "db_host": e.st.podDBHost})
	e.record("Pushgateway metrics after a Job backup", text)
	if got[metrics.NameSuccess] != 1 || got[metrics.NameVerified] != 1 || got[metrics.NameStored] != float64(b.Size) || got[metrics.NameRows] != float64(b.Rows) {
		t.Errorf("after a Job backup: %v, want success, verified, %d bytes stored, %d rows", got, b.Size, b.Rows)
	}
}
