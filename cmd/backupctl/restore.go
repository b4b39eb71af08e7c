package main

import (
	"context"
	"time"

	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/internal/cli"
	"github.com/backupctl/backupctl/jobs"
)

type restoreCmd struct {
	ID                 string `arg:"" help:"Backup id (see backupctl list)."`
	Local              bool   `name:"local" env:"BACKUP_LOCAL" help:"Restore from this process instead of a Kubernetes Job."`
	cli.RestoreOptions `embed:""`
	cli.DBFlags        `embed:""`
	cli.StorageFlags   `embed:""`
	kubeFlags          `embed:""`
	waitFlag           `embed:""`
}

func (c *restoreCmd) Run(ctx context.Context, g *cli.Globals) error {
	if c.Local {
		res, err := cli.LocalRestore(ctx, g, c.DBFlags, c.StorageFlags, c.ID, c.RestoreOptions)
		if err != nil {
			return err
		}
		return g.Print(res)
	}
	args, err := c.jobArgs()
	if err != nil {
		return err
	}
	kc, err := c.client()
	if err != nil {
		return err
	}
	s := c.spec(args)
	return runJob(ctx, g, c.Wait, kc, jobs.RestoreJob(s, c.ID, time.Now(), jobs.NameSuffix()), s)
}

// jobArgs is the dumper's command line for the Job.
func (c *restoreCmd) jobArgs() ([]string, error) {
	conn, bucket, err := dumperConn(c.DBFlags, c.StorageFlags, c.kubeFlags)
	if err != nil {
		return nil, err
	}
	o := c.RestoreOptions
	return contract.RestoreCommand{
		ID: c.ID, Databases: o.Database, Tables: o.Table, Into: o.Into,
		DropExisting: o.DropExisting, DryRun: o.DryRun, NoVerifyFirst: o.NoVerifyFirst, Parallel: o.Parallel,
		DB: conn, Storage: bucket,
	}.Args(), nil
}
