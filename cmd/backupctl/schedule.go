package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/alecthomas/kong"
	batchv1 "k8s.io/api/batch/v1"

	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/internal/cli"
	"github.com/backupctl/backupctl/jobs"
)

type scheduleCmd struct {
	Set     scheduleSetCmd     `cmd:"" help:"Install the nightly backup CronJob, or change the flags given on the installed one."`
	Show    scheduleShowCmd    `cmd:"" help:"Show the installed schedule: next run, last run and its result, last success, the newest backup of its set."`
	Suspend scheduleSuspendCmd `cmd:"" help:"Stop the schedule from starting Jobs (a running one goes on)."`
	Resume  scheduleResumeCmd  `cmd:"" help:"Let a suspended schedule start Jobs again."`
	Delete  scheduleDeleteCmd  `cmd:"" help:"Remove the schedule (Jobs already made are left to their TTL)."`
	Run     scheduleRunCmd     `cmd:"" help:"Run the scheduled backup now, as a Job made from the CronJob."`
}

type scheduleName struct {
	Name string `name:"name" env:"BACKUP_SCHEDULE_NAME" default:"backupctl-nightly" help:"Name of the CronJob."`
}

type scheduleSetCmd struct {
	scheduleName
	Replace           bool          `name:"replace" env:"BACKUP_SCHEDULE_REPLACE" help:"Replace the whole installed schedule: flags not given take their defaults (without it, only the flags given change)."`
	Schedule          string        `name:"schedule" env:"BACKUP_SCHEDULE" default:"0 2 * * *" help:"Cron schedule (five fields, or @daily and the like)."`
	TimeZone          string        `name:"time-zone" env:"BACKUP_TIME_ZONE" default:"Etc/UTC" help:"IANA time zone the schedule is read in."`
	StartingDeadline  time.Duration `name:"starting-deadline" env:"BACKUP_STARTING_DEADLINE" default:"3h" help:"A missed run may start this late and no later."`
	SuccessfulHistory int32         `name:"successful-history" env:"BACKUP_SUCCESSFUL_HISTORY" default:"3" help:"Finished Jobs kept."`
	FailedHistory     int32         `name:"failed-history" env:"BACKUP_FAILED_HISTORY" default:"3" help:"Failed Jobs kept."`
	Suspend           bool          `name:"suspend" env:"BACKUP_SUSPEND" help:"Install the schedule suspended (see also schedule suspend and resume)."`
	cli.BackupOptions `embed:""`
	cli.DBFlags       `embed:"" group:"connection"`
	cli.StorageFlags  `embed:"" group:"storage"`
	kubeFlags         `embed:"" group:"kubernetes"`
}

