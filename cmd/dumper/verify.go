package main

import (
	"context"

	"github.com/backupctl/backupctl/internal/cli"
)

type verifyCmd struct {
	ID               string `arg:"" help:"Backup id (see backupctl list)."`
	cli.StorageFlags `embed:""`
}

func (c *verifyCmd) Run(ctx context.Context, g *cli.Globals) error {
	res, err := cli.LocalVerify(ctx, c.StorageFlags, c.ID)
	cli.WriteTerminationLog(res, err)
	if err != nil {
		return err
	}
	return g.Print(res)
}
