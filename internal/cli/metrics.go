package cli

import (
	"context"
	"time"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/metrics"
)

// MetricsFlags say where a run pushes its metrics at its end, success or failure.
type MetricsFlags struct {
	MetricsPush string `name:"metrics-push" env:"BACKUP_METRICS_PUSH" help:"Pushgateway URL (e.g. http://pushgateway:9091) the run pushes its metrics to at its end, success or failure; see docs/METRICS.md."`
}

// Check refuses a URL that is not http(s) or that holds credentials.
func (m MetricsFlags) Check() error {
	if m.MetricsPush == "" {
		return nil
	}
	if err := metrics.CheckURL(m.MetricsPush); err != nil {
		return contract.Usagef("%v", err)
	}
	return nil
}

// push pushes a run's metrics when --metrics-push is set. A push that fails is a warning on
// stderr: it never changes the run's outcome.
func (m MetricsFlags) push(ctx context.Context, g *Globals, grp metrics.Group, run metrics.Run, runErr error) {
	if m.MetricsPush == "" {
		return
	}
	run.End = time.Now()
	run.Success, run.ExitCode = runErr == nil, ExitCode(runErr)
	if err := metrics.Push(ctx, m.MetricsPush, grp, run); err != nil {
		g.Logger().Warn("metrics not pushed; the run's outcome stands", "err", err)
	}
}

// dbHost is the host a run's metrics are grouped by: the socket's machine for a socket.
func dbHost(f DBFlags) string {
	if f.DBSocket != "" {
		return "localhost"
	}
	return f.DBHost
}

// backupRun is what a backup's result says for its metrics (nil: the backup failed).
func backupRun(start time.Time, res *BackupResult) metrics.Run {
	r := metrics.Run{Start: start}
	if res == nil || res.Result == nil {
		return r
	}
	r.StoredBytes, r.RawBytes, r.Rows, r.Tables, r.Verified = res.Size, res.RawSize, res.Rows, res.Tables, res.Verified
	r.Deleted = pruneDeleted(res.Pruned)
	return r
}

// restoreRun is what a restore's report says for its metrics.
func restoreRun(start time.Time, rep *backup.RestoreReport) metrics.Run {
	r := metrics.Run{Start: start}
	if rep != nil {
		r.StoredBytes, r.Rows, r.Tables = rep.Bytes, rep.Rows, rep.Tables
	}
	return r
}

// verifyRun is what a verification's report says for its metrics.
func verifyRun(start time.Time, rep *backup.VerifyReport) metrics.Run {
	r := metrics.Run{Start: start}
	if rep != nil {
		r.StoredBytes, r.RawBytes, r.Tables, r.Verified = rep.BytesRead, rep.RawBytes, rep.Tables, rep.Verified
	}
	return r
}

// pruneDeleted counts the backups a prune deleted.
func pruneDeleted(rep *backup.PruneReport) int {
	n := 0
	if rep != nil {
		for _, s := range rep.Sets {
			n += len(s.Deleted)
		}
	}
	return n
}

// PushPrune pushes a prune's metrics (backupctl's prune command).
func (m MetricsFlags) PushPrune(ctx context.Context, g *Globals, set string, start time.Time, rep *backup.PruneReport, runErr error) {
	m.push(ctx, g, metrics.Group{Operation: metrics.Prune, Schedule: set}, metrics.Run{Start: start, Deleted: pruneDeleted(rep)}, runErr)
}
