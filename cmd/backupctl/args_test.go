package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
	"github.com/google/go-cmp/cmp"

	"github.com/backupctl/backupctl/internal/cli"
)

// Secrets the test puts in the environment: none may reach the dumper's argv.
var testSecrets = map[string]string{
	"BACKUP_DB_PASSWORD":    "pw-in-env-only",
	"AWS_ACCESS_KEY_ID":     "ak-in-env-only",
	"AWS_SECRET_ACCESS_KEY": "sk-in-env-only",
	"BACKUP_SIGNING_KEY":    "backupctl-ed25519-private:in-env-only",
	"BACKUP_AGE_IDENTITY":   "AGE-SECRET-KEY-1INENVONLY",
}

// jobArgser is a command that runs the dumper in a Job.
type jobArgser interface{ jobArgs() ([]string, error) }

// jobArgsOf parses a backupctl command line with the real grammar, in an environment holding
// only env and the secrets, and returns the argv the selected command gives the dumper's Job.
func jobArgsOf(t *testing.T, env map[string]string, args ...string) ([]string, error) {
	t.Helper()
	c := &backupctlCLI{}
	p, err := kong.New(c, kong.Exit(func(int) { t.Fatalf("kong exits on %q", args) }))
	if err != nil {
		t.Fatal(err)
	}
	clearEnv(t, p.Model.Node)
	for k, v := range testSecrets {
		t.Setenv(k, v)
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	kctx, err := p.Parse(args)
	if err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	cmd, ok := kctx.Selected().Target.Addr().Interface().(jobArgser)
	if !ok {
		t.Fatalf("%q does not run a Job", args)
	}
	argv, err := cmd.jobArgs()
	for _, a := range argv {
		for k, v := range testSecrets {
			if strings.Contains(a, v) {
				t.Errorf("argv %q carries %s", a, k)
			}
		}
	}
	return argv, err
}

// clearEnv unsets every env twin of the grammar under n (restored after the test).
func clearEnv(t *testing.T, n *kong.Node) {
	t.Helper()
	_ = kong.Visit(n, func(v kong.Visitable, next kong.Next) error {
		if f, ok := v.(*kong.Flag); ok {
			for _, e := range f.Tag.Envs {
				t.Setenv(e, "")
				os.Unsetenv(e)
			}
		}
		return next(nil)
	})
}

// defaultConn is the tail of every argv below that does not set the connection.
var defaultConn = []string{
	"--db-host=127.0.0.1", "--db-port=3306", "--db-user=root", "--db-timeout=30s", "--db-io-timeout=10m0s",
	"--s3-endpoint=https://s3.example", "--bucket=b", "--s3-region=us-east-1", "--s3-part-size=8MiB",
}

var storageArgs = []string{"--s3-endpoint", "https://s3.example", "--bucket", "b"}

// allConn sets every connection and storage flag; those that name files on this machine
// become the CA bundle mounted in the pod, or stay behind.
var allConn = []string{
	"--db-host", "db.svc", "--db-port", "3307", "--db-user", "backupctl", "--db-tls", "on",
	"--db-tls-ca", "/here/ca.pem", "--db-tls-cert", "/here/cert.pem", "--db-tls-key", "/here/key.pem",
	"--db-timeout", "5s", "--db-io-timeout", "90s",
	"--s3-endpoint", "https://s3.example", "--bucket", "b", "--prefix", "nightly", "--s3-region", "eu-central-1",
	"--s3-part-size", "16MiB", "--s3-ca-file", "/here/s3-ca.pem", "--ca-configmap", "cas",
}

var allConnArgs = []string{
	"--db-host=db.svc", "--db-port=3307", "--db-user=backupctl", "--db-tls=on", "--db-tls-ca=/etc/backupctl/ca/ca.crt",
	"--db-timeout=5s", "--db-io-timeout=1m30s",
	"--s3-endpoint=https://s3.example", "--bucket=b", "--prefix=nightly", "--s3-region=eu-central-1",
	"--s3-part-size=16MiB", "--s3-ca-file=/etc/backupctl/ca/ca.crt",
}

func cat(parts ...[]string) []string {
	var a []string
	for _, p := range parts {
		a = append(a, p...)
	}
	return a
}

// TestJobArgs pins the dumper's argv that each Job-running command builds from its flags.
func TestJobArgs(t *testing.T) {
	backupAll := []string{"-d", "shop", "--database", "crm", "--compression", "gzip", "--compression-level", "9",
		"--parallel", "3", "--keep-last", "5", "--keep-hourly", "24", "--keep-daily", "7", "--keep-weekly", "4",
		"--keep-monthly", "12", "--keep-within", "72h", "--include-manual"}
	retentionArgs := []string{"--keep-last=5", "--keep-hourly=24", "--keep-daily=7", "--keep-weekly=4", "--keep-monthly=12",
		"--keep-within=72h0m0s", "--include-manual"}
	backupAllArgs := cat([]string{"--database=shop", "--database=crm", "--compression=gzip", "--compression-level=9",
		"--parallel=3"}, retentionArgs)
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{
			name: "point-in-time restore without an id: the dumper picks the base",
			args: cat([]string{"restore", "--to-time", "2026-11-28T14:03:00Z", "-d", "shop"}, storageArgs),
			want: cat([]string{"restore", "--database=shop", "--to-time=2026-11-28T14:03:00Z", "--replay-lock=read-only"}, defaultConn),
		},
		{
			name: "point-in-time restore to a GTID, no lock",
			args: cat([]string{"restore", "20240131T120000Z-a1b2c3", "--to-gtid", "0-1-42", "--replay-lock", "none"}, storageArgs),
			want: cat([]string{"restore", "20240131T120000Z-a1b2c3", "--to-gtid=0-1-42", "--replay-lock=none"}, defaultConn),
		},
		{
			name: "binlog archive as a Deployment",
			args: cat([]string{"binlog", "archive", "--segment-interval", "30s", "--segment-size", "16MiB", "--start-gtid", "0-1-7"}, storageArgs),
			want: cat([]string{"binlog", "archive", "--segment-interval=30s", "--segment-size=16MiB", "--start-gtid=0-1-7"}, defaultConn),
		},
		{
			name: "backup defaults",
			args: cat([]string{"backup", "now"}, storageArgs),
			want: cat([]string{"backup", "--compression=zstd", "--compression-level=0"}, defaultConn),
		},
		{
			name: "backup every flag",
			args: cat([]string{"backup", "now"}, backupAll, allConn),
			want: cat([]string{"backup"}, backupAllArgs, allConnArgs),
		},
		{
			name: "backup with a set, marked scheduled",
			args: cat([]string{"backup", "now", "--set", "shop-manual", "--scheduled"}, storageArgs),
			want: cat([]string{"backup", "--compression=zstd", "--compression-level=0", "--set=shop-manual", "--scheduled"}, defaultConn),
		},
		{
			name: "schedule set every flag: its name is the set, its backups scheduled",
			args: cat([]string{"schedule", "set", "--name", "nightly-shop"}, backupAll, allConn),
			want: cat([]string{"backup", "--database=shop", "--database=crm", "--compression=gzip", "--compression-level=9",
				"--parallel=3", "--set=nightly-shop", "--scheduled"}, retentionArgs, allConnArgs),
		},
		{
			name: "schedule set with an explicit set",
			args: cat([]string{"schedule", "set", "--set", "shop"}, storageArgs),
			want: cat([]string{"backup", "--compression=zstd", "--compression-level=0", "--set=shop", "--scheduled"}, defaultConn),
		},
		{
			name: "socket, TLS without a CA bundle",
			args: cat([]string{"backup", "now", "--db-socket", "/run/mysqld/mysqld.sock", "--db-host", "ignored",
				"--db-tls", "skip-verify", "--db-tls-ca", "/here/ca.pem", "--db-timeout", "0s"}, storageArgs),
			want: []string{"backup", "--compression=zstd", "--compression-level=0",
				"--db-socket=/run/mysqld/mysqld.sock", "--db-user=root", "--db-tls=skip-verify", "--db-timeout=0s", "--db-io-timeout=10m0s",
				"--s3-endpoint=https://s3.example", "--bucket=b", "--s3-region=us-east-1", "--s3-part-size=8MiB"},
		},
		{
			name: "schedule set passes the Pushgateway to its Jobs",
			args: cat([]string{"schedule", "set", "--metrics-push", "http://pushgateway.monitoring:9091"}, storageArgs),
			want: cat([]string{"backup", "--compression=zstd", "--compression-level=0", "--set=backupctl-nightly", "--scheduled",
				"--metrics-push=http://pushgateway.monitoring:9091"}, defaultConn),
		},
		{
			name: "restore with metrics from the env twin",
			env:  map[string]string{"BACKUP_METRICS_PUSH": "http://pg:9091"},
			args: cat([]string{"restore", "20261126T220405Z-ab12"}, storageArgs),
			want: cat([]string{"restore", "20261126T220405Z-ab12", "--metrics-push=http://pg:9091"}, defaultConn),
		},
		{
			name: "a CA bundle without TLS to MariaDB",
			args: cat([]string{"schedule", "set", "--db-tls", "off", "--ca-configmap", "cas"}, storageArgs),
			want: cat([]string{"backup", "--compression=zstd", "--compression-level=0", "--set=backupctl-nightly", "--scheduled"}, defaultConn,
				[]string{"--s3-ca-file=/etc/backupctl/ca/ca.crt"}),
		},
		{
			name: "env twins",
			env: map[string]string{
				"BACKUP_DATABASES": "a,b", "BACKUP_COMPRESSION": "none", "BACKUP_KEEP_LAST": "2",
				"BACKUP_DB_HOST": "env-host", "BACKUP_DB_PORT": "3310", "BACKUP_DB_USER": "env-user",
				"BACKUP_S3_ENDPOINT": "http://minio:9000", "BACKUP_S3_BUCKET": "env-bucket", "BACKUP_S3_PREFIX": "env/prefix",
			},
			args: []string{"backup", "now"},
			want: []string{"backup", "--database=a", "--database=b", "--compression=none", "--compression-level=0", "--keep-last=2",
				"--db-host=env-host", "--db-port=3310", "--db-user=env-user", "--db-timeout=30s", "--db-io-timeout=10m0s",
				"--s3-endpoint=http://minio:9000", "--bucket=env-bucket", "--prefix=env/prefix", "--s3-region=us-east-1", "--s3-part-size=8MiB"},
		},
		{
			name: "restore defaults",
			args: cat([]string{"restore", "20261126T220405Z-ab12"}, storageArgs),
			want: cat([]string{"restore", "20261126T220405Z-ab12"}, defaultConn),
		},
		{
			name: "restore every flag",
			args: cat([]string{"restore", "20261126T220405Z-ab12", "-d", "shop", "-t", "shop.orders", "--table", "shop.items",
				"--into", "shop_copy", "--drop-existing", "--dry-run", "--no-verify-first", "--parallel", "2", "--verify-key", testPub}, allConn),
			want: cat([]string{"restore", "20261126T220405Z-ab12", "--database=shop", "--table=shop.orders", "--table=shop.items",
				"--into=shop_copy", "--drop-existing", "--dry-run", "--no-verify-first", "--parallel=2", "--verify-key=" + testPub}, allConnArgs),
		},
		{
			name: "restore latest of a set",
			args: cat([]string{"restore", "latest", "--set", "nightly"}, storageArgs),
			want: cat([]string{"restore", "latest", "--set=nightly"}, defaultConn),
		},
		{
			name: "restore a table beside the live one, without keys and triggers (env twins)",
			env:  map[string]string{"BACKUP_RESTORE_WITHOUT_FOREIGN_KEYS": "true", "BACKUP_RESTORE_WITHOUT_TRIGGERS": "true"},
			args: cat([]string{"restore", "20261126T220405Z-ab12", "-t", "shop.orders", "--into", "shop_copy"}, storageArgs),
			want: cat([]string{"restore", "20261126T220405Z-ab12", "--table=shop.orders", "--into=shop_copy",
				"--without-foreign-keys", "--without-triggers"}, defaultConn),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := jobArgsOf(t, tc.env, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("argv (-want +got):\n%s", d)
			}
		})
	}
}

