package cli

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
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
	code := Main(context.Background(), "backupctl", "test", c, args)
	return code, errb.String()
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
		{"bad output", nil, []string{"-o", "yaml", "verify", "x"}, "must be one of"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stderr := runMain(t, tc.env, tc.args...)
			if code != ExitUsage {
				t.Errorf("exit code %d, want %d; stderr: %s", code, ExitUsage, stderr)
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

func TestJobResultRoundTrip(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(TerminationLogEnv, dir+"/log")
	WriteTerminationLog(map[string]any{"id": "abc", "pad": strings.Repeat("x", 5000)}, nil)
	b := mustRead(t, dir+"/log")
	if len(b) > maxTerminationMessage {
		t.Fatalf("termination message is %d bytes, over the kubelet's %d", len(b), maxTerminationMessage)
	}
	jr, err := ParseJobResult(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if !jr.OK || jr.ExitCode != 0 {
		t.Errorf("got %+v, want ok", jr)
	}
	WriteTerminationLog(nil, Usagef("bad --bucket"))
	jr, err = ParseJobResult(string(mustRead(t, dir+"/log")))
	if err != nil {
		t.Fatal(err)
	}
	if jr.OK || jr.ExitCode != ExitUsage || jr.Error != "bad --bucket" {
		t.Errorf("got %+v, want a usage failure", jr)
	}
}
func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
