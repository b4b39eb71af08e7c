package main

import (
	"context"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/internal/cli"
)

type pruneCmd struct {
	cli.RetentionFlags `embed:""`
	DryRun             bool `name:"dry-run" env:"BACKUP_PRUNE_DRY_RUN" help:"Show what would be deleted; delete nothing."`
	cli.StorageFlags   `embed:""`
	cli.VerifyKeyFlags `embed:""`
}

func (c *pruneCmd) Run(ctx context.Context, g *cli.Globals) error {
	if !c.RetentionFlags.Enabled() {
		return contract.Usagef("%v", backup.ErrNoPolicy)
	}
	key, err := c.Key()
	if err != nil {
		return err
	}
	b, err := c.StorageFlags.Open(ctx)
	if err != nil {
		return err
	}
	rep, err := backup.Prune(ctx, b, backup.PruneOptions{KeepLast: c.KeepLast, KeepDaily: c.KeepDaily, DryRun: c.DryRun, VerifyKey: key})
	if err != nil {
		return err
	}
	return g.Print(rep)
}
