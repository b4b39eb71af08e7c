package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/storage"
	batchv1 "k8s.io/api/batch/v1"

	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/internal/cli"
	"github.com/backupctl/backupctl/jobs"
)

type restoreCmd struct {
	ID                 string `arg:"" optional:"" help:"Backup id (see backupctl list), or latest (with --set when the storage holds several sets); a point-in-time restore picks one when none is given."`
	Local              bool   `name:"local" env:"BACKUP_LOCAL" help:"Restore from this process instead of a Kubernetes Job."`
	cli.RestoreOptions `embed:""`
	jobFlags           `embed:""`
}

func (c *restoreCmd) Run(ctx context.Context, g *cli.Globals) error {
	if err := c.RestoreOptions.Check(); err != nil {
		return err
	}
	if err := c.RestoreOptions.CheckPITR(c.ID); err != nil {
		return err
	}
	if c.Local && c.PITR.Enabled() {
		res, err := cli.LocalPITR(ctx, g, c.DBFlags, c.StorageFlags, c.ID, c.RestoreOptions)
		if err != nil {
			return err
		}
		return g.Print(res)
	}
	if c.Local {
		res, err := cli.LocalRestore(ctx, g, c.DBFlags, c.StorageFlags, c.ID, c.RestoreOptions)
		if err != nil {
			return err
		}
		return g.Print(res)
	}
	return c.launch(ctx, g, c.jobArgs, func(s jobs.Spec) *batchv1.Job {
		return jobs.RestoreJob(s, c.ID, time.Now(), jobs.NameSuffix())
	}, func(ctx context.Context) error { return c.checkBackup(ctx, g) })
}

// checkBackup reads the backup's manifest with this process's storage settings, when it has
// the keys, so a missing backup or a table not in it is said before a Job is created; without
// the keys it says on stderr that the Job will check.
func (c *restoreCmd) checkBackup(ctx context.Context, g *cli.Globals) error {
	if c.ID == "" {
		return nil // a point-in-time restore: the Job picks the base backup
	}
	if c.To == "" && !haveS3Keys() {
		if !g.Quiet {
			fmt.Fprintf(g.Err(), "not checked here: that backup %s exists (no %s and %s in this environment); the Job checks it\n",
				c.ID, contract.EnvAWSAccessKey, contract.EnvAWSSecretKey)
		}
		return nil
	}
	b, err := c.StorageFlags.Open(ctx)
	if err != nil {
		return err
	}
	m, err := backup.LoadManifest(ctx, b, c.ID)
	if errors.Is(err, backup.ErrNoManifest) {
		return contract.NotFound(fmt.Errorf("backup %s not found at %s (pruned, or another --prefix?): see backupctl list", c.ID, storage.RedactURL(c.S3Endpoint)))
	}
	if err != nil {
		return err
	}
	if m, err = c.openEncrypted(m, g); m == nil || err != nil {
		return err
	}
	return c.RestoreOptions.CheckRestore(m)
}

// jobArgs is the dumper's command line for the Job.
func (c *restoreCmd) jobArgs() ([]string, error) {
	conn, bucket, err := dumperConn(c.DBFlags, c.StorageFlags, c.kubeFlags)
	if err != nil {
		return nil, err
	}
	o := c.RestoreOptions
	key, err := o.Key()
	if err != nil {
		return nil, err
	}
	var verifyKey string
	if key != nil {
		verifyKey = key.String() // public: the Job may carry it as an argument
	}
	return contract.RestoreCommand{
		ID: c.ID, Databases: o.Database, Tables: o.Table, Into: o.Into,
		WithoutFKs: o.WithoutFKs, WithoutTrig: o.WithoutTrig,
		DropExisting: o.DropExisting, DryRun: o.DryRun, NoVerifyFirst: o.NoVerifyFirst, Parallel: o.Parallel,
		Users: o.Users, Set: o.Set, VerifyKey: verifyKey, DB: conn, Storage: bucket,
		MetricsPush: o.MetricsPush,
		ToTime:      o.PITR.ToTime, ToGTID: o.PITR.ToGTID, ToLatest: o.PITR.ToLatest, ReplayLock: pitrLock(o.PITR),
	}.Args(), nil
}

// pitrLock passes --replay-lock to the Job only for a point-in-time restore.
func pitrLock(f cli.PITRFlags) string {
	if !f.Enabled() {
		return ""
	}
	return f.ReplayLock
}
