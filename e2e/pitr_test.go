package e2e

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/backupctl/backupctl/backup/binlog"
	"github.com/backupctl/backupctl/internal/dbtest"
	"github.com/backupctl/backupctl/internal/testenv"
	"github.com/backupctl/backupctl/jobs"
	"github.com/backupctl/backupctl/metrics"
)

// TestBinlogArchiverDeployment installs the archiver twice (one Deployment, unchanged; a third
// time with another flag updates it), lets its pod archive the shared source while this test
// writes to its own database (binlog status advances), takes a base backup through a schedule's
// Job (list and status then show the window), and restores through a Job to a time between two
// of its transactions: the target's copy equals the state recorded at that time. A target
// beyond the archive is refused (the Job exits 5) and changes nothing; `binlog stop` removes the
// Deployment and its pod, which stores what it has read.
func TestBinlogArchiverDeployment(t *testing.T) {
	e := newParallelEnv(t)
	db := e.smallDB()
	q := dbtest.QuoteIdent(db)
	dst := []string{"--db-host", e.st.podDBHost, "--db-port", strconv.Itoa(e.dst.Port)} // as a pod reaches the target

	archive := []string{"binlog", "archive", "--segment-interval", "3s", "-o", "json"}
	first := decode[archiverResult](t, must(t, e.job(archive...)))
	second := decode[archiverResult](t, must(t, e.job(archive...)))
	if first.Applied != "created" || second.Applied != "unchanged" || first.Deployment != second.Deployment {
		t.Errorf("installed twice: %+v then %+v, want created then the same Deployment unchanged (its pod not replaced)", first, second)
	}
	archive[3] = "4s"
	if third := decode[archiverResult](t, must(t, e.job(archive...))); third.Applied != "updated" || third.Deployment != first.Deployment {
		t.Errorf("installed with another --segment-interval: %+v, want the same Deployment updated", third)
	}
	ds := listIn(e, e.kube.AppsV1().Deployments(e.ns).List, metav1.ListOptions{}).Items
	if len(ds) != 1 || ds[0].Name != jobs.ArchiverName || !slices.Contains(ds[0].Spec.Template.Spec.Containers[0].Args, "--segment-interval=4s") {
		t.Fatalf("%d Deployments after three installs, want one %s: %+v", len(ds), jobs.ArchiverName, ds)
	}
	pod := e.archiverPod(&ds[0])

	// The archive starts where the server is when the pod connects (the test writes a beat
	// at every look, so the archive gets events whenever that is); status shows it once a
	// segment is stored.
	e.src.Exec(t, "CREATE TABLE "+q+".beat (id INT PRIMARY KEY) ENGINE=InnoDB")
	beat := func() { e.src.Exec(t, "INSERT INTO "+q+".beat SELECT COALESCE(MAX(id), 0) + 1 FROM "+q+".beat") }
	e.src.Exec(t, "INSERT INTO "+q+".t VALUES (10, 'before the backup')")
	s1 := e.waitArchive(gtidPos(t, e), time.Time{}, beat, 90*time.Second, pod)

	// The base backup: a run of a schedule, whose status then shows the archive.
	must(t, e.job("schedule", "set", "-d", db, "--schedule", "0 3 1 1 *"))
	b := decode[backupResult](t, must(t, e.job("schedule", "run", "-o", "json")))
	checkVerified(t, b)

	e.src.Exec(t, "INSERT INTO "+q+".t VALUES (20, 'a')", "UPDATE "+q+".t SET v = 'changed' WHERE id = 1")
	want := dbtest.InventoryOf(t, e.src, db)
	time.Sleep(1200 * time.Millisecond)
	at := time.Now().UTC().Truncate(time.Second) // after the second of the last write above
	time.Sleep(1200 * time.Millisecond)
	e.src.Exec(t, "DELETE FROM "+q+".t WHERE id = 2", "INSERT INTO "+q+".t VALUES (30, 'after the target')")
	s2 := e.waitArchive(gtidPos(t, e), s1.ToTime, beat, 90*time.Second, pod)
	if s2.Segments <= s1.Segments || !s2.ToTime.After(at) {
		t.Errorf("archive did not advance: %d segments to %s, then %d to %s (target %s)", s1.Segments, s1.ToTime, s2.Segments, s2.ToTime, at)
	}

	st := decode[pitrReport](t, must(t, e.withKeys("status", "-o", "json")))
	if p := st.PITR; p == nil || !st.OK || p.ArchivedToGTID == "" || !covers(p.ArchivedToGTID, s2.ToGTID) || p.Segments < s2.Segments ||
		len(p.Gaps) != 0 || p.NewestBackup != b.ID || p.ArchivedTo.Before(at) || p.RecoverableTo.Before(at) || p.LagSeconds < 0 {
		t.Errorf("status of the schedule: ok %v, problems %q, binlog archive %+v (binlog status %+v)", st.OK, st.Problems, st.PITR, s2)
	}
	type recoverable struct {
		ID          string         `json:"id"`
		Recoverable *binlog.Window `json:"recoverable"`
	}
	listed := decode[[]recoverable](t, must(t, e.withKeys("list", "-o", "json")))
	if len(listed) != 1 || listed[0].ID != b.ID || listed[0].Recoverable == nil || listed[0].Recoverable.To.Before(at) || listed[0].Recoverable.GapAfter {
		t.Errorf("list does not show backup %s recoverable past %s: %+v", b.ID, at, listed)
	}
	if text := must(t, e.withKeys("status")).Stdout; !strings.Contains(text, "binlog archive:  "+s2.Archive) || !strings.Contains(text, "recoverable:     backup "+b.ID) {
		t.Errorf("status as text shows no binlog archive:\n%s", text)
	}

	// Beyond the archive: refused before anything is restored.
	e.dst.DropAtEnd(t, db)
	beyond := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	// Both restore Jobs push their metrics: a point-in-time restore reports the whole run.
	pg := testenv.Pushgateway(t)
	dst = append(dst, "--metrics-push", e.st.podPushgateway)
	restoreMetrics := func(what string) map[string]float64 {
		t.Helper()
		got, text := testenv.ScrapeGroup(t, pg, map[string]string{"job": metrics.JobName, "operation": metrics.Restore, "schedule": metrics.NoSchedule, "db_host": e.st.podDBHost})
		e.record("Pushgateway metrics after "+what, text)
		return got
	}
	fails(t, e.job(append([]string{"restore", "--to-time", beyond, "--replay-lock", "none"}, dst...)...), 5, `last recoverable time`)
	if m := restoreMetrics("a refused point-in-time restore"); m[metrics.NameSuccess] != 0 || m[metrics.NameExitCode] != 5 {
		t.Errorf("metrics after a refused point-in-time restore Job: %v, want success 0 and exit code 5", m)
	}
	refused := false
	for _, j := range decode[[]jobInfo](t, must(t, e.job("jobs", "-o", "json"))) {
		refused = refused || (j.Kind == "restore" && j.State == "failed" && j.ExitCode == 5)
	}
	if !refused {
		t.Errorf("no failed restore Job with exit code 5 after a target beyond the archive:\n%s", e.job("jobs"))
	}
	var n int
	if err := e.dst.DB(t, "").QueryRowContext(t.Context(), "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", db).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("a refused restore created %s on the target", db)
	}

	// The shared target is not locked read-only: the test's database is its own.
	must(t, e.job(append([]string{"restore", "--to-time", at.Format(time.RFC3339), "--replay-lock", "none", "-o", "json"}, dst...)...))
	if m := restoreMetrics("a point-in-time restore"); m[metrics.NameSuccess] != 1 || m[metrics.NameExitCode] != 0 || m[metrics.NameRows] <= 0 {
		t.Errorf("metrics after a point-in-time restore Job: %v, want success 1, exit code 0 and the base's rows", m)
	}
	if d := dbtest.Diff(want, dbtest.InventoryOf(t, e.dst, db)); len(d) != 0 {
		t.Errorf("restored to %s, the target differs from the source at that time:\n%s", at.Format(time.RFC3339), strings.Join(d, "\n"))
	}

	// A write just before the stop: the pod stores its open segment when it is stopped.
	e.src.Exec(t, "INSERT INTO "+q+".t VALUES (40, 'just before the stop')")
	lastPos := gtidPos(t, e)
	stop := decode[archiverResult](t, must(t, e.job("binlog", "stop", "-o", "json")))
	if stop.Applied != "deleted" {
		t.Errorf("binlog stop: %+v", stop)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		_, derr := e.kube.AppsV1().Deployments(e.ns).Get(t.Context(), jobs.ArchiverName, metav1.GetOptions{})
		pods := listIn(e, e.kube.CoreV1().Pods(e.ns).List, metav1.ListOptions{LabelSelector: metav1.FormatLabelSelector(ds[0].Spec.Selector)}).Items
		if apierrors.IsNotFound(derr) && len(pods) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after binlog stop the Deployment (%v) or %d pods of it (%s) are still there", derr, len(pods), pod)
		}
		time.Sleep(time.Second)
	}
	fails(t, e.job("binlog", "stop"), 4, `no binlog archiver`)
	if st := decode[[]binlog.ArchiveStatus](t, must(t, e.local("binlog", "status", "-o", "json"))); len(st) != 1 || !covers(st[0].ToGTID, lastPos) {
		t.Errorf("after binlog stop the archive does not hold the last write (%s): %+v", lastPos, st)
	}
}

