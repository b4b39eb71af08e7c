package main

import (
	"context"

	"github.com/backupctl/backupctl/internal/cli"
)

type backupCmd struct {
	cli.BackupOptions `embed:""`
	cli.DBFlags       `embed:""`
	cli.StorageFlags  `embed:""`
}

func (c *backupCmd) Run(ctx context.Context, g *cli.Globals) error {
	res, err := cli.LocalBackup(ctx, g, c.DBFlags, c.StorageFlags, c.BackupOptions)
	return g.Report(res, err)
}
