// Command dumper is what the backup and restore Jobs run: it dumps MariaDB to object storage and
// verifies the object, or restores a backup, and reports its result as the container's
// termination message.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/backupctl/backupctl/internal/cli"
)

type dumperCLI struct {
	cli.Globals

	Backup  backupCmd     `cmd:"" help:"Dump MariaDB to object storage and verify the stored backup."`
	Restore restoreCmd    `cmd:"" help:"Restore a backup into MariaDB."`
	Verify  cli.VerifyCmd `cmd:"" help:"Read a stored backup back and check it against its manifest."`
	Version versionCmd    `cmd:"" help:"Print the version."`
	Binlog  binlogCmd     `cmd:"" help:"Archive the binary log for point-in-time recovery."`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := &dumperCLI{}
	kctx, err := cli.Parse(ctx, "dumper", "Runs inside the backupctl Jobs: dump, verify and restore MariaDB.", c, os.Args[1:])
	if err == nil {
		err = kctx.Run()
	}
	os.Exit(cli.Exit(&c.Globals, "dumper", err))
}

type versionCmd struct{}

func (versionCmd) Run(g *cli.Globals) error {
	_, err := fmt.Fprintln(g.Out(), cli.VersionString("dumper"))
	return err
}