// lastRun is the newest Job of the schedule.
type lastRun struct {
	Job      string `json:"job"`
	State    string `json:"state"`
	Started  string `json:"started"`
	Finished string `json:"finished,omitempty"`
	BackupID string `json:"backup_id,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// scheduleInfo is what set and show print.
type scheduleInfo struct {
	Namespace         string        `json:"namespace"`
	Name              string        `json:"name"`
	Action            string        `json:"action,omitempty"`
	Changes           []string      `json:"changes,omitempty"`
	NotChecked        []string      `json:"not_checked,omitempty"`
	Schedule          string        `json:"schedule"`
	TimeZone          string        `json:"time_zone"`
	Suspended         bool          `json:"suspended"`
	ConcurrencyPolicy string        `json:"concurrency_policy"`
	Image             string        `json:"image"`
	Args              []string      `json:"args"`
	NextRun           string        `json:"next_run,omitempty"`
	LastSchedule      string        `json:"last_schedule,omitempty"`
	LastRun           *lastRun      `json:"last_run,omitempty"`
	LastSuccessful    string        `json:"last_successful,omitempty"`
	NewestBackup      *newestBackup `json:"newest_backup,omitempty"`
	Active            []string      `json:"active,omitempty"`
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
	if !in.Suspended {
		if next, err := jobs.NextRun(in.Schedule, in.TimeZone, time.Now()); err == nil {
			in.NextRun = next.UTC().Format(time.RFC3339)
		}
	}
	return in
}

// changes lists what differs between two schedules, old → new.
func changes(old, cur scheduleInfo) []string {
	var out []string
	field := func(name, a, b string) {
		if a != b {
			out = append(out, fmt.Sprintf("%s: %s → %s", name, a, b))
		}
	}
	field("schedule", old.Schedule, cur.Schedule)
	field("time_zone", old.TimeZone, cur.TimeZone)
	field("suspended", fmt.Sprint(old.Suspended), fmt.Sprint(cur.Suspended))
	field("image", old.Image, cur.Image)
	before, after := argMap(old.Args), argMap(cur.Args)
	for _, k := range slices.Sorted(maps.Keys(mergeKeys(before, after))) {
		field(k, dash(before[k]), dash(after[k]))
	}
	return out
}

// argMap is the dumper's --flag=value arguments by flag, repeated values joined with commas.
func argMap(args []string) map[string]string {
	m := map[string]string{}
	for _, a := range args {
		k, v, found := strings.Cut(a, "=")
		if !found {
			v = "true"
		}
		if m[k] != "" {
			v = m[k] + "," + v
		}
		m[k] = v
	}
	return m
}

func mergeKeys(a, b map[string]string) map[string]bool {
	m := map[string]bool{}
	for k := range a {
		m[k] = true
	}
	for k := range b {
		m[k] = true
	}
	return m
}

// jobArgs is the dumper's command line for the CronJob's Jobs: its backups are scheduled and
// belong to the set named by --set, else by the schedule's name, so that the schedule's
// retention never counts or deletes backups taken by hand or by another schedule.
func (c *scheduleSetCmd) jobArgs() ([]string, error) {
	o := c.BackupOptions
	o.Scheduled = true
	if o.Set == "" {
		o.Set = c.Name
	}
	return backupArgs(o, c.DBFlags, c.StorageFlags, c.kubeFlags)
}

// cronJob builds the CronJob the flags describe, with the flags given recorded on it.
func (c *scheduleSetCmd) cronJob(given map[string][]string) (*batchv1.CronJob, jobs.Spec, error) {
	args, err := c.jobArgs()
	if err != nil {
		return nil, jobs.Spec{}, err
	}
	sd := int64(c.StartingDeadline / time.Second)
	s := c.spec(args)
	if err := c.cloudFlags.apply(&s, c.StorageFlags); err != nil {
		return nil, s, err
	}
	cj, err := jobs.CronJob(s, jobs.CronSpec{
		Name: c.Name, Schedule: c.Schedule, TimeZone: c.TimeZone, StartingDeadlineSeconds: &sd,
		SuccessfulJobsHistoryLimit: &c.SuccessfulHistory, FailedJobsHistoryLimit: &c.FailedHistory,
		Suspend: c.Suspend,
	})
	if err != nil {
		return nil, s, err
	}
	b, err := json.Marshal(given)
	if err != nil {
		return nil, s, err
	}
	if cj.Annotations == nil {
		cj.Annotations = map[string]string{}
	}
	cj.Annotations[annotationScheduleFlags] = string(b)
	return cj, s, nil
}

func (c *scheduleSetCmd) Run(ctx context.Context, g *cli.Globals, kctx *kong.Context) error {
	given := givenFlags(kctx)
	// Checked before anything is read, so a mistake costs no request.
	if _, _, err := c.cronJob(given); err != nil {
		return err
	}
	kc, err := c.connect(ctx)
	if err != nil {
		return err
	}
	cur, err := kc.FindCronJob(ctx, c.Namespace, c.Name)
	if err != nil {
		return err
	}
	eff := c
	var notes []string
	if cur != nil && !c.Replace {
		stored, ok := storedFlags(cur)
		if !ok {
			notes = append(notes, "the installed schedule does not record its flags (made by an older backupctl): replaced by the flags given")
		}
		for k, v := range given {
			stored[k] = v
		}
		given = stored
		if eff, err = parseScheduleSet(given, c.Namespace, c.Name); err != nil {
			return err
		}
	}
	cj, s, err := eff.cronJob(given)
	if err != nil {
		return err
	}
	notChecked, err := kc.PreflightReport(ctx, s)
	if err != nil {
		return err
	}
	dbNote, err := checkDatabases(ctx, eff.DBFlags, eff.Database)
	if err != nil {
		return err
	}
	notChecked = append(notChecked, dbNote...)
	bucketNote, err := checkBucket(ctx, eff.StorageFlags)
	if err != nil {
		return err
	}
	notChecked = append(notChecked, bucketNote...)
	var diff []string
	if cur != nil {
		diff = changes(infoOf(cur), infoOf(cj))
		if len(diff) > 0 && !g.Quiet {
			fmt.Fprintf(g.Err(), "changing schedule %s/%s:\n", c.Namespace, c.Name)
			for _, d := range diff {
				fmt.Fprintf(g.Err(), "  %s\n", d)
			}
		}
	}
	out, applied, err := kc.ApplyCronJob(ctx, cj)
	if err != nil {
		return err
	}
	in := infoOf(out)
	in.Action, in.Changes, in.NotChecked = string(applied), diff, append(notes, notChecked...)
	return g.Print(in)
}

// annotationScheduleFlags records on the CronJob the flags `schedule set` was given (names and
// values; never a secret, as no flag holds one), so the next `schedule set` changes only its own.
const annotationScheduleFlags = "backupctl.io/schedule-flags"

// identityFlags name the schedule and the cluster: never recorded.
var identityFlags = []string{"kubeconfig", "context", "namespace", "name", "replace"}

// givenFlags are the flags of the selected command set on the command line or through their
// environment twins, with their values.
func givenFlags(kctx *kong.Context) map[string][]string {
	onLine := map[string]bool{}
	for _, p := range kctx.Path {
		if p.Flag != nil {
			onLine[p.Flag.Name] = true
		}
	}
	out := map[string][]string{}
	for _, f := range kctx.Selected().Flags {
		if slices.Contains(identityFlags, f.Name) {
			continue
		}
		fromEnv := false
		for _, e := range f.Tag.Envs {
			if _, ok := os.LookupEnv(e); ok {
				fromEnv = true
			}
		}
		if !onLine[f.Name] && !fromEnv {
			continue
		}
		switch v := kctx.FlagValue(f).(type) {
		case []string:
			out[f.Name] = slices.Clone(v)
		case time.Duration:
			out[f.Name] = []string{v.String()}
		default:
			out[f.Name] = []string{fmt.Sprint(v)}
		}
	}
	return out
}

// storedFlags reads the flags recorded on cj (ok false when there are none).
func storedFlags(cj *batchv1.CronJob) (map[string][]string, bool) {
	m := map[string][]string{}
	raw, ok := cj.Annotations[annotationScheduleFlags]
	if !ok || json.Unmarshal([]byte(raw), &m) != nil {
		return map[string][]string{}, false
	}
	return m, true
}

// parseScheduleSet parses `schedule set` with just the flags given, as a user would type them.
func parseScheduleSet(flags map[string][]string, namespace, name string) (*scheduleSetCmd, error) {
	argv := []string{"schedule", "set", "--namespace=" + namespace, "--name=" + name}
	keys := slices.Sorted(maps.Keys(flags))
	for _, k := range keys {
		for _, v := range flags[k] {
			argv = append(argv, "--"+k+"="+v)
		}
	}
	c := &backupctlCLI{}
	p, err := kong.New(c)
	if err != nil {
		return nil, err
	}
	if _, err := p.Parse(argv); err != nil {
		return nil, contract.Usagef("the installed schedule's flags with the ones given do not parse (%v): pass --replace with every flag", err)
	}
	return &c.Schedule.Set, nil
}

// checkDatabases checks that the databases exist when this process can reach MariaDB (with the
// password in BACKUP_DB_PASSWORD or --db-password-file); else it says they were not checked.
func checkDatabases(ctx context.Context, db cli.DBFlags, names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, nil
	}
	what := "databases " + strings.Join(names, ", ")
	if os.Getenv(contract.EnvDBPassword) == "" && db.DBPasswordFile == "" {
		return []string{what + " (no BACKUP_DB_PASSWORD here; the first run will say)"}, nil
	}
	cfg, err := db.Config()
	if err != nil {
		return nil, err
	}
	cfg.Timeout = min(cfg.Timeout, 5*time.Second)
	missing, err := cli.MissingDatabases(ctx, cfg, names)
	if err != nil {
		return []string{fmt.Sprintf("%s (MariaDB at %s not reachable from here: %v)", what, cfg.Address(), err)}, nil
	}
	if len(missing) > 0 {
		return nil, contract.Usagef("--database: %s not on the server at %s: check the names (case-sensitive) or --db-host", strings.Join(missing, ", "), cfg.Address())
	}
	return nil, nil
}

// checkBucket opens the storage the schedule's Jobs will use, when the S3 keys are here: a
// missing bucket or rejected keys refuse the schedule before it is installed. Without the keys,
// or when the endpoint cannot be reached from here (it may be reachable from the pods only), it
// says what it did not check.
func checkBucket(ctx context.Context, st cli.StorageFlags) ([]string, error) {
	what := "bucket " + st.Bucket
	if !haveS3Keys() {
		return []string{what + " (no S3 keys here; the first run will say)"}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := st.Open(ctx); err != nil {
		if cli.ExitCode(err) == contract.ExitUsage {
			return nil, err
		}
		return []string{fmt.Sprintf("%s (not reachable from here: %v)", what, err)}, nil
	}
	return nil, nil
}

// scheduleRef names an installed schedule and the cluster it is in.
type scheduleRef struct {
	scheduleName
	kubeConn `embed:"" group:"kubernetes"`
}

type scheduleShowCmd scheduleRef

func (c *scheduleShowCmd) Run(ctx context.Context, g *cli.Globals) error {
	in, _, err := scheduleRef(*c).show(ctx)
	if err != nil {
		return err
	}
	return g.Print(in)
}

// show reads the schedule, its last run and the newest backup of its set, and returns the
// schedule's Jobs too, newest first.
func (r scheduleRef) show(ctx context.Context) (scheduleInfo, []jobs.JobInfo, error) {
	kc, err := r.connect(ctx)
	if err != nil {
		return scheduleInfo{}, nil, err
	}
	cj, err := kc.GetCronJob(ctx, r.Namespace, r.Name)
	if err != nil {
		return scheduleInfo{}, nil, err
	}
	in := infoOf(cj)
	all, err := kc.ListJobs(ctx, r.Namespace)
	if err != nil {
		return scheduleInfo{}, nil, err
	}
	var js []jobs.JobInfo
	for _, j := range all { // newest first
		if j.Schedule == r.Name {
			js = append(js, j)
		}
	}
	if len(js) > 0 {
		j := js[0]
		in.LastRun = &lastRun{Job: j.Name, State: j.State, Started: j.Started, Finished: j.Finished, BackupID: j.BackupID, Reason: j.Reason}
	}
	in.addNewestBackup(ctx)
	return in, js, nil
}

type scheduleSuspendCmd scheduleRef

func (c *scheduleSuspendCmd) Run(ctx context.Context, g *cli.Globals) error {
	return scheduleRef(*c).setSuspended(ctx, g, true)
}

type scheduleResumeCmd scheduleRef

func (c *scheduleResumeCmd) Run(ctx context.Context, g *cli.Globals) error {
	return scheduleRef(*c).setSuspended(ctx, g, false)
}

func (r scheduleRef) setSuspended(ctx context.Context, g *cli.Globals, suspend bool) error {
	kc, err := r.connect(ctx)
	if err != nil {
		return err
	}
	cj, err := kc.SetSuspended(ctx, r.Namespace, r.Name, suspend)
	if err != nil {
		return err
	}
	return g.Print(infoOf(cj))
}

type scheduleDeleteCmd scheduleRef

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
	scheduleRef
	waitFlag `embed:"" group:"kubernetes"`
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
	return followJob(ctx, g, kc, job.Namespace, job.Name, jobs.ComponentBackup, c.interruptFlag)
}
