package main

import (
	"context"
	"time"

	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/internal/cli"
	"github.com/backupctl/backupctl/jobs"
)

type restoreCmd struct {
	ID                 string `arg:"" help:"Backup id (see backupctl list), or latest (with --set when the storage holds several sets)."`
	Local              bool   `name:"local" env:"BACKUP_LOCAL" help:"Restore from this process instead of a Kubernetes Job."`
	cli.RestoreOptions `embed:""`
	cli.DBFlags        `embed:""`
	cli.StorageFlags   `embed:""`
	kubeFlags          `embed:""`
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
	return runJob(ctx, g, c.kubeFlags, kc, jobs.RestoreJob(s, c.ID, time.Now()), s)
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
	}.Args(), nil
}
