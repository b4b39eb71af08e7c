package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/internal/cli"
	"github.com/backupctl/backupctl/jobs"
)

type statusCmd struct {
	scheduleRef
	MaxAge time.Duration `name:"max-age" env:"BACKUP_STATUS_MAX_AGE" help:"Exit 6 when the newest verified backup is older than this (or there is none), e.g. 26h: a probe or an alert check (0: no check)."`
}

func (*statusCmd) Help() string {
	return `Examples:
  backupctl status
  backupctl status --name nightly-shop -o json
  backupctl status --max-age 26h   # exit 6 when the newest verified backup is older`
}

// verifiedBackup is the newest verified backup, and where status learnt of it.
type verifiedBackup struct {
	ID         string  `json:"id"`
	FinishedAt string  `json:"finished_at"`
	Age        string  `json:"age"`
	AgeSeconds float64 `json:"age_seconds"`
	// From is "storage" (read with this environment's S3 keys) or the Job that wrote it.
	From string `json:"from"`
}

// statusReport is what status prints: the schedule, its last run, the newest verified backup
// and what is wrong.
type statusReport struct {
	Namespace      string          `json:"namespace"`
	Name           string          `json:"name"`
	Schedule       string          `json:"schedule"`
	TimeZone       string          `json:"time_zone"`
	Suspended      bool            `json:"suspended"`
	Image          string          `json:"image"`
	NextRun        string          `json:"next_run,omitempty"`
	LastRun        *lastRun        `json:"last_run,omitempty"`
	LastSuccessful string          `json:"last_successful,omitempty"`
	Running        []string        `json:"running,omitempty"`
	NewestVerified *verifiedBackup `json:"newest_verified_backup,omitempty"`
	MaxAge         string          `json:"max_age,omitempty"`
	Problems       []string        `json:"problems"`
	NotChecked     []string        `json:"not_checked,omitempty"`
	OK             bool            `json:"ok"`

	stale string // why --max-age fails, "" when it passes
}

func (c *statusCmd) Run(ctx context.Context, g *cli.Globals) error {
	if c.MaxAge < 0 {
		return contract.Usagef("--max-age %v cannot be negative", c.MaxAge)
	}
	in, js, err := c.show(ctx)
	if err != nil {
		return err
	}
	rep := statusOf(in, js, c.MaxAge, time.Now())
	if g.Output == "text" {
		_, err = fmt.Fprint(g.Out(), rep.text())
	} else {
		err = g.Print(rep)
	}
	if err != nil {
		return err
	}
	return rep.staleError()
}

// statusOf builds the report from what schedule show reads and the schedule's Jobs, newest first.
func statusOf(in scheduleInfo, js []jobs.JobInfo, maxAge time.Duration, now time.Time) statusReport {
	rep := statusReport{
		Namespace: in.Namespace, Name: in.Name, Schedule: in.Schedule, TimeZone: in.TimeZone,
		Suspended: in.Suspended, Image: in.Image, NextRun: in.NextRun, LastRun: in.LastRun,
		LastSuccessful: in.LastSuccessful, NotChecked: in.NotChecked, Problems: []string{},
	}
	if in.Suspended {
		rep.Problems = append(rep.Problems, fmt.Sprintf("suspended: no run starts until `backupctl schedule resume --name %s`", in.Name))
	}
	for _, j := range js {
		if j.State != jobs.StateRunning {
			continue
		}
		rep.Running = append(rep.Running, j.Name)
		if j.Reason != "" { // a pod that cannot start
			rep.Problems = append(rep.Problems, fmt.Sprintf("run %s cannot start: %s", j.Name, j.Reason))
		}
	}
	if lr := in.LastRun; lr != nil && lr.State == jobs.StateFailed {
		p := fmt.Sprintf("last run %s failed: %s", lr.Job, lr.Reason)
		if strings.Contains(lr.Reason, "image") {
			p = fmt.Sprintf("last run %s failed, the image %s is missing or cannot be pulled: %s", lr.Job, in.Image, lr.Reason)
		}
		rep.Problems = append(rep.Problems, p)
	}
	rep.NewestVerified = newestVerified(in, js, now)
	if maxAge > 0 {
		rep.MaxAge = maxAge.String()
		switch nv := rep.NewestVerified; {
		case nv == nil:
			rep.stale = "no verified backup of the schedule's set is known"
			if len(js) == 0 && len(in.NotChecked) > 0 {
				rep.stale += " (the schedule never ran, and the storage was not read: see not checked)"
			}
		case time.Duration(nv.AgeSeconds*float64(time.Second)) > maxAge:
			rep.stale = fmt.Sprintf("the newest verified backup %s is %s old, older than --max-age %s", nv.ID, nv.Age, maxAge)
		}
		if rep.stale != "" {
			rep.Problems = append(rep.Problems, rep.stale)
		}
	}
	rep.OK = len(rep.Problems) == 0
	return rep
}

