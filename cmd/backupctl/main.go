// Command backupctl takes verified backups of MariaDB through Kubernetes Jobs, restores them, and
// installs the nightly CronJob.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/backupctl/backupctl/internal/cli"
)

// description heads backupctl --help.
const description = "Verified MariaDB backups on Kubernetes."

type backupctlCLI struct {
	cli.Globals

	Backup   backupCmd   `cmd:"" help:"Take backups."`
	Restore  restoreCmd  `cmd:"" help:"Restore a backup (through a Job, or here with --local)."`
	Verify   verifyCmd   `cmd:"" help:"Read a stored backup back and check it against its manifest."`
	List     listCmd     `cmd:"" help:"List the backups, newest first."`
	Schedule scheduleCmd `cmd:"" help:"Install, show, remove or run the nightly backup CronJob."`
	Status   statusCmd   `cmd:"" help:"The schedule's next and last run, the newest verified backup and its age, and what is wrong (--max-age: exit 6 when too old)."`
	Prune    pruneCmd    `cmd:"" help:"Delete the backups the retention rules do not keep, within each backup set."`
	Delete   deleteCmd   `cmd:"" help:"Delete backups by id (or latest)."`
	Keygen   keygenCmd   `cmd:"" help:"Make the key pair that signs backups: the private key to a file, the public key on stdout."`
	Jobs     jobsCmd     `cmd:"" help:"List recent backup and restore Jobs with their state."`
	Logs     logsCmd     `cmd:"" help:"Print (or follow with -f) the dumper's log of a Job."`
	Wait     waitCmd     `cmd:"" help:"Follow a Job to its end and exit as if it had been run here."`
	Version  versionCmd  `cmd:"" help:"Print the version."`
	Binlog   binlogCmd   `cmd:"" help:"Archive the binary log for point-in-time restores, show or stop the archive."`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := &backupctlCLI{}
	kctx, err := cli.Parse(ctx, "backupctl", description, c, os.Args[1:])
	if err == nil {
		err = kctx.Run()
	}
	os.Exit(cli.Exit(&c.Globals, "backupctl", err))
}
