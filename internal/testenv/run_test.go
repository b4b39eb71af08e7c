package testenv

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRunSplitsStderr(t *testing.T) {
	cmd := exec.Command("sh", "-c", `echo out; echo '{"msg":"started","n":1}' >&2; echo 'backupctl: it failed' >&2; echo '{"msg":"done"}' >&2; exit 3`)
	r, timedOut := Run(cmd, time.Minute)
	if timedOut || r.Code != 3 || r.Stdout != "out\n" || r.Prog != "sh" {
		t.Errorf("Run = %+v, timed out %t", r, timedOut)
	}
	if strings.Count(r.Stderr, "\n") != 3 {
		t.Errorf("stderr not kept as written: %q", r.Stderr)
	}
	if m := r.Messages(); !slices.Equal(m, []string{"backupctl: it failed"}) || r.Message() != "backupctl: it failed" {
		t.Errorf("Messages = %q", m)
	}
	recs := r.Records()
	if len(recs) != 2 || recs[0]["msg"] != "started" || recs[1]["msg"] != "done" {
		t.Errorf("Records = %v", recs)
	}
}

func TestProcessWaitRecordAndTimeout(t *testing.T) {
	p, err := Start(exec.Command("sh", "-c", `echo '{"msg":"ready","id":"x"}' >&2; exec sleep 60`))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	rec, ok := p.WaitRecord(time.Minute, MsgIs("ready"))
	if !ok || rec["id"] != "x" {
		t.Fatalf("WaitRecord = %v, %t", rec, ok)
	}
	if _, ok := p.WaitRecord(50*time.Millisecond, MsgIs("never")); ok {
		t.Error("WaitRecord found a record that was not written")
	}
	r, timedOut := p.Wait(100 * time.Millisecond)
	if !timedOut || r.Code != 128+15 || p.Alive() {
		t.Errorf("Wait past its time: code %d, timed out %t, alive %t", r.Code, timedOut, p.Alive())
	}
}

func TestRunCannotStart(t *testing.T) {
	r, _ := Run(exec.Command("/nonexistent/binary"), time.Minute)
	if r.Code != -1 || !strings.Contains(r.Stderr, "/nonexistent/binary") {
		t.Errorf("Run of a missing binary = %+v", r)
	}
}

func TestUniqueName(t *testing.T) {
	a, b := UniqueName(strings.Repeat("p", 60)), UniqueName("db")
	if len(a) != 50+1+10 || !strings.HasPrefix(b, "db_") || len(b) != 13 || a == UniqueName(strings.Repeat("p", 60)) {
		t.Errorf("UniqueName: %q, %q", a, b)
	}
}

func TestMariaDBArgs(t *testing.T) {
	s := MariaDBServer{Dir: "/d", Port: 3307, Extra: []string{"--ssl-ca=x"}}
	args := s.Args()
	if args[0] != "--no-defaults" || args[len(args)-1] != "--ssl-ca=x" || !slices.Contains(args, "--port=3307") ||
		!slices.Contains(args, "--socket=/d/sock") || !slices.Contains(args, "--log-bin=/d/data/binlog") {
		t.Errorf("Args = %q", args)
	}
	for _, set := range MariaDBSettings {
		if !slices.Contains(args, set) {
			t.Errorf("Args lacks %s", set)
		}
	}
}