// newestVerified is the newest backup of the schedule's set read from the storage when this
// environment could, else the one the newest succeeded Job wrote (a backup Job succeeds only
// once its backup is verified).
func newestVerified(in scheduleInfo, js []jobs.JobInfo, now time.Time) *verifiedBackup {
	id, finished, from := "", "", ""
	if nb := in.NewestBackup; nb != nil {
		id, finished, from = nb.ID, nb.FinishedAt, "storage"
	} else {
		for _, j := range js {
			if j.State == jobs.StateSucceeded && j.BackupID != "" {
				id, finished, from = j.BackupID, j.Finished, "job "+j.Name
				break
			}
		}
	}
	t, err := time.Parse(time.RFC3339, finished)
	if id == "" || err != nil {
		return nil
	}
	age := now.Sub(t)
	return &verifiedBackup{ID: id, FinishedAt: finished, Age: age.Round(time.Second).String(), AgeSeconds: age.Seconds(), From: from}
}

// staleError is the exit for --max-age: ExitStale when the newest verified backup is older than
// the limit or there is none.
func (r statusReport) staleError() error {
	if r.stale == "" {
		return nil
	}
	return &contract.ExitError{Code: contract.ExitStale, Err: fmt.Errorf("schedule %s/%s: %s", r.Namespace, r.Name, r.stale)}
}

// text is the report for a person: a line a topic, the problems last.
func (r statusReport) text() string {
	var sb strings.Builder
	state := "active"
	if r.Suspended {
		state = "SUSPENDED"
	}
	fmt.Fprintf(&sb, "schedule:        %s/%s  %q %s  %s\n", r.Namespace, r.Name, r.Schedule, r.TimeZone, state)
	if r.NextRun != "" {
		fmt.Fprintf(&sb, "next run:        %s\n", r.NextRun)
	}
	switch lr := r.LastRun; {
	case lr == nil:
		sb.WriteString("last run:        none yet\n")
	default:
		fmt.Fprintf(&sb, "last run:        %s %s (started %s", lr.Job, lr.State, lr.Started)
		if lr.Finished != "" {
			fmt.Fprintf(&sb, ", finished %s", lr.Finished)
		}
		if lr.BackupID != "" {
			fmt.Fprintf(&sb, ", backup %s", lr.BackupID)
		}
		sb.WriteString(")\n")
	}
	if len(r.Running) > 0 {
		fmt.Fprintf(&sb, "running:         %s\n", strings.Join(r.Running, ", "))
	}
	if nv := r.NewestVerified; nv != nil {
		fmt.Fprintf(&sb, "newest verified: %s, %s ago (finished %s; from %s)\n", nv.ID, nv.Age, nv.FinishedAt, nv.From)
	} else {
		sb.WriteString("newest verified: none known\n")
	}
	for _, n := range r.NotChecked {
		fmt.Fprintf(&sb, "not checked:     %s\n", n)
	}
	if len(r.Problems) == 0 {
		sb.WriteString("problems:        none\n")
	}
	for _, p := range r.Problems {
		fmt.Fprintf(&sb, "PROBLEM:         %s\n", p)
	}
	return sb.String()
}
