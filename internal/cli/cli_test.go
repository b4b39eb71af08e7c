package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/storage"
)

type testCLI struct {
	Globals
	Verify VerifyCmd `cmd:""`
}

func runMain(t *testing.T, env map[string]string, args ...string) (int, string) {
	t.Helper()
	for _, k := range []string{"BACKUP_S3_ENDPOINT", "BACKUP_S3_BUCKET", "BACKUP_TO", "BACKUP_S3_PREFIX", "BACKUP_S3_PART_SIZE", "BACKUP_OUTPUT"} {
		t.Setenv(k, env[k]) // restored after the test
		if _, ok := env[k]; !ok {
			os.Unsetenv(k)
		}
	}
	var out, errb bytes.Buffer
	c := &testCLI{}
	c.Stdout, c.Stderr = &out, &errb
	kctx, err := Parse(context.Background(), "backupctl", "test", c, args)
	if err == nil {
		err = kctx.Run()
	}
	return Exit(&c.Globals, "backupctl", err), errb.String()
}

func TestUsageErrorsExitTwo(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"unknown flag", nil, []string{"verify", "x", "--no-such-flag"}, "unknown flag"},
		{"no storage", nil, []string{"verify", "x"}, "no storage given"},
		{"both storages", map[string]string{"BACKUP_TO": "file:///tmp/x", "BACKUP_S3_ENDPOINT": "http://127.0.0.1:1"}, []string{"verify", "x"}, "choose one"},
		{"to not a file URL", nil, []string{"verify", "x", "--to", "/tmp/x"}, "file:///path"},
		{"bad part size", map[string]string{"BACKUP_TO": "file:///tmp/x"}, []string{"verify", "x", "--s3-part-size", "lots"}, "--s3-part-size"},
		{"bad output", nil, []string{"-o", "xml", "verify", "x"}, "must be one of"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stderr := runMain(t, tc.env, tc.args...)
			if code != contract.ExitUsage {
				t.Errorf("exit code %d, want %d; stderr: %s", code, contract.ExitUsage, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q does not mention %q", stderr, tc.want)
			}
			if strings.Count(strings.TrimSpace(stderr), "\n") > 0 && tc.name != "unknown flag" && tc.name != "bad output" {
				t.Errorf("error is not one line: %q", stderr)
			}
		})
	}
}

func TestPrintText(t *testing.T) {
	var out bytes.Buffer
	g := &Globals{Output: "text", Stdout: &out}
	err := g.Print(map[string]any{"id": "x", "verified": true, "size": 12, "databases": []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	want := "databases: a, b\nid: x\nsize: 12\nverified: true\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

// TestTerminationLogExitCode: the dumper's termination log carries the exit code it exits with.
func TestTerminationLogExitCode(t *testing.T) {
	path := t.TempDir() + "/log"
	t.Setenv(contract.TerminationLogEnv, path)
	WriteTerminationLog(nil, fmt.Errorf("verify: %w", contract.Usagef("bad --bucket")))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	jr, err := contract.ParseJobResult(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if jr.OK || jr.ExitCode != contract.ExitUsage || jr.Error != "verify: bad --bucket" {
		t.Errorf("got %+v, want a usage failure", jr)
	}
}

// TestExitCode: each kind of error has its code, whatever wraps it.
func TestExitCode(t *testing.T) {
	cases := []struct {
		err  error
		want int
	}{
		{nil, contract.ExitOK},
		{errors.New("boom"), contract.ExitFailed},
		{contract.Usagef("bad"), contract.ExitUsage},
		{&parseError{err: errors.New("unknown flag")}, contract.ExitUsage},
		{&hintedError{err: errors.New("denied"), hint: "check --db-user"}, contract.ExitUsage},
		{contract.VerifyFailed(errors.New("sha256 differs")), contract.ExitVerify},
		{contract.NotFound(errors.New("no such cronjob")), contract.ExitNotFound},
		{&contract.ExitError{Code: contract.ExitRefused, Err: errors.New("job failed")}, contract.ExitRefused},
		{context.Canceled, contract.ExitInterrupted},
		{backup.ErrNoManifest, contract.ExitNotFound},
		{backup.ErrTargetNotEmpty, contract.ExitRefused},
		{backup.ErrVerify, contract.ExitVerify},
		{storage.ErrConfig, contract.ExitUsage},
		{backup.ErrUnknownDatabase, contract.ExitUsage},
		{backup.ErrBadSelection, contract.ExitUsage},
		{backup.ErrPruneRefused, contract.ExitRefused},
		{backup.ErrUnknownSet, contract.ExitNotFound},
	}
	for _, tc := range cases {
		if got := ExitCode(fmt.Errorf("wrapped: %w", tc.err)); tc.err != nil && got != tc.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
		if got := ExitCode(tc.err); got != tc.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}
