package agent

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestImageMapResolve(t *testing.T) {
	m, err := ParseImageMap([]string{"backupctl/dumper=/repo/bin/dumper", "backupctl/testshell=/bin/sh", "busybox=/bin/busybox"})
	if err != nil {
		t.Fatal(err)
	}
	for image, want := range map[string]string{
		"backupctl/dumper":                          "/repo/bin/dumper",
		"backupctl/dumper:v1":                       "/repo/bin/dumper",
		"ghcr.io/backupctl/dumper:v1":               "/repo/bin/dumper",
		"registry:5000/backupctl/dumper@sha256:abc": "/repo/bin/dumper",
		"docker.io/library/busybox:1.36":            "/bin/busybox",
		"backupctl/testshell:dev":                   "/bin/sh",
		"other/dumper:v1":                           "",
		"notbackupctl/dumper":                       "",
	} {
		got, ok := m.Resolve(image)
		if got != want || ok != (want != "") {
			t.Errorf("Resolve(%q) = %q, %v; want %q", image, got, ok, want)
		}
	}
	if _, err := ParseImageMap([]string{"nobinary"}); err == nil {
		t.Error("want an error for an entry without '='")
	}
}

func TestPathRewriter(t *testing.T) {
	rw := &pathRewriter{}
	rw.add("/etc/backup", "/pod/vol/cfg")
	rw.add("/etc/backup/secret/", "/pod/vol/sec")
	rw.add("/tmp", "/pod/vol/tmp")
	rw.add("/dev/termination-log", "/pod/term/main")
	rw.add("/", "/nowhere") // ignored
	for in, want := range map[string]string{
		"/etc/backup":                   "/pod/vol/cfg",
		"/etc/backup/a.yaml":            "/pod/vol/cfg/a.yaml",
		"--config=/etc/backup/a.yaml":   "--config=/pod/vol/cfg/a.yaml",
		"/etc/backup/secret/pw":         "/pod/vol/sec/pw",
		"/etc/backupx/a":                "/etc/backupx/a",
		"/x/etc/backup":                 "/x/etc/backup",
		"/tmp:/etc/backup":              "/pod/vol/tmp:/pod/vol/cfg",
		"cat /tmp/a /tmpfoo":            "cat /pod/vol/tmp/a /tmpfoo",
		"echo x > /dev/termination-log": "echo x > /pod/term/main",
		"/usr/bin/env":                  "/usr/bin/env",
		"no paths here":                 "no paths here",
	} {
		if got := rw.Rewrite(in); got != want {
			t.Errorf("Rewrite(%q) = %q, want %q", in, got, want)
		}
	}
}

func writeLog(t *testing.T, lines ...[2]string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "0.log")
	lf, err := createLogFile(p)
	if err != nil {
		t.Fatal(err)
	}
	ws := map[string]*streamWriter{"stdout": {l: lf, stream: "stdout"}, "stderr": {l: lf, stream: "stderr"}}
	for _, l := range lines {
		ws[l[0]].Write([]byte(l[1]))
	}
	for _, w := range ws {
		w.flush()
	}
	lf.Close()
	return p
}

func TestServeLogFile(t *testing.T) {
	p := writeLog(t, [2]string{"stdout", "one\ntw"}, [2]string{"stdout", "o\n"}, [2]string{"stderr", "err\n"}, [2]string{"stdout", "three"})
	read := func(q map[string][]string) string {
		o, err := parseLogOptions(q)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := serveLogFile(context.Background(), &b, p, o, closedChan); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	if got := read(nil); got != "one\ntwo\nerr\nthree\n" {
		t.Errorf("all = %q", got)
	}
	if got := read(map[string][]string{"tailLines": {"2"}}); got != "err\nthree\n" {
		t.Errorf("tail = %q", got)
	}
	if got := read(map[string][]string{"limitBytes": {"6"}}); got != "one\ntw" {
		t.Errorf("limit = %q", got)
	}
	if got := read(map[string][]string{"stream": {"Stderr"}}); got != "err\n" {
		t.Errorf("stderr = %q", got)
	}
	if got := tailText(p, 2, 7); got != "r\nthree" {
		t.Errorf("tailText = %q", got)
	}
}

func TestServeLogFileFollow(t *testing.T) {
	p := filepath.Join(t.TempDir(), "0.log")
	lf, err := createLogFile(p)
	if err != nil {
		t.Fatal(err)
	}
	w := &streamWriter{l: lf, stream: "stdout"}
	done := make(chan struct{})
	go func() {
		for _, s := range []string{"a\n", "b\n", "c\n"} {
			w.Write([]byte(s))
			time.Sleep(150 * time.Millisecond)
		}
		lf.Close()
		close(done)
	}()
	o, _ := parseLogOptions(map[string][]string{"follow": {"true"}})
	var b bytes.Buffer
	if err := serveLogFile(context.Background(), &b, p, o, done); err != nil {
		t.Fatal(err)
	}
	if b.String() != "a\nb\nc\n" {
		t.Fatalf("followed = %q", b.String())
	}
}

func TestLatestLog(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"0.log", "2.log", "1.log", "junk"} {
		os.WriteFile(filepath.Join(dir, n), nil, 0o644)
	}
	if got := latestLog(dir, false); filepath.Base(got) != "2.log" {
		t.Errorf("latest = %q", got)
	}
	if got := latestLog(dir, true); filepath.Base(got) != "1.log" {
		t.Errorf("previous = %q", got)
	}
}
