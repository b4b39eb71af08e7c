package main

import (
	"testing"

	"github.com/alecthomas/kong"
	"github.com/google/go-cmp/cmp"
)

// parseGiven parses a command line with the real grammar in an environment holding only env,
// and returns the flags it gives.
func parseGiven(t *testing.T, env map[string]string, args ...string) map[string][]string {
	t.Helper()
	c := &backupctlCLI{}
	p, err := kong.New(c)
	if err != nil {
		t.Fatal(err)
	}
	clearEnv(t, p.Model.Node)
	for k, v := range env {
		t.Setenv(k, v)
	}
	kctx, err := p.Parse(args)
	if err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	return givenFlags(kctx)
}

// TestScheduleSetEdits: a second `schedule set` keeps the flags the first one was given and
// changes only its own; identity flags are never recorded; env twins count as given.
func TestScheduleSetEdits(t *testing.T) {
	first := parseGiven(t, map[string]string{"BACKUP_S3_BUCKET": "b"}, "schedule", "set", "-d", "shop", "-d", "crm", "--keep-daily", "7",
		"--s3-endpoint", "https://s3.example", "-n", "prod", "--starting-deadline", "90m")
	want := map[string][]string{
		"database": {"shop", "crm"}, "keep-daily": {"7"}, "s3-endpoint": {"https://s3.example"}, "bucket": {"b"},
		"starting-deadline": {"1h30m0s"},
	}
	if d := cmp.Diff(want, first); d != "" {
		t.Errorf("given flags (-want +got):\n%s", d)
	}
	second := parseGiven(t, nil, "schedule", "set", "--schedule", "30 3 * * *", "--suspend")
	for k, v := range second {
		first[k] = v
	}
	c, err := parseScheduleSet(first, "prod", "nightly")
	if err != nil {
		t.Fatal(err)
	}
	if c.Schedule != "30 3 * * *" || !c.Suspend || c.KeepDaily != 7 || !cmp.Equal(c.Database, []string{"shop", "crm"}) ||
		c.Namespace != "prod" || c.Name != "nightly" || c.StartingDeadline.Minutes() != 90 || c.Bucket != "b" || c.TimeZone != "Etc/UTC" {
		t.Errorf("merged schedule set: %+v", c)
	}
	old, _, err := c.cronJob(first)
	if err != nil {
		t.Fatal(err)
	}
	first["keep-daily"] = []string{"3"}
	c2, err := parseScheduleSet(first, "prod", "nightly")
	if err != nil {
		t.Fatal(err)
	}
	cur, _, err := c2.cronJob(first)
	if err != nil {
		t.Fatal(err)
	}
	if d := changes(infoOf(old), infoOf(cur)); !cmp.Equal(d, []string{"--keep-daily: 7 → 3"}) {
		t.Errorf("changes = %q", d)
	}
	stored, ok := storedFlags(cur)
	if !ok || !cmp.Equal(stored, first) {
		t.Errorf("recorded flags %v (ok %v), want %v", stored, ok, first)
	}
}
