// Package metrics reports what one run of backupctl or the dumper did as Prometheus metrics, and
// pushes them to a Pushgateway at the end of the run, success or failure. Each run replaces the
// previous one of its group (operation, schedule, database host); the last success timestamp is
// only ever written by a success, so a failed run leaves it in place. docs/METRICS.md lists the
// metrics and example alert rules.
package metrics

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
)

// JobName is the Pushgateway job label of every push.
const JobName = "backupctl"

// Operations a run reports under.
const (
	Backup  = "backup"
	Restore = "restore"
	Verify  = "verify"
	Prune   = "prune"
)

// NoSchedule is the schedule label of a run that names no schedule or backup set.
const NoSchedule = "manual"

// Group is the grouping key of a run: its pushes replace the previous run's of the same group.
// None of it is a secret: an operation name, a backup set, a host name.
type Group struct {
	Operation string
	Schedule  string // the schedule's name (its backup set); NoSchedule when empty
	DBHost    string // the database host; left out when empty (verify and prune read storage only)
}

// Run is what one run did. The counts are those of the run's result; a failed run has zeros.
type Run struct {
	Start, End  time.Time
	Success     bool
	ExitCode    int
	StoredBytes int64 // bytes of the stored object (compressed)
	RawBytes    int64 // bytes of SQL
	Rows        int64
	Tables      int
	// Verified is set for a backup or verify whose object was read back and matched its manifest.
	Verified bool
	// Deleted is how many backups a prune (or a backup's retention) deleted.
	Deleted int
}

// Names of the metrics, documented in docs/METRICS.md.
const (
	NameLastRun     = "backupctl_last_run_timestamp_seconds"
	NameLastSuccess = "backupctl_last_success_timestamp_seconds"
	NameSuccess     = "backupctl_last_run_success"
	NameExitCode    = "backupctl_last_run_exit_code"
	NameDuration    = "backupctl_last_run_duration_seconds"
	NameStored      = "backupctl_last_run_stored_bytes"
	NameRaw         = "backupctl_last_run_raw_bytes"
	NameRows        = "backupctl_last_run_rows"
	NameTables      = "backupctl_last_run_tables"
	NameVerified    = "backupctl_last_run_verified"
	NameDeleted     = "backupctl_last_run_deleted_backups"
)

// help is each metric's help text.
var help = map[string]string{
	NameLastRun:     "Unix time in seconds when the last run ended, whatever its outcome.",
	NameLastSuccess: "Unix time in seconds when the last successful run ended (for a backup: verified by reading it back).",
	NameSuccess:     "1 if the last run succeeded, 0 if it failed.",
	NameExitCode:    "Exit code of the last run (0 success, 2 usage, 3 verification, 4 not found, 75 transient, 130 interrupted; see the README).",
	NameDuration:    "Duration of the last run in seconds.",
	NameStored:      "Bytes of the object the last run stored (backup) or read (restore, verify); 0 on failure.",
	NameRaw:         "Uncompressed SQL bytes of the last run's backup; 0 on failure.",
	NameRows:        "Rows the last run dumped or restored; 0 on failure.",
	NameTables:      "Tables the last run dumped, restored or verified; 0 on failure.",
	NameVerified:    "1 if the last run read the stored backup back and it matched its manifest, else 0.",
	NameDeleted:     "Backups the last run deleted by retention (prune, or a backup's retention rules).",
}

// Gatherer returns a registry holding run's metrics. The last success timestamp is there only
// when the run succeeded.
func Gatherer(r Run) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	set := func(name string, v float64) {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help[name]})
		g.Set(v)
		reg.MustRegister(g)
	}
	set(NameLastRun, unix(r.End))
	if r.Success {
		set(NameLastSuccess, unix(r.End))
	}
	set(NameSuccess, b2f(r.Success))
	set(NameExitCode, float64(r.ExitCode))
	set(NameDuration, r.End.Sub(r.Start).Seconds())
	set(NameStored, float64(r.StoredBytes))
	set(NameRaw, float64(r.RawBytes))
	set(NameRows, float64(r.Rows))
	set(NameTables, float64(r.Tables))
	set(NameVerified, b2f(r.Verified))
	set(NameDeleted, float64(r.Deleted))
	return reg
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// CheckURL refuses a Pushgateway URL that is not http(s) or that holds credentials: the URL is
// passed to Jobs as an argument, where a password would show in `kubectl describe`.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--metrics-push %q is not an http(s) URL such as http://pushgateway:9091", redact(raw))
	}
	if u.User != nil {
		return fmt.Errorf("--metrics-push must not hold credentials (they would show in the Job's arguments): give the Pushgateway's URL without user and password")
	}
	return nil
}

// redact hides the part of a URL before an @, where a password would be.
func redact(raw string) string {
	if i := strings.LastIndex(raw, "@"); i >= 0 {
		return "***" + raw[i:]
	}
	return raw
}

// Push sends run's metrics to the Pushgateway at gatewayURL under the group. It replaces the
// metrics of the same names in that group (POST), so the last success timestamp of an earlier
// run survives a failure. A ctx already cancelled (an interrupted run) still gets its push: the
// push has a timeout of its own.
func Push(ctx context.Context, gatewayURL string, g Group, r Run) error {
	if err := CheckURL(gatewayURL); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	schedule := g.Schedule
	if schedule == "" {
		schedule = NoSchedule
	}
	p := push.New(gatewayURL, JobName).Gatherer(Gatherer(r)).
		Grouping("operation", g.Operation).Grouping("schedule", schedule)
	if g.DBHost != "" {
		p = p.Grouping("db_host", g.DBHost)
	}
	if err := p.AddContext(ctx); err != nil {
		return fmt.Errorf("push metrics to %s: %w", redact(gatewayURL), err)
	}
	return nil
}
