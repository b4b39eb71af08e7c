// Command stackdb starts one of the shared MariaDB servers of `make up` (scripts/stack.sh calls
// it), with the settings and start-up code the tests' private servers use: testenv.MariaDBServer.
//
//	go run ./internal/testenv/stackdb DIR PORT USER PASSWORD
//
// It initialises DIR/data when it is missing, starts mariadbd in a session of its own, writes its
// pid to DIR/pid (what `scripts/stack.sh down` stops), waits until it answers and creates USER.
// A server that runs and answers already is left alone.
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/backupctl/backupctl/internal/testenv"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "[stack]", err)
		os.Exit(1)
	}
}

func logf(format string, a ...any) { fmt.Fprintf(os.Stderr, "[stack] "+format+"\n", a...) }

func run(args []string) error {
	if len(args) != 4 {
		return fmt.Errorf("usage: stackdb DIR PORT USER PASSWORD")
	}
	port, err := strconv.Atoi(args[1])
	if err != nil {
		return fmt.Errorf("port %q: %v", args[1], err)
	}
	s := testenv.MariaDBServer{Dir: args[0], Port: port}
	name := s.Dir[strings.LastIndex(s.Dir, "/")+1:]
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return err
	}
	pidFile := s.Dir + "/pid"
	if pidAlive(pidFile) && s.Ping() {
		logf("%s already running on port %d", name, port)
		return nil
	}
	if _, err := os.Stat(s.Datadir() + "/mysql"); err != nil {
		logf("initialising %s datadir", name)
		if err := testenv.InitDatadir(s.Datadir(), s.Dir+"/install.log"); err != nil {
			return err
		}
	}
	logf("starting %s on 127.0.0.1:%d", name, port)
	cmd := s.Command()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start mariadbd: %v", err)
	}
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	alive := func() bool {
		select {
		case <-exited:
			return false
		default:
			return true
		}
	}
	if err := s.WaitReady(60*time.Second, alive); err != nil {
		return fmt.Errorf("%s failed to start: %v", name, err)
	}
	return s.CreateUser(args[2], args[3])
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