// testPub is a well-formed public key (32 zero bytes).
const testPub = "backupctl-ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

// TestJobArgsVerifyKeyFile: a restore Job gets the key file's text as --verify-key (the file is
// on this machine; the key is public); a key that does not parse is refused with exit code 2.
func TestJobArgsVerifyKeyFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "signing.pub")
	if err := os.WriteFile(file, []byte(testPub+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := jobArgsOf(t, map[string]string{"BACKUP_VERIFY_KEY_FILE": file}, cat([]string{"restore", "x"}, storageArgs)...)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(cat([]string{"restore", "x", "--verify-key=" + testPub}, defaultConn), got); d != "" {
		t.Errorf("argv (-want +got):\n%s", d)
	}
	_, err = jobArgsOf(t, nil, cat([]string{"restore", "x", "--verify-key", "backupctl-ed25519-private:AAAA"}, storageArgs)...)
	if err == nil || exitCodeOf(err) != 2 || !strings.Contains(err.Error(), "is a private key") {
		t.Errorf("a private key as --verify-key: %v", err)
	}
}

// TestJobArgsRefuseLocalSettings: what names a file on this machine, or the password's file,
// is refused for a Job, with exit code 2.
func TestJobArgsRefuseLocalSettings(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{cat([]string{"backup", "now", "--db-password-file", "/here/pw"}, storageArgs), "--db-password-file applies to --local only"},
		{cat([]string{"restore", "x", "--db-password-file", "/here/pw"}, storageArgs), "--db-password-file applies to --local only"},
		{[]string{"backup", "now", "--to", "file:///tmp/b"}, "a Job cannot write"},
		{cat([]string{"schedule", "set", "--s3-ca-file", "/here/ca.pem"}, storageArgs), "--ca-configmap"},
		{cat([]string{"schedule", "set", "--metrics-push", "http://u:p@pg:9091"}, storageArgs), "must not hold credentials"},
		{cat([]string{"backup", "now", "--metrics-push", "pg:9091"}, storageArgs), "is not an http(s) URL"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			argv, err := jobArgsOf(t, nil, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %q, %v; want an error saying %q", argv, err, tc.want)
			}
			if code := exitCodeOf(err); code != 2 {
				t.Errorf("exit code %d, want 2", code)
			}
		})
	}
}

