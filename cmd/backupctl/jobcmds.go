package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/internal/cli"
	"github.com/backupctl/backupctl/jobs"
)

type jobsCmd struct {
	kubeConn `embed:"" group:"kubernetes"`
}

func (c *jobsCmd) Run(ctx context.Context, g *cli.Globals) error {
	kc, err := c.connect(ctx)
	if err != nil {
		return err
	}
	js, err := kc.ListJobs(ctx, c.Namespace)
	if err != nil {
		return err
	}
	if g.Machine() {
		return g.Print(js)
	}
	tw := tabwriter.NewWriter(g.Out(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tSTATE\tSTARTED\tFINISHED\tBACKUP\tREASON")
	for _, j := range js {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", j.Name, j.Kind, j.State, j.Started, dash(j.Finished), dash(j.BackupID), dash(j.Reason))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

type logsCmd struct {
	Job      string `arg:"" help:"Job name (see backupctl jobs)."`
	Follow   bool   `name:"follow" short:"f" env:"BACKUP_FOLLOW" help:"Follow the log until the Job ends."`
	kubeConn `embed:"" group:"kubernetes"`
}

func (c *logsCmd) Run(ctx context.Context, g *cli.Globals) error {
	kc, err := c.connect(ctx)
	if err != nil {
		return err
	}
	if !c.Follow {
		return kc.Logs(ctx, c.Namespace, c.Job, g.Out())
	}
	if _, err := kc.GetJob(ctx, c.Namespace, c.Job); err != nil {
		return err
	}
	_, err = kc.Wait(ctx, c.Namespace, c.Job, jobs.RunOptions{Wait: true, Logs: g.Out()})
	if err != nil && ctx.Err() != nil {
		return &contract.ExitError{Code: contract.ExitInterrupted, Err: errors.New("stopped following: " + detachedMessage(c.Namespace, c.Job, false))}
	}
	return err
}

type waitCmd struct {
	Job           string `arg:"" help:"Job name (see backupctl jobs)."`
	kubeConn      `embed:"" group:"kubernetes"`
	interruptFlag `embed:"" group:"kubernetes"`
}

func (c *waitCmd) Run(ctx context.Context, g *cli.Globals) error {
	kc, err := c.connect(ctx)
	if err != nil {
		return err
	}
	j, err := kc.GetJob(ctx, c.Namespace, c.Job)
	if err != nil {
		return err
	}
	return followJob(ctx, g, kc, c.Namespace, c.Job, j.Labels[jobs.LabelComponent], c.interruptFlag)
}
