package main

import (
	"context"
	"fmt"
	"time"

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
	conn, err := dumperArgs(c.DBFlags, c.StorageFlags, c.kubeFlags)
	if err != nil {
		return nil, err
	}
	o := c.RestoreOptions
	args := []string{"restore", c.ID}
	for _, d := range o.Database {
		args = append(args, "--database="+d)
	}
	for _, t := range o.Table {
		args = append(args, "--table="+t)
	}
	if o.Into != "" {
		args = append(args, "--into="+o.Into)
	}
	for _, f := range []struct {
		name string
		on   bool
	}{{"--drop-existing", o.DropExisting}, {"--dry-run", o.DryRun}, {"--no-verify-first", o.NoVerifyFirst}} {
		if f.on {
			args = append(args, f.name)
		}
	}
	if o.Parallel > 0 {
		args = append(args, fmt.Sprintf("--parallel=%d", o.Parallel))
	}
	return append(args, conn...), nil
}
