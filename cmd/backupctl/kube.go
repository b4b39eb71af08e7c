package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/internal/cli"
	"github.com/backupctl/backupctl/jobs"
	"github.com/backupctl/backupctl/storage"
)

// kubeConn say which cluster and namespace: all a command needs that only reads or removes.
type kubeConn struct {
	Kubeconfig  string `name:"kubeconfig" env:"KUBECONFIG" help:"Kubeconfig file (default: the usual places, or in-cluster)."`
	KubeContext string `name:"context" env:"BACKUP_KUBE_CONTEXT" help:"Kubeconfig context."`
	Namespace   string `name:"namespace" short:"n" env:"BACKUP_NAMESPACE" default:"backupctl" help:"Namespace of the Jobs, the CronJob and the Secret."`
}

func (k kubeConn) client() (*jobs.Client, error) {
	return jobs.NewClient(k.Kubeconfig, k.KubeContext)
}

// connect is client, after checking that the namespace exists (so a typo is named as one,
// whatever the caller may read).
func (k kubeConn) connect(ctx context.Context) (*jobs.Client, error) {
	c, err := k.client()
	if err != nil {
		return nil, err
	}
	if err := c.CheckNamespace(ctx, k.Namespace); err != nil {
		return nil, err
	}
	return c, nil
}

// waitFlag says whether to follow a Job to its end.
type waitFlag struct {
	Wait          bool `name:"wait" env:"BACKUP_WAIT" default:"true" help:"Follow the Job to its end (--wait=false returns once it is created)."`
	interruptFlag `embed:""`
}

// kubeFlags say where and how the dumper's Job runs.
type kubeFlags struct {
	kubeConn         `embed:"" group:"kubernetes"`
	Image            string        `name:"image" env:"BACKUP_IMAGE" help:"Dumper image (default: ghcr.io/backupctl/dumper tagged with this version)."`
	ImagePullPolicy  string        `name:"image-pull-policy" env:"BACKUP_IMAGE_PULL_POLICY" enum:",Always,IfNotPresent,Never" default:"" help:"Image pull policy."`
	Secret           string        `name:"secret" env:"BACKUP_SECRET" default:"backupctl" help:"Secret holding BACKUP_DB_PASSWORD, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (no S3 keys with --web-identity-audience or --no-s3-keys-from-secret; BACKUP_SSE_C_KEY with --sse c)."`
	ServiceAccount   string        `name:"service-account" env:"BACKUP_SERVICE_ACCOUNT" default:"backupctl-dumper" help:"ServiceAccount the dumper's pod runs as."`
	BackoffLimit     int32         `name:"backoff-limit" env:"BACKUP_BACKOFF_LIMIT" default:"-1" help:"Retries of a failed pod (-1: 1 for a backup, 0 for a restore)."`
	ActiveDeadline   time.Duration `name:"active-deadline" env:"BACKUP_ACTIVE_DEADLINE" default:"6h" help:"Kill the Job after this long."`
	TTLAfterFinished time.Duration `name:"ttl-after-finished" env:"BACKUP_TTL_AFTER_FINISHED" default:"168h" help:"Keep the finished Job and its logs this long."`
	CAConfigMap      string        `name:"ca-configmap" env:"BACKUP_CA_CONFIGMAP" help:"ConfigMap whose ca.crt is the CA bundle for S3 (and MariaDB with --db-tls=on), mounted into the pod."`
	cloudFlags       `embed:""`
}

// spec turns the flags and the dumper's arguments into a Job spec.
func (k kubeFlags) spec(args []string) jobs.Spec {
	s := jobs.Spec{
		Namespace: k.Namespace, Image: k.Image, ServiceAccount: k.ServiceAccount, Secret: k.Secret,
		Args: args,
	}
	s.ImagePullPolicy = corev1.PullPolicy(k.ImagePullPolicy)
	if k.BackoffLimit >= 0 {
		b := k.BackoffLimit
		s.BackoffLimit = &b
	}
	d := int64(k.ActiveDeadline / time.Second)
	s.ActiveDeadlineSeconds = &d
	ttl := int32(k.TTLAfterFinished / time.Second)
	s.TTLSecondsAfterFinished = &ttl
	if k.CAConfigMap != "" {
		s.CABundle = &jobs.CABundle{ConfigMap: k.CAConfigMap}
	}
	return s
}

