package main

import (
	"context"
	"time"

	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/internal/cli"
	"github.com/backupctl/backupctl/jobs"
	batchv1 "k8s.io/api/batch/v1"
)

type backupCmd struct {
	Now backupNowCmd `cmd:"" help:"Take a verified backup now."`
}

type backupNowCmd struct {
	Local             bool `name:"local" env:"BACKUP_LOCAL" help:"Dump from this process instead of a Kubernetes Job."`
	cli.BackupOptions `embed:""`
	jobFlags          `embed:""`
}

func (c *backupNowCmd) Run(ctx context.Context, g *cli.Globals) error {
	if c.Local {
		res, err := cli.LocalBackup(ctx, g, c.DBFlags, c.StorageFlags, c.BackupOptions)
		if err != nil {
			return err
		}
		return g.Print(res)
	}
	return c.launch(ctx, g, c.jobArgs, func(s jobs.Spec) *batchv1.Job {
		return jobs.BackupJob(s, time.Now(), jobs.NameSuffix())
	}, nil)
}

// jobArgs is the dumper's command line for the Job.
func (c *backupNowCmd) jobArgs() ([]string, error) {
	return backupArgs(c.BackupOptions, c.DBFlags, c.StorageFlags, c.kubeFlags)
}

// backupArgs is the dumper's command line for a backup Job, now or on the schedule.
func backupArgs(o cli.BackupOptions, db cli.DBFlags, st cli.StorageFlags, k kubeFlags) ([]string, error) {
	r := o.RetentionFlags
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if err := o.MetricsFlags.Check(); err != nil {
		return nil, err
	}
	conn, bucket, err := dumperConn(db, st, k)
	if err != nil {
		return nil, err
	}
	rcpts, err := o.RecipientArgs()
	if err != nil {
		return nil, err
	}
	return contract.BackupCommand{
		Databases: o.Database, Compression: o.Compression, CompressionLevel: o.CompressionLevel,
		Parallel: o.Parallel, Set: o.Set, Scheduled: o.Scheduled,
		KeepLast: r.KeepLast, KeepHourly: r.KeepHourly, KeepDaily: r.KeepDaily, KeepWeekly: r.KeepWeekly,
		KeepMonthly: r.KeepMonthly, KeepWithin: r.KeepWithin, IncludeManual: r.IncludeManual,
		Users: o.Users, Recipients: rcpts, DB: conn, Storage: bucket,
		MetricsPush: o.MetricsPush,
	}.Args(), nil
}
