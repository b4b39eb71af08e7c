package main

import (
	"strings"
	"testing"
	"time"

	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/internal/cli"
	"github.com/backupctl/backupctl/jobs"
)

// TestStatusOf: what status finds wrong, and when --max-age fails (exit 6), from a schedule and
// its Jobs as schedule show reads them.
func TestStatusOf(t *testing.T) {
	now := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	ok := jobs.JobInfo{Name: "n-1", State: jobs.StateSucceeded, Finished: "2026-11-28T02:00:05Z", BackupID: "20261128T020000Z-aaaaaa"}
	failed := jobs.JobInfo{Name: "n-2", State: jobs.StateFailed, Reason: "backoff limit reached: access denied"}
	stuck := jobs.JobInfo{Name: "n-3", State: jobs.StateRunning, Reason: `image cannot be pulled: "x/y:z" (ErrImagePull)`}
	base := scheduleInfo{Namespace: "ns", Name: "n", Schedule: "0 2 * * *", TimeZone: "Etc/UTC", Image: "x/y:z"}
	cases := []struct {
		name     string
		in       scheduleInfo
		js       []jobs.JobInfo
		maxAge   time.Duration
		problems []string // substrings, one a problem, in order
		newest   string
		exit     int
	}{
		{name: "fresh", in: base},
		{name: "fresh with --max-age", in: base, maxAge: 26 * time.Hour, problems: []string{"no verified backup"}, exit: contract.ExitStale},
		{name: "succeeded, recent enough", in: base, js: []jobs.JobInfo{ok}, maxAge: 31 * time.Hour, newest: ok.BackupID},
		{name: "succeeded, too old", in: base, js: []jobs.JobInfo{ok}, maxAge: 24 * time.Hour, newest: ok.BackupID,
			problems: []string{"is 29h59m55s old, older than --max-age 24h0m0s"}, exit: contract.ExitStale},
		{name: "last run failed", in: withLastRun(base, failed), js: []jobs.JobInfo{failed, ok}, newest: ok.BackupID,
			problems: []string{"last run n-2 failed: backoff limit reached: access denied"}},
		{name: "suspended", in: func() scheduleInfo { s := base; s.Suspended = true; return s }(), problems: []string{"suspended"}},
		{name: "image missing", in: withLastRun(base, stuck), js: []jobs.JobInfo{stuck}, problems: []string{"run n-3 cannot start: image cannot be pulled"}},
		{name: "from the storage first", in: func() scheduleInfo {
			s := base
			s.NewestBackup = &newestBackup{ID: "20261129T020000Z-bbbbbb", FinishedAt: "2026-11-29T02:00:09Z"}
			return s
		}(), js: []jobs.JobInfo{ok}, newest: "20261129T020000Z-bbbbbb"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep := statusOf(tc.in, tc.js, tc.maxAge, now)
			if len(rep.Problems) != len(tc.problems) || rep.OK != (len(tc.problems) == 0) {
				t.Fatalf("problems %q (ok %v), want %q", rep.Problems, rep.OK, tc.problems)
			}
			for i, p := range tc.problems {
				if !strings.Contains(rep.Problems[i], p) {
					t.Errorf("problem %q does not say %q", rep.Problems[i], p)
				}
			}
			got := ""
			if rep.NewestVerified != nil {
				got = rep.NewestVerified.ID
			}
			if got != tc.newest {
				t.Errorf("newest verified %q, want %q", got, tc.newest)
			}
			if code := cli.ExitCode(rep.staleError()); code != tc.exit {
				t.Errorf("exit %d, want %d", code, tc.exit)
			}
		})
	}
}

func withLastRun(in scheduleInfo, j jobs.JobInfo) scheduleInfo {
	in.LastRun = &lastRun{Job: j.Name, State: j.State, Reason: j.Reason}
	return in
}
