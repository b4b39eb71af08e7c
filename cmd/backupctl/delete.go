package main

import (
	"context"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/internal/cli"
)

type deleteCmd struct {
	IDs              []string `arg:"" name:"id" help:"Backup ids to delete (see backupctl list), or latest (with --set when the storage holds several sets)."`
	Set              string   `name:"set" env:"BACKUP_SET" help:"With the id latest: the backup set whose newest backup to delete (needed when the storage holds several sets)."`
	DryRun           bool     `name:"dry-run" env:"BACKUP_DELETE_DRY_RUN" help:"Show what would be deleted; delete nothing."`
	cli.StorageFlags `embed:""`
}

func (c *deleteCmd) Run(ctx context.Context, g *cli.Globals) error {
	b, err := c.StorageFlags.Open(ctx)
	if err != nil {
		return err
	}
	ids := make([]string, len(c.IDs))
	for i, id := range c.IDs {
		if ids[i], err = cli.ResolveID(ctx, b, id, c.Set); err != nil {
			return err
		}
	}
	rep, err := backup.Delete(ctx, b, ids, c.DryRun)
	if rep != nil {
		if perr := g.Print(rep); err == nil {
			err = perr
		}
	}
	return err
}
