package main

import (
	"context"
	"errors"
	"os"
	"strings"
	"time"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/internal/cli"
)

// newestBackup is the newest backup of a schedule's set, as schedule show reports it.
type newestBackup struct {
	ID         string `json:"id"`
	FinishedAt string `json:"finished_at"`
	Age        string `json:"age"`
}

// haveS3Keys says whether this environment holds the S3 keys, so that the CLI can read the
// storage a Job would use and check things before the Job does.
func haveS3Keys() bool {
	return os.Getenv(contract.EnvAWSAccessKey) != "" && os.Getenv(contract.EnvAWSSecretKey) != ""
}

// argValue returns the value of --name=value in a container's args, or "".
func argValue(args []string, name string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v
		}
	}
	return ""
}

// addNewestBackup reads, with the storage settings the CronJob's Jobs use and the S3 keys of
// this environment, the newest backup of the schedule's set. What it cannot check it says in
// NotChecked: the keys live in the cluster's Secret, which this command does not read.
func (in *scheduleInfo) addNewestBackup(ctx context.Context) {
	set := argValue(in.Args, "set")
	st := cli.StorageFlags{
		S3Endpoint: argValue(in.Args, "s3-endpoint"), Bucket: argValue(in.Args, "bucket"),
		Prefix: argValue(in.Args, "prefix"), S3Region: argValue(in.Args, "s3-region"),
		S3PartSize: argValue(in.Args, "s3-part-size"),
	}
	notChecked := func(why string) {
		in.NotChecked = append(in.NotChecked, "newest backup of set "+set+": "+why)
	}
	switch {
	case set == "" || st.S3Endpoint == "":
		notChecked("the schedule names no set or S3 endpoint")
		return
	case argValue(in.Args, "s3-ca-file") != "":
		notChecked("the endpoint's CA bundle is mounted in the pod, not here")
		return
	case !haveS3Keys():
		notChecked("no S3 keys here (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to see it)")
		return
	}
	b, err := st.Open(ctx)
	if err != nil {
		notChecked(err.Error())
		return
	}
	id, err := backup.Resolve(ctx, b, backup.Latest, set)
	if errors.Is(err, backup.ErrUnknownSet) {
		notChecked("the storage holds no backup of this set yet")
		return
	}
	if err != nil {
		notChecked(err.Error())
		return
	}
	m, err := backup.LoadManifest(ctx, b, id)
	if err != nil {
		notChecked(err.Error())
		return
	}
	in.NewestBackup = &newestBackup{
		ID: id, FinishedAt: m.FinishedAt.UTC().Format(time.RFC3339),
		Age: time.Since(m.FinishedAt).Round(time.Second).String(),
	}
	if in.archive, err = readArchive(ctx, b, m); err != nil {
		in.NotChecked = append(in.NotChecked, "binlog archive of "+m.ServerID+": "+err.Error())
	}
}
