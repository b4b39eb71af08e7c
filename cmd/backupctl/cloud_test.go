package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/backupctl/backupctl/internal/cli"
	"github.com/backupctl/backupctl/jobs"
)

// TestCloudJobArgs: the cloud storage flags reach the dumper's argv; the SSE-C key never does
// (the Job takes it from the Secret), and --retain-mode only goes with --retain-days.
func TestCloudJobArgs(t *testing.T) {
	const key = "c3NlLWMta2V5LWluLWVudi1vbmx5LTMyLWJ5dGVzISE="
	env := map[string]string{"BACKUP_SSE_C_KEY": key}
	for _, tc := range []struct {
		args []string
		want []string
		not  []string
	}{
		{cat([]string{"backup", "now", "--sse", "c", "--retain-days", "7", "--retain-mode", "compliance", "--s3-sts-endpoint", "https://sts.example"}, storageArgs),
			[]string{"--sse=c", "--retain-days=7", "--retain-mode=compliance", "--s3-sts-endpoint=https://sts.example"}, nil},
		{cat([]string{"backup", "now", "--sse", "kms", "--sse-kms-key-id", "alias/backups"}, storageArgs),
			[]string{"--sse=kms", "--sse-kms-key-id=alias/backups"}, []string{"--retain-mode=governance"}},
		{cat([]string{"restore", "20260101T000000Z-abcdef", "--into", "x", "--sse", "c"}, storageArgs),
			[]string{"--sse=c"}, nil},
	} {
		argv, err := jobArgsOf(t, env, tc.args...)
		if err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		for _, w := range tc.want {
			if !slices.Contains(argv, w) {
				t.Errorf("%q: argv %q lacks %s", tc.args, argv, w)
			}
		}
		for _, a := range argv {
			if strings.Contains(a, key) || slices.Contains(tc.not, a) {
				t.Errorf("%q: argv carries %q", tc.args, a)
			}
		}
	}
}

// TestCloudJobSpec: the Kubernetes flags choose how the pod gets S3 credentials and the SSE-C key.
func TestCloudJobSpec(t *testing.T) {
	var s jobs.Spec
	f := cloudFlags{S3KeysFromSecret: true, WebIdentityAudience: "sts.example", WebIdentityRoleARN: "arn:role"}
	if err := f.apply(&s, cli.StorageFlags{SSE: "c"}); err != nil {
		t.Fatal(err)
	}
	if s.WebIdentity == nil || s.WebIdentity.Audience != "sts.example" || s.WebIdentity.RoleARN != "arn:role" || !s.SSECKey || s.NoS3Keys {
		t.Errorf("spec %+v", s)
	}
	s = jobs.Spec{}
	if err := (cloudFlags{}).apply(&s, cli.StorageFlags{}); err != nil || !s.NoS3Keys || s.SSECKey || s.WebIdentity != nil {
		t.Errorf("--no-s3-keys-from-secret: spec %+v, %v", s, err)
	}
	err := (cloudFlags{S3KeysFromSecret: true, WebIdentityAudience: "sts.example"}).apply(&s, cli.StorageFlags{})
	if err == nil || !strings.Contains(err.Error(), "--web-identity-role-arn") {
		t.Errorf("audience without role: %v", err)
	}
}
