package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/backupctl/backupctl/internal/testenv"
)

// statusReport is what `status -o json` prints.
type statusReport struct {
	Name      string `json:"name"`
	Suspended bool   `json:"suspended"`
	NextRun   string `json:"next_run"`
	LastRun   *struct {
		Job      string `json:"job"`
		State    string `json:"state"`
		BackupID string `json:"backup_id"`
	} `json:"last_run"`
	Running        []string `json:"running"`
	NewestVerified *struct {
		ID         string  `json:"id"`
		AgeSeconds float64 `json:"age_seconds"`
		From       string  `json:"from"`
	} `json:"newest_verified_backup"`
	Problems []string `json:"problems"`
	OK       bool     `json:"ok"`
}

func (s statusReport) problem(sub string) bool {
	for _, p := range s.Problems {
		if strings.Contains(p, sub) {
			return true
		}
	}
	return false
}

// TestStatus: `status` on a fresh schedule (next run, no run yet, --max-age exits 6), after a
// succeeded run (the newest verified backup, from the storage with the keys and from the Job
// without them; --max-age passes, then fails once the backup is older), after a failed run,
// when suspended, and when the image is missing.
func TestStatus(t *testing.T) {
	e := newParallelEnv(t)
	db := e.smallDB()
	status := func(r res) statusReport { t.Helper(); return decode[statusReport](t, must(t, r)) }

	must(t, e.job("schedule", "set", "-d", db, "--schedule", "0 3 1 1 *"))
	s := status(e.job("status", "-o", "json"))
	if s.LastRun != nil || s.NextRun == "" || s.NewestVerified != nil || !s.OK || len(s.Problems) != 0 {
		t.Errorf("status of a fresh schedule: %+v", s)
	}
	fails(t, e.job("status", "--max-age", "26h"), 6, "no verified backup")

	b := decode[backupResult](t, must(t, e.job("schedule", "run", "-o", "json")))
	checkVerified(t, b)
	s = status(e.withKeys("status", "-o", "json", "--max-age", "26h"))
	if s.LastRun == nil || s.LastRun.State != "succeeded" || s.NewestVerified == nil || s.NewestVerified.ID != b.ID ||
		s.NewestVerified.From != "storage" || !s.OK {
		t.Errorf("status after a succeeded run, with the keys: %+v", s)
	}
	s = status(e.job("status", "-o", "json"))
	if s.NewestVerified == nil || s.NewestVerified.ID != b.ID || !strings.HasPrefix(s.NewestVerified.From, "job ") {
		t.Errorf("status after a succeeded run, without the keys (from the Job): %+v", s.NewestVerified)
	}
	time.Sleep(1100 * time.Millisecond)
	fails(t, e.withKeys("status", "--max-age", "1s"), 6, "newest verified backup "+b.ID+" is .* old, older than --max-age 1s")
	text := must(t, e.withKeys("status")).Stdout
	if !strings.Contains(text, "newest verified: "+b.ID) || !strings.Contains(text, "problems:        none") {
		t.Errorf("status as text:\n%s", text)
	}

	// A failed run: a database that is not there (not checked by schedule set without the password).
	must(t, e.job("schedule", "set", "-d", "no_such_db_"+strings.ReplaceAll(e.ns, "-", "_")))
	if r := e.job("schedule", "run"); r.Code == 0 {
		t.Fatalf("a run of a missing database succeeded:\n%s", r)
	}
	s = status(e.job("status", "-o", "json"))
	if s.LastRun == nil || s.LastRun.State != "failed" || !s.problem("last run "+s.LastRun.Job+" failed") || s.OK {
		t.Errorf("status after a failed run: %+v", s)
	}
	if s.NewestVerified == nil || s.NewestVerified.ID != b.ID {
		t.Errorf("status after a failed run forgot the last verified backup: %+v", s.NewestVerified)
	}
	text = e.job("status").Stdout
	if !strings.Contains(text, "PROBLEM:         last run") {
		t.Errorf("status as text after a failed run:\n%s", text)
	}

	must(t, e.job("schedule", "suspend"))
	s = status(e.job("status", "-o", "json"))
	if !s.Suspended || s.NextRun != "" || !s.problem("suspended") || s.OK {
		t.Errorf("status of a suspended schedule: %+v", s)
	}
	must(t, e.job("schedule", "resume"))

	// An image the node cannot pull (from a registry address on loopback where nothing listens):
	// said while the run waits for it.
	must(t, e.job("schedule", "set", "-d", db, "--image", testenv.Get(t, "BACKUP_K8S_MISSING_IMAGE")))
	must(t, e.job("schedule", "run", "--wait=false"))
	deadline := time.Now().Add(time.Minute)
	for s = status(e.job("status", "-o", "json")); !s.problem("image"); s = status(e.job("status", "-o", "json")) {
		if time.Now().After(deadline) {
			t.Fatalf("status does not say the image is missing after 1 min: %+v", s)
		}
		time.Sleep(time.Second)
	}
	if s.OK {
		t.Errorf("status with a missing image is ok: %+v", s)
	}
	t.Logf("status with a missing image:\n%s", e.job("status").Stdout)
}