// exitCodeOf is the code backupctl exits with on err.
func exitCodeOf(err error) int { return cli.ExitCode(err) }

// TestBadSetAndRetentionRefused: a set name that is not one word and a negative rule are refused
// when the command line is parsed, naming the flag.
func TestBadSetAndRetentionRefused(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"backup", "now", "--set", "a/b"}, `set name "a/b" is not valid`},
		{[]string{"schedule", "set", "--keep-daily=-1"}, "--keep-daily -1 cannot be negative"},
		{[]string{"backup", "now", "--keep-within=-1h"}, "--keep-within -1h0m0s cannot be negative"},
		{[]string{"prune", "--keep-weekly=-2"}, "--keep-weekly -2 cannot be negative"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			p, err := kong.New(&backupctlCLI{}, kong.Exit(func(int) { t.Fatalf("kong exits on %q", tc.args) }))
			if err != nil {
				t.Fatal(err)
			}
			clearEnv(t, p.Model.Node)
			_, err = p.Parse(cat(tc.args, storageArgs))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("parse %q: %v; want an error saying %q", tc.args, err, tc.want)
			}
		})
	}
}

// TestRetentionHelpSaysWhere: the retention flags' help says where the rules apply: in prune
// each set on its own, in backup now and schedule set the new backup's set.
func TestRetentionHelpSaysWhere(t *testing.T) {
	p, err := kong.New(&backupctlCLI{})
	if err != nil {
		t.Fatal(err)
	}
	help := map[string]string{}
	var walk func(n *kong.Node)
	walk = func(n *kong.Node) {
		for _, f := range n.Flags {
			if f.Name == "keep-last" || f.Name == "keep-within" {
				help[n.Path()+" "+f.Name] = f.Help
			}
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(p.Model.Node)
	for _, cmd := range []string{"prune", "backup now", "schedule set"} {
		want := "the new backup's set"
		if cmd == "prune" {
			want = "each backup set on its own"
		}
		for _, flag := range []string{"keep-last", "keep-within"} {
			if h := help[cmd+" "+flag]; !strings.Contains(h, want) {
				t.Errorf("%s --%s: help %q does not say %q", cmd, flag, h, want)
			}
		}
	}
}