// dumperConn is the connection and storage part of the dumper's command line in a Job: the
// settings that name files on this machine are refused, or replaced by the CA bundle mounted in
// the pod. The password and the keys never appear here: the Job takes them from the Secret.
func dumperConn(db cli.DBFlags, st cli.StorageFlags, k kubeFlags) (contract.DB, contract.Storage, error) {
	cli.WarnTransport(db, st) // what the pod would send in clear
	if db.DBPasswordFile != "" {
		return contract.DB{}, contract.Storage{}, contract.Usagef("--db-password-file applies to --local only: in a Job the password comes from the Secret %q (key BACKUP_DB_PASSWORD)", k.Secret)
	}
	if st.To != "" {
		return contract.DB{}, contract.Storage{}, contract.Usagef("--to %s is a directory on this machine, which a Job cannot write: use --s3-endpoint and --bucket, or --local", storage.RedactURL(st.To))
	}
	// Checked here, before the endpoint is copied into a Job's or CronJob's args.
	if err := storage.CheckEndpoint(st.S3Endpoint); err != nil {
		return contract.DB{}, contract.Storage{}, err
	}
	if st.S3CAFile != "" && k.CAConfigMap == "" {
		return contract.DB{}, contract.Storage{}, contract.Usagef("--s3-ca-file is a file on this machine: for a Job put the CA bundle in a ConfigMap (key ca.crt) and pass --ca-configmap")
	}
	var caFile string
	if k.CAConfigMap != "" {
		caFile = (jobs.CABundle{ConfigMap: k.CAConfigMap}).File()
	}
	c := contract.DB{
		Socket: db.DBSocket, Host: db.DBHost, Port: db.DBPort, User: db.DBUser,
		Timeout: db.DBTimeout, IOTimeout: db.DBIOTimeout,
	}
	if c.Socket != "" {
		c.Host, c.Port = "", 0
	}
	if db.DBTLS != "" && db.DBTLS != "off" {
		c.TLS, c.TLSCA = db.DBTLS, caFile
	}
	s := contract.Storage{
		Endpoint: st.S3Endpoint, Bucket: st.Bucket, Prefix: st.Prefix, Region: st.S3Region,
		PartSize: st.S3PartSize, CAFile: caFile,
	}
	cloudStorage(st, &s)
	return c, s, nil
}

// jobFlags are the flags of a command that runs the dumper, here (--local) or in a Job.
type jobFlags struct {
	cli.DBFlags      `embed:"" group:"connection"`
	cli.StorageFlags `embed:"" group:"storage"`
	kubeFlags        `embed:"" group:"kubernetes"`
	waitFlag         `embed:"" group:"kubernetes"`
}

// launch builds the dumper's Job from jobArgs and the flags, and runs it as runJob does.
func (k jobFlags) launch(ctx context.Context, g *cli.Globals, jobArgs func() ([]string, error), build func(jobs.Spec) *batchv1.Job, check func(context.Context) error) error {
	args, err := jobArgs()
	if err != nil {
		return err
	}
	kc, err := k.client()
	if err != nil {
		return err
	}
	s := k.spec(args)
	if err := k.cloudFlags.apply(&s, k.StorageFlags); err != nil {
		return err
	}
	return runJob(ctx, g, k.waitFlag, kc, build(s), s, check)
}