// pitrReport is the part of `status -o json` about the binlog archive.
type pitrReport struct {
	OK       bool     `json:"ok"`
	Problems []string `json:"problems"`
	PITR     *struct {
		ArchivedTo     time.Time `json:"archived_to"`
		ArchivedToGTID string    `json:"archived_to_gtid"`
		LagSeconds     float64   `json:"lag_seconds"`
		Segments       int       `json:"segments"`
		Gaps           []any     `json:"gaps"`
		NewestBackup   string    `json:"newest_backup"`
		RecoverableTo  time.Time `json:"newest_backup_recoverable_to"`
	} `json:"pitr"`
}

// archiverResult is what `binlog archive` and `binlog stop` print.
type archiverResult struct {
	Deployment string `json:"deployment"`
	Applied    string `json:"applied"`
}

// archiverPod waits for the pod the Deployment and ReplicaSet controllers make of the archiver's
// current template, and returns its name.
func (e *env) archiverPod(d *appsv1.Deployment) string {
	e.t.Helper()
	sel := metav1.FormatLabelSelector(d.Spec.Selector)
	// Recreate starts the new pod once the old one is gone, which can take the old pod's whole
	// grace period: a pod asked to stop as it starts may ignore SIGTERM, being PID 1 in its
	// container until its Go runtime has set up the handler. Seen once, on a loaded machine:
	// the first pod, updated a second after it started, went after exactly its 120 s.
	wait := 90 * time.Second
	if g := d.Spec.Template.Spec.TerminationGracePeriodSeconds; g != nil {
		wait += time.Duration(*g) * time.Second
	}
	deadline := time.Now().Add(wait)
	args := d.Spec.Template.Spec.Containers[0].Args
	for time.Now().Before(deadline) {
		for _, p := range listIn(e, e.kube.CoreV1().Pods(e.ns).List, metav1.ListOptions{LabelSelector: sel}).Items {
			// Not a pod of an older template that Recreate is still taking down.
			if p.DeletionTimestamp == nil && slices.Equal(p.Spec.Containers[0].Args, args) {
				return p.Name
			}
		}
		time.Sleep(time.Second)
	}
	cur, err := e.kube.AppsV1().Deployments(e.ns).Get(e.t.Context(), d.Name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Fatalf("no pod of the current template of Deployment %s after %s: %+v", d.Name, wait, cur.Status)
	return ""
}

// gtidPos is the source's current GTID position.
func gtidPos(t *testing.T, e *env) string {
	t.Helper()
	var pos string
	if err := e.src.DB(t, "").QueryRowContext(t.Context(), "SELECT @@gtid_binlog_pos").Scan(&pos); err != nil {
		t.Fatal(err)
	}
	return pos
}

// waitArchive polls `binlog status -o json` until the one archive holds pos and ends after
// since, and returns it. The server's side (lag) is in it. beat writes before every look.
func (e *env) waitArchive(pos string, since time.Time, beat func(), timeout time.Duration, pod string) binlog.ArchiveStatus {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		beat()
		r := e.local("binlog", "status", "-o", "json")
		if r.Code == 0 {
			st := decode[[]binlog.ArchiveStatus](e.t, r)
			if len(st) == 1 && covers(st[0].ToGTID, pos) && st[0].ToTime.After(since) {
				s := st[0]
				if s.Server == nil || s.Segments == 0 || s.Bytes <= 0 || len(s.Gaps) != 0 || s.FromTime.After(s.ToTime) {
					e.t.Errorf("binlog status: %+v, want segments, bytes, no gap and the server's lag", s)
				}
				return s
			}
		}
		last = r.String()
		if time.Now().After(deadline) {
			logs, _ := e.kubectl(nil, "logs", "-n", e.ns, pod, "--tail", "30")
			e.t.Fatalf("the archive did not reach %s within %v; last status:\n%s\npod %s log:\n%s", pos, timeout, last, pod, logs)
		}
		time.Sleep(2 * time.Second)
	}
}

// covers reports whether GTID state have holds every transaction of want.
func covers(have, want string) bool {
	h, err1 := binlog.ParseState(have)
	w, err2 := binlog.ParseState(want)
	return err1 == nil && err2 == nil && h.Covers(w)
}
