package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/backup/binlog"
	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/internal/cli"
	"github.com/backupctl/backupctl/jobs"
)

type binlogCmd struct {
	Archive binlogArchiveCmd `cmd:"" help:"Archive the server's binary log into the storage: here with --local (until SIGINT/SIGTERM), else as a Deployment."`
	Status  binlogStatusCmd  `cmd:"" help:"Show each binlog archive: from and to (time, GTID), lag behind the server, segments, bytes, gaps."`
	Stop    binlogStopCmd    `cmd:"" help:"Remove the archiver's Deployment (its pod stores its open segment first)."`
}

type binlogArchiveCmd struct {
	Local            bool `name:"local" env:"BACKUP_LOCAL" help:"Archive from this process, in the foreground, until SIGINT or SIGTERM (then the open segment is stored)."`
	cli.ArchiveFlags `embed:""`
	jobFlags         `embed:""`
}

func (c *binlogArchiveCmd) Run(ctx context.Context, g *cli.Globals) error {
	if !c.Local {
		return c.deploy(ctx, g)
	}
	return cli.LocalArchive(ctx, g, c.DBFlags, c.StorageFlags, c.ArchiveFlags)
}

type binlogStatusCmd struct {
	cli.StorageFlags `embed:"" group:"storage"`
	cli.DBFlags      `embed:"" group:"connection"`
	NoServer         bool `name:"no-server" env:"BACKUP_BINLOG_NO_SERVER" help:"Do not ask the server for its position (no lag)."`
}

func (c *binlogStatusCmd) Run(ctx context.Context, g *cli.Globals) error {
	b, err := c.StorageFlags.Open(ctx)
	if err != nil {
		return err
	}
	var db *backup.DBConfig
	if !c.NoServer {
		cfg, err := c.DBFlags.Config()
		if err != nil {
			return err
		}
		db = &cfg
	}
	st, err := binlog.Status(ctx, b, db)
	if err != nil && db != nil {
		if !g.Quiet {
			fmt.Fprintf(g.Err(), "not compared with the server (%v): the lag is not shown\n", err)
		}
		st, err = binlog.Status(ctx, b, nil)
	}
	if err != nil {
		return err
	}
	if g.Output == "json" {
		return g.Print(st)
	}
	tw := tabwriter.NewWriter(g.Out(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ARCHIVE\tFROM\tTO\tTO-GTID\tLAG\tSEGMENTS\tSIZE\tGAPS")
	for _, s := range st {
		lag := "-"
		if s.Server != nil {
			lag = fmt.Sprintf("%s (%d tx)", (time.Duration(s.Server.Seconds) * time.Second).String(), s.Server.Transactions)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%d\n", s.Archive, s.FromTime.Format(time.RFC3339), s.ToTime.Format(time.RFC3339),
			s.ToGTID, lag, s.Segments, humanize.IBytes(uint64(s.Bytes)), len(s.Gaps))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range st {
		for _, gp := range s.Gaps {
			fmt.Fprintf(g.Out(), "gap in %s before segment %d: %s to %s: %s\n", s.Archive, gp.Seq, gp.After, gp.Before, gp.Reason)
		}
	}
	return nil
}

// deploy installs or updates the archiver's Deployment.
func (c *binlogArchiveCmd) deploy(ctx context.Context, g *cli.Globals) error {
	if _, err := c.ArchiveFlags.Options(g); err != nil {
		return err
	}
	args, err := c.jobArgs()
	if err != nil {
		return err
	}
	kc, err := c.client()
	if err != nil {
		return err
	}
	s := c.spec(args)
	if err := kc.Preflight(ctx, s); err != nil {
		return err
	}
	d, applied, err := kc.ApplyDeployment(ctx, jobs.ArchiverDeployment(s))
	if err != nil {
		return err
	}
	return g.Print(archiverResult{Deployment: d.Namespace + "/" + d.Name, Applied: string(applied)})
}

// jobArgs is the command line of the Deployment's dumper.
func (c *binlogArchiveCmd) jobArgs() ([]string, error) {
	conn, bucket, err := dumperConn(c.DBFlags, c.StorageFlags, c.kubeFlags)
	if err != nil {
		return nil, err
	}
	return contract.ArchiveCommand{
		SegmentInterval: c.SegmentInterval, SegmentSize: c.SegmentSize, ServerID: c.ServerID, StartGTID: c.StartGTID,
		DB: conn, Storage: bucket,
	}.Args(), nil
}

// archiverResult is what `binlog archive` and `binlog stop` print.
type archiverResult struct {
	Deployment string `json:"deployment"`
	Applied    string `json:"applied"`
}

type binlogStopCmd struct {
	kubeConn `embed:"" group:"kubernetes"`
}

func (c *binlogStopCmd) Run(ctx context.Context, g *cli.Globals) error {
	kc, err := c.connect(ctx)
	if err != nil {
		return err
	}
	if err := kc.DeleteDeployment(ctx, c.Namespace, jobs.ArchiverName); err != nil {
		return err
	}
	return g.Print(archiverResult{Deployment: c.Namespace + "/" + jobs.ArchiverName, Applied: "deleted"})
}
