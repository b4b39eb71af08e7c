package cli

import (
	"context"
	"errors"
	"time"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/backup/binlog"
	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/storage"
)

// PITRFlags ask a restore to continue past its backup with the archived binlog.
type PITRFlags struct {
	ToTime     string `name:"to-time" env:"BACKUP_RESTORE_TO_TIME" help:"Point-in-time restore: replay the archived binlog up to this time (RFC 3339, e.g. 2026-11-28T14:03:00Z): every transaction committed at or before it, nothing after. Without a backup id, the newest backup finished before it is the base."`
	ToGTID     string `name:"to-gtid" env:"BACKUP_RESTORE_TO_GTID" help:"Point-in-time restore up to and including this transaction (domain-server-sequence, e.g. 0-1-12345)."`
	ToLatest   bool   `name:"to-latest" env:"BACKUP_RESTORE_TO_LATEST" help:"Point-in-time restore up to the last archived transaction before any gap."`
	ReplayLock string `name:"replay-lock" env:"BACKUP_RESTORE_REPLAY_LOCK" enum:"read-only,none" default:"read-only" help:"How a point-in-time restore keeps other writers off the target until the replay ends: read-only (SET GLOBAL read_only=1; the restoring user needs READ_ONLY ADMIN) or none."`
}

// Enabled says whether a point in time was asked for.
func (f PITRFlags) Enabled() bool { return f.ToTime != "" || f.ToGTID != "" || f.ToLatest }

// Target checks the flags and returns the target.
func (f PITRFlags) Target() (binlog.Target, error) {
	n := 0
	for _, set := range []bool{f.ToTime != "", f.ToGTID != "", f.ToLatest} {
		if set {
			n++
		}
	}
	if n > 1 {
		return binlog.Target{}, contract.Usagef("--to-time, --to-gtid and --to-latest exclude each other: give one")
	}
	switch {
	case f.ToTime != "":
		t, err := time.Parse(time.RFC3339, f.ToTime)
		if err != nil {
			return binlog.Target{}, contract.Usagef("--to-time %q is not an RFC 3339 time such as 2026-11-28T14:03:00Z", f.ToTime)
		}
		return binlog.Target{Time: t.UTC()}, nil
	case f.ToGTID != "":
		g, err := binlog.ParseGTID(f.ToGTID)
		if err != nil {
			return binlog.Target{}, contract.Usagef("--to-gtid: %v", err)
		}
		return binlog.Target{GTID: &g}, nil
	}
	return binlog.Target{Latest: true}, nil
}

// CheckPITR refuses what a point-in-time restore cannot do: the binlog names the source's
// databases and tables, and replays whole transactions.
func (o RestoreOptions) CheckPITR(id string) error {
	if !o.PITR.Enabled() {
		if id == "" {
			return contract.Usagef("give a backup id (see backupctl list), or --to-time, --to-gtid or --to-latest to pick one")
		}
		return nil
	}
	if o.Into != "" || len(o.Table) > 0 || o.Users {
		return contract.Usagef("--into, --table and --users cannot be combined with a point-in-time restore: the binlog replays whole transactions into the original databases; restore a whole backup or --database")
	}
	_, err := o.PITR.Target()
	return err
}

// PITRReport is what a point-in-time restore did (or, with --dry-run, would do).
type PITRReport struct {
	Plan     *binlog.Plan          `json:"plan"`
	Restore  *backup.RestoreReport `json:"restore"`
	Replayed *binlog.Counts        `json:"replayed,omitempty"`
	DryRun   bool                  `json:"dry_run,omitempty"`
	// StockPath is the same replay with the MariaDB tools, on the downloaded segments.
	StockPath string `json:"stock_path"`
}

// LocalPITR restores a backup and replays the archived binlog to the target: it checks every
// segment first, closes the target to other writers, restores the base as a plain restore
// does, replays, and reopens the target.
func LocalPITR(ctx context.Context, g *Globals, dbf DBFlags, st StorageFlags, id string, o RestoreOptions) (*PITRReport, error) {
	if err := o.CheckPITR(id); err != nil {
		return nil, err
	}
	target, _ := o.PITR.Target()
	db, err := dbf.Config()
	if err != nil {
		return nil, err
	}
	key, err := o.Key()
	if err != nil {
		return nil, err
	}
	b, err := st.Open(ctx)
	if err != nil {
		return nil, err
	}
	m, err := pitrBase(ctx, b, id, o, target, key)
	if err != nil {
		return nil, err
	}
	entries, err := binlog.LoadIndex(ctx, b, m.ServerID)
	if err != nil {
		return nil, err
	}
	dbs := o.Database
	if len(dbs) == 0 {
		dbs = m.DatabaseNames()
	}
	plan, err := binlog.MakePlan(ctx, b, m, entries, target, dbs)
	if err != nil {
		return nil, pitrError(err)
	}
	rep := &PITRReport{Plan: plan, DryRun: o.DryRun, StockPath: plan.StockPath()}
	if o.DryRun {
		rep.Restore, err = LocalRestore(ctx, g, dbf, st, m.ID, o)
		return rep, err
	}
	if o.PITR.ReplayLock != "none" {
		reopen, err := binlog.CloseTarget(ctx, db)
		if err != nil {
			return nil, contract.Usagef("%v", err)
		}
		defer func() {
			if rerr := reopen(context.WithoutCancel(ctx)); rerr != nil {
				g.Logger().Error("the target stays read-only", "error", rerr.Error())
			}
		}()
	}
	if rep.Restore, err = LocalRestore(ctx, g, dbf, st, m.ID, o); err != nil {
		return rep, err
	}
	counts, err := binlog.Replay(ctx, db, b, plan, g.Logger())
	rep.Replayed = &counts
	return rep, explainDB(err)
}

// pitrBase is the backup named by id, or the newest one the target can start from.
func pitrBase(ctx context.Context, b storage.Bucket, id string, o RestoreOptions, t binlog.Target, key *backup.VerifyKey) (*backup.Manifest, error) {
	if id != "" && id != "latest" {
		m, err := backup.LoadManifest(ctx, b, id)
		if err == nil && key != nil {
			err = key.Check(m)
		}
		return m, err
	}
	ms, err := backup.List(ctx, b)
	if err != nil {
		return nil, err
	}
	ms = backup.OnlyAuthenticated(ms, key)
	if o.Set != "" {
		var in []*backup.Manifest
		for _, m := range ms {
			if m.SetName() == o.Set {
				in = append(in, m)
			}
		}
		ms = in
	}
	archives, err := binlog.Archives(ctx, b)
	if err != nil {
		return nil, err
	}
	if len(archives) != 1 {
		return nil, contract.Usagef("the storage holds %d binlog archives: give the backup id to restore from (see backupctl list)", len(archives))
	}
	m, err := binlog.ChooseBase(ms, archives[0], t)
	return m, pitrError(err)
}

// pitrError gives an unreachable target its exit code (refused).
func pitrError(err error) error {
	if errors.Is(err, binlog.ErrUnreachable) {
		return &contract.ExitError{Code: contract.ExitRefused, Err: err}
	}
	return err
}
