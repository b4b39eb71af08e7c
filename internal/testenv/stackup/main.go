// Command stackup starts the shared servers of `make up` (scripts/stack.sh calls it) with the
// code and settings the tests' private servers are started with: testenv.MariaDBServer and
// testenv.MinIOServer.
//
//	go run ./internal/testenv/stackup mariadb DIR PORT USER PASSWORD
//	go run ./internal/testenv/stackup minio DIR PORT USER PASSWORD MINIO-BINARY [CERTS-DIR [MINIO_KEY=VALUE...]]
//
// With CERTS-DIR (public.crt, private.key, CAs/) MinIO speaks https, and the KEY=VALUE
// settings (a KMS key, an OpenID provider) are added to its environment.
//
// Each starts its server in a session of its own, writes its pid to DIR/pid (what
// `scripts/stack.sh down` stops) and waits until it answers. mariadb initialises DIR/data when
// it is missing and creates USER with every privilege; minio's USER is its root user. A server
// that runs and answers already is left alone.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/backupctl/backupctl/internal/testenv"
)

const usage = "usage: stackup mariadb DIR PORT USER PASSWORD | stackup minio DIR PORT USER PASSWORD MINIO-BINARY [CERTS-DIR [MINIO_KEY=VALUE...]]"

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "[stack]", err)
		os.Exit(1)
	}
}

func logf(format string, a ...any) { fmt.Fprintf(os.Stderr, "[stack] "+format+"\n", a...) }

func run(args []string) error {
	if len(args) < 5 {
		return fmt.Errorf(usage)
	}
	dir := args[1]
	port, err := strconv.Atoi(args[2])
	if err != nil {
		return fmt.Errorf("port %q: %v", args[2], err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	switch {
	case args[0] == "mariadb" && len(args) == 5:
		return mariadb(testenv.MariaDBServer{Dir: dir, Port: port}, args[3], args[4])
	case args[0] == "minio" && len(args) >= 6:
		s := testenv.MinIOServer{Dir: dir, Port: port, User: args[3], Password: args[4]}
		if len(args) > 6 {
			s.CertsDir, s.Settings = args[6], args[7:]
		}
		return minio(s, args[5])
	}
	return fmt.Errorf(usage)
}

func mariadb(s testenv.MariaDBServer, user, password string) error {
	name := filepath.Base(s.Dir)
	if pidAlive(s.Dir+"/pid") && s.Ping() {
		logf("%s already running on port %d", name, s.Port)
		return nil
	}
	if _, err := os.Stat(s.Datadir() + "/mysql"); err != nil {
		logf("initialising %s datadir", name)
		if err := testenv.InitDatadir(s.Datadir(), s.Dir+"/install.log"); err != nil {
			return err
		}
	}
	logf("starting %s on 127.0.0.1:%d", name, s.Port)
	alive, err := startDetached(s.Command(), s.Dir+"/pid", nil)
	if err != nil {
		return err
	}
	if err := s.WaitReady(60*time.Second, alive); err != nil {
		return fmt.Errorf("%s failed to start: %v", name, err)
	}
	return s.CreateUser(user, password)
}

func minio(s testenv.MinIOServer, bin string) error {
	hc, err := s.Client()
	if err != nil {
		return err
	}
	if pidAlive(s.Dir+"/pid") && s.WaitReady(time.Second, func() bool { return true }, hc) == nil {
		logf("minio already running on port %d", s.Port)
		return nil
	}
	if err := os.MkdirAll(s.Dir+"/data", 0o755); err != nil {
		return err
	}
	logf("starting minio on 127.0.0.1:%d", s.Port)
	out, err := os.Create(s.Log())
	if err != nil {
		return err
	}
	defer out.Close()
	alive, err := startDetached(s.Command(bin), s.Dir+"/pid", out)
	if err != nil {
		return err
	}
	if err := s.WaitReady(60*time.Second, alive, hc); err != nil {
		return fmt.Errorf("minio failed to start: %v", err)
	}
	return nil
}

// startDetached starts cmd in a session of its own with its output to out (nil: /dev/null),
// writes its pid to pidFile and returns whether it still runs, for the wait.
func startDetached(cmd *exec.Cmd, pidFile string, out *os.File) (alive func() bool, err error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if out == nil {
		if out, err = os.OpenFile(os.DevNull, os.O_WRONLY, 0); err != nil {
			return nil, err
		}
		defer out.Close()
	}
	cmd.Stdout, cmd.Stderr = out, out
	p, err := testenv.Start(cmd)
	if err != nil {
		return nil, fmt.Errorf("start %s: %v", cmd.Path, err)
	}
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(p.Pid())+"\n"), 0o644); err != nil {
		return nil, err
	}
	return p.Alive, nil
}

// pidAlive reports whether the process of the pid in file runs.
func pidAlive(file string) bool {
	b, err := os.ReadFile(file)
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return false
	}
	return syscall.Kill(pid, 0) == nil
}
