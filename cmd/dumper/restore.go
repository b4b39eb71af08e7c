package main

import (
	"context"

	"github.com/backupctl/backupctl/internal/cli"
)

type restoreCmd struct {
	ID                 string `arg:"" optional:"" help:"Backup id (see backupctl list), or latest (with --set when the storage holds several sets); a point-in-time restore picks one when none is given."`
	cli.RestoreOptions `embed:""`
	cli.DBFlags        `embed:""`
	cli.StorageFlags   `embed:""`
}

func (c *restoreCmd) Run(ctx context.Context, g *cli.Globals) error {
	if c.PITR.Enabled() || c.ID == "" {
		res, err := cli.LocalPITR(ctx, g, c.DBFlags, c.StorageFlags, c.ID, c.RestoreOptions)
		return g.Report(res, err)
	}
	res, err := cli.LocalRestore(ctx, g, c.DBFlags, c.StorageFlags, c.ID, c.RestoreOptions)
	return g.Report(res, err)
}
