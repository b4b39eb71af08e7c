package main

import (
	"context"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"

	"github.com/backupctl/backupctl/internal/cli"
	"github.com/backupctl/backupctl/jobs"
)

type scheduleCmd struct {
	Set    scheduleSetCmd    `cmd:"" help:"Install or update the nightly backup CronJob (idempotent)."`
	Show   scheduleShowCmd   `cmd:"" help:"Show the installed schedule."`
	Delete scheduleDeleteCmd `cmd:"" help:"Remove the schedule (Jobs already made are left to their TTL)."`
	Run    scheduleRunCmd    `cmd:"" help:"Run the scheduled backup now, as a Job made from the CronJob."`
}

type scheduleName struct {
	Name string `name:"name" env:"BACKUP_SCHEDULE_NAME" default:"backupctl-nightly" help:"Name of the CronJob."`
}

type scheduleSetCmd struct {
	scheduleName
	Schedule          string        `name:"schedule" env:"BACKUP_SCHEDULE" default:"0 2 * * *" help:"Cron schedule (five fields, or @daily and the like)."`
	TimeZone          string        `name:"time-zone" env:"BACKUP_TIME_ZONE" default:"Etc/UTC" help:"IANA time zone the schedule is read in."`
	StartingDeadline  time.Duration `name:"starting-deadline" env:"BACKUP_STARTING_DEADLINE" default:"3h" help:"A missed run may start this late and no later."`
	SuccessfulHistory int32         `name:"successful-history" env:"BACKUP_SUCCESSFUL_HISTORY" default:"3" help:"Finished Jobs kept."`
	FailedHistory     int32         `name:"failed-history" env:"BACKUP_FAILED_HISTORY" default:"3" help:"Failed Jobs kept."`
	Suspend           bool          `name:"suspend" env:"BACKUP_SUSPEND" help:"Install the schedule suspended."`
	cli.BackupOptions `embed:""`
	cli.DBFlags       `embed:""`
	cli.StorageFlags  `embed:""`
	kubeFlags         `embed:""`
}

// scheduleInfo is what set and show print.
type scheduleInfo struct {
	Namespace         string   `json:"namespace"`
	Name              string   `json:"name"`
	Action            string   `json:"action,omitempty"`
	Schedule          string   `json:"schedule"`
	TimeZone          string   `json:"time_zone"`
	Suspended         bool     `json:"suspended"`
	ConcurrencyPolicy string   `json:"concurrency_policy"`
	Image             string   `json:"image"`
	Args              []string `json:"args"`
	LastSchedule      string   `json:"last_schedule,omitempty"`
	LastSuccessful    string   `json:"last_successful,omitempty"`
	Active            []string `json:"active,omitempty"`
}

func infoOf(cj *batchv1.CronJob) scheduleInfo {
	in := scheduleInfo{
		Namespace: cj.Namespace, Name: cj.Name, Schedule: cj.Spec.Schedule,
		ConcurrencyPolicy: string(cj.Spec.ConcurrencyPolicy),
	}
	if cj.Spec.TimeZone != nil {
		in.TimeZone = *cj.Spec.TimeZone
	}
	if cj.Spec.Suspend != nil {
		in.Suspended = *cj.Spec.Suspend
	}
	if cs := cj.Spec.JobTemplate.Spec.Template.Spec.Containers; len(cs) > 0 {
		in.Image, in.Args = cs[0].Image, cs[0].Args
	}
	if t := cj.Status.LastScheduleTime; t != nil {
		in.LastSchedule = t.UTC().Format(time.RFC3339)
	}
	if t := cj.Status.LastSuccessfulTime; t != nil {
		in.LastSuccessful = t.UTC().Format(time.RFC3339)
	}
	for _, a := range cj.Status.Active {
		in.Active = append(in.Active, a.Name)
	}
	return in
}

// jobArgs is the dumper's command line for the CronJob's Jobs.
func (c *scheduleSetCmd) jobArgs() ([]string, error) {
	return backupArgs(c.BackupOptions, c.DBFlags, c.StorageFlags, c.kubeFlags)
}

func (c *scheduleSetCmd) Run(ctx context.Context, g *cli.Globals) error {
	args, err := c.jobArgs()
	if err != nil {
		return err
	}
	sd := int64(c.StartingDeadline / time.Second)
	cj, err := jobs.CronJob(c.spec(args), jobs.CronSpec{
		Name: c.Name, Schedule: c.Schedule, TimeZone: c.TimeZone, StartingDeadlineSeconds: &sd,
		SuccessfulJobsHistoryLimit: &c.SuccessfulHistory, FailedJobsHistoryLimit: &c.FailedHistory,
		Suspend: c.Suspend,
	})
	if err != nil {
		return err
	}
	kc, err := c.client()
	if err != nil {
		return err
	}
	if err := kc.Preflight(ctx, c.spec(args)); err != nil {
		return err
	}
	out, applied, err := kc.ApplyCronJob(ctx, cj)
	if err != nil {
		return err
	}
	in := infoOf(out)
	in.Action = string(applied)
	return g.Print(in)
}

type scheduleShowCmd struct {
	scheduleName
	kubeConn `embed:""`
}

func (c *scheduleShowCmd) Run(ctx context.Context, g *cli.Globals) error {
	kc, err := c.connect(ctx)
	if err != nil {
		return err
	}
	cj, err := kc.GetCronJob(ctx, c.Namespace, c.Name)
	if err != nil {
		return err
	}
	return g.Print(infoOf(cj))
}

type scheduleDeleteCmd struct {
	scheduleName
	kubeConn `embed:""`
}

func (c *scheduleDeleteCmd) Run(ctx context.Context, g *cli.Globals) error {
	kc, err := c.connect(ctx)
	if err != nil {
		return err
	}
	if err := kc.DeleteCronJob(ctx, c.Namespace, c.Name); err != nil {
		return err
	}
	return g.Print(map[string]string{"namespace": c.Namespace, "name": c.Name, "action": "deleted"})
}

type scheduleRunCmd struct {
	scheduleName
	kubeConn `embed:""`
	waitFlag `embed:""`
}

func (c *scheduleRunCmd) Run(ctx context.Context, g *cli.Globals) error {
	kc, err := c.connect(ctx)
	if err != nil {
		return err
	}
	job, err := kc.TriggerCronJob(ctx, c.Namespace, c.Name, time.Now(), jobs.NameSuffix())
	if err != nil {
		return fmt.Errorf("run schedule %s/%s: %w", c.Namespace, c.Name, err)
	}
	if !c.Wait {
		return printCreated(g, job.Namespace, job.Name)
	}
	return followJob(ctx, g, kc, job.Namespace, job.Name)
}
