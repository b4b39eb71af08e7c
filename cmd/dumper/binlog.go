package main

import (
	"context"

	"github.com/backupctl/backupctl/internal/cli"
)

type binlogCmd struct {
	Archive binlogArchiveCmd `cmd:"" help:"Archive the server's binary log into the storage until stopped (SIGTERM stores the open segment)."`
}

type binlogArchiveCmd struct {
	cli.ArchiveFlags `embed:""`
	cli.DBFlags      `embed:""`
	cli.StorageFlags `embed:""`
}

func (c *binlogArchiveCmd) Run(ctx context.Context, g *cli.Globals) error {
	return g.Report(nil, cli.LocalArchive(ctx, g, c.DBFlags, c.StorageFlags, c.ArchiveFlags))
}
