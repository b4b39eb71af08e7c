package main

import (
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/internal/cli"
	"github.com/backupctl/backupctl/jobs"
)

// TestEndpointCredentialsNeverReachAJob: an --s3-endpoint with user info is refused before a
// Job or CronJob is built, and the refusal quotes neither the key nor the secret.
func TestEndpointCredentialsNeverReachAJob(t *testing.T) {
	const key, secret = "AKIDLEAKEDKEY", "wJalrLEAKEDsecret"
	o := cli.BackupOptions{Compression: "zstd"}
	db := cli.DBFlags{DBHost: "db", DBPort: 3306, DBUser: "backupctl"}
	for _, endpoint := range []string{
		"https://" + key + ":" + secret + "@s3.example.com",
		"https://" + key + ":" + secret + "/x@s3.example.com:bad", // does not parse
	} {
		st := cli.StorageFlags{S3Endpoint: endpoint, Bucket: "backups", S3PartSize: "8MiB"}
		args, err := backupArgs(o, db, st, kubeFlags{})
		if err == nil {
			s := jobs.Spec{Args: args}
			job, _ := yaml.Marshal(jobs.BackupJob(s, time.Now(), jobs.NameSuffix()))
			cj, _ := jobs.CronJob(s, jobs.CronSpec{Name: "n", Schedule: "0 2 * * *", TimeZone: "Etc/UTC"})
			cjYAML, _ := yaml.Marshal(cj)
			t.Fatalf("backupArgs accepted %q; the Job would be:\n%s\nand the CronJob:\n%s", endpoint, job, cjYAML)
		}
		if _, _, err2 := dumperConn(db, st, kubeFlags{}); err2 == nil {
			t.Errorf("dumperConn (restore) accepted %q", endpoint)
		}
		if msg := err.Error(); strings.Contains(msg, "LEAKED") || !strings.Contains(msg, "AWS_SECRET_ACCESS_KEY") {
			t.Errorf("backupArgs(%q) error = %s", endpoint, msg)
		}
		if cli.ExitCode(err) != contract.ExitUsage {
			t.Errorf("exit code %d, want %d", cli.ExitCode(err), contract.ExitUsage)
		}
	}
}
