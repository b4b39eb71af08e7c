package main

import (
	"context"

	"github.com/backupctl/backupctl/internal/cli"
)

type backupCmd struct {
	Now backupNowCmd `cmd:"" help:"Take a verified backup now."`
}

type backupNowCmd struct {
	Local             bool `name:"local" env:"BACKUP_LOCAL" help:"Dump from this process instead of a Kubernetes Job."`
	cli.BackupOptions `embed:""`
	cli.DBFlags       `embed:""`
	cli.StorageFlags  `embed:""`
}

func (c *backupNowCmd) Run(ctx context.Context, g *cli.Globals) error {
	if !c.Local {
		return cli.Usagef("running the backup as a Kubernetes Job is not available in this build; use --local")
	}
	res, err := cli.LocalBackup(ctx, g, c.DBFlags, c.StorageFlags, c.BackupOptions)
	if err != nil {
		return err
	}
	return g.Print(res)
}
