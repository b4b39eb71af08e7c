package main

import (
	"fmt"

	"github.com/backupctl/backupctl/internal/cli"
)

type versionCmd struct{}

func (versionCmd) Run(g *cli.Globals) error {
	_, err := fmt.Fprintln(g.Out(), cli.VersionString("backupctl"))
	return err
}
