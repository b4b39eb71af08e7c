package main

import (
	"context"

	"github.com/backupctl/backupctl/internal/cli"
)

type restoreCmd struct {
	ID                 string `arg:"" help:"Backup id (see backupctl list)."`
	Local              bool   `name:"local" env:"BACKUP_LOCAL" help:"Restore from this process instead of a Kubernetes Job."`
	cli.RestoreOptions `embed:""`
	cli.DBFlags        `embed:""`
	cli.StorageFlags   `embed:""`
}

func (c *restoreCmd) Run(ctx context.Context, g *cli.Globals) error {
	if !c.Local {
		return cli.Usagef("running the restore as a Kubernetes Job is not available in this build; use --local")
	}
	res, err := cli.LocalRestore(ctx, g, c.DBFlags, c.StorageFlags, c.ID, c.RestoreOptions)
	if err != nil {
		return err
	}
	return g.Print(res)
}