// runJob preflights, runs check (if any) once the cluster side is known good, submits and, with
// wait, follows a Job, and turns its outcome into the dumper's result or a one-line error.
func runJob(ctx context.Context, g *cli.Globals, w waitFlag, c *jobs.Client, job *batchv1.Job, s jobs.Spec, check func(context.Context) error) error {
	if err := c.Preflight(ctx, s); err != nil {
		return err
	}
	if check != nil {
		if err := check(ctx); err != nil {
			return err
		}
	}
	created, err := c.Run(ctx, job, jobs.RunOptions{Wait: false})
	if err != nil && ctx.Err() != nil {
		return interruptedBeforeJob(job.Namespace)
	}
	if err != nil {
		return fmt.Errorf("job %s/%s: %w", job.Namespace, job.Name, err)
	}
	if !w.Wait {
		return printCreated(g, created.Namespace, created.JobName)
	}
	return followJob(ctx, g, c, created.Namespace, created.JobName, job.Labels[jobs.LabelComponent], w.interruptFlag)
}

// followJob follows a Job that already exists (one made from the CronJob, or one started with
// --wait=false) and reports it as runJob does.
// component (jobs.ComponentBackup or ComponentRestore) and onInterrupt say what a Ctrl-C says
// and does.
func followJob(ctx context.Context, g *cli.Globals, c *jobs.Client, namespace, name, component string, onInterrupt interruptFlag) error {
	out, err := c.Wait(ctx, namespace, name, jobs.RunOptions{Wait: true, Logs: g.LogWriter()})
	if err != nil && ctx.Err() != nil {
		return onInterrupt.interrupted(ctx, c, namespace, name, component)
	}
	if err != nil {
		return fmt.Errorf("job %s/%s: %w", namespace, name, err)
	}
	return reportOutcome(g, out)
}

// jobCreated is what --wait=false prints: the Job, and how to get back to it.
type jobCreated struct {
	Namespace string `json:"namespace"`
	Job       string `json:"job"`
	Waited    bool   `json:"waited"`
	Status    string `json:"status"`
	Logs      string `json:"logs"`
	Wait      string `json:"wait"`
}

func printCreated(g *cli.Globals, namespace, name string) error {
	ns := ""
	if namespace != jobs.DefaultNamespace {
		ns = " -n " + namespace
	}
	return g.Print(jobCreated{
		Namespace: namespace, Job: name,
		Status: "backupctl jobs" + ns,
		Logs:   "backupctl logs" + ns + " -f " + name,
		Wait:   "backupctl wait" + ns + " " + name,
	})
}

// reportOutcome prints a finished Job's result, or returns its failure with the dumper's exit
// code (the last log lines go to stderr).
func reportOutcome(g *cli.Globals, out *jobs.Outcome) error {
	if out.Succeeded && out.Result != nil && out.Result.OK && len(out.Result.Result) > 0 {
		var v any
		if err := json.Unmarshal(out.Result.Result, &v); err != nil {
			return fmt.Errorf("job %s/%s: the dumper's result is not JSON: %w", out.Namespace, out.JobName, err)
		}
		if m, ok := v.(map[string]any); ok {
			if verified, present := m["verified"]; present && verified != true {
				return contract.VerifyFailed(fmt.Errorf("job %s/%s: the dumper did not verify the backup", out.Namespace, out.JobName))
			}
			m["job"] = out.Namespace + "/" + out.JobName
		}
		return g.Print(v)
	}
	reason := out.Reason
	code := out.Code()
	// A dumper stopped by a signal (deadline, deleted pod) only knows it was interrupted; the
	// Job's own reason says why.
	interrupted := out.Result != nil && out.Result.ExitCode == contract.ExitInterrupted && out.Reason != ""
	if out.Result != nil && !out.Result.OK && !interrupted && out.Result.Error != "" {
		reason = out.Result.Error
	}
	if reason == "" {
		reason = "the Job succeeded but the dumper reported no result; treating it as a failure"
	}
	// The log was followed on stderr unless --quiet: then its last lines are the context.
	if len(out.LastLogLines) > 0 && g.Quiet {
		fmt.Fprintf(g.Err(), "last log lines of pod %s:\n", out.Pod)
		for _, l := range out.LastLogLines {
			fmt.Fprintf(g.Err(), "  %s\n", l)
		}
	}
	return &contract.ExitError{Code: code, Err: fmt.Errorf("job %s/%s failed: %s", out.Namespace, out.JobName, strings.TrimSpace(reason))}
}
