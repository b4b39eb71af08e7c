package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// MariaDBSettings are the mariadbd options of every MariaDB server the project starts: the
// shared ones of `make up` (through the stackdb command) and the tests' private ones alike.
// Change a setting here and nowhere else.
var MariaDBSettings = []string{
	"--bind-address=127.0.0.1",
	"--user=root",
	"--server-id=1",
	"--binlog-format=ROW",
	"--innodb-buffer-pool-size=512M",
	"--innodb-log-file-size=256M",
	"--max-allowed-packet=256M",
	"--event-scheduler=OFF",
	"--skip-name-resolve",
}

// MariaDBServer is a MariaDB server that lives in a directory of its own: the datadir in
// Dir/data (binary logs in it), the socket Dir/sock, the error log Dir/error.log. Keep Dir short:
// a socket path has a length limit.
type MariaDBServer struct {
	Dir   string
	Port  int
	Extra []string // options after MariaDBSettings (TLS, say); a later option wins
}

// Datadir is Dir/data.
func (s MariaDBServer) Datadir() string { return s.Dir + "/data" }

// Socket is Dir/sock.
func (s MariaDBServer) Socket() string { return s.Dir + "/sock" }

// ErrorLog is Dir/error.log.
func (s MariaDBServer) ErrorLog() string { return s.Dir + "/error.log" }

// Tmpdir is Dir/tmp: the server's temporary tables live there, not in the machine's shared
// /tmp, where another program's clean-up could remove them under a running server.
func (s MariaDBServer) Tmpdir() string { return s.Dir + "/tmp" }

// Args are mariadbd's arguments: no option file, the server's paths and port, MariaDBSettings,
// Extra.
func (s MariaDBServer) Args() []string {
	args := []string{"--no-defaults", "--datadir=" + s.Datadir(), "--socket=" + s.Socket(),
		"--port=" + strconv.Itoa(s.Port), "--pid-file=" + s.Dir + "/mariadbd.pid",
		"--log-error=" + s.ErrorLog(), "--log-bin=" + s.Datadir() + "/binlog", "--tmpdir=" + s.Tmpdir()}
	args = append(args, MariaDBSettings...)
	return append(args, s.Extra...)
}

// Command is mariadbd with Args, not started.
// The temporary directory is created first.
func (s MariaDBServer) Command() *exec.Cmd {
	_ = os.MkdirAll(s.Tmpdir(), 0o700)
	return exec.Command("mariadbd", s.Args()...)
}

// InitDatadir creates an empty datadir with mariadb-install-db: root logs in through the socket
// only, no test database. log, when not empty, receives the tool's output.
func InitDatadir(datadir, log string) error {
	out, err := exec.Command("mariadb-install-db", "--no-defaults", "--datadir="+datadir, "--user=root",
		"--auth-root-authentication-method=socket", "--skip-test-db").CombinedOutput()
	if log != "" {
		_ = os.WriteFile(log, out, 0o600)
	}
	if err != nil {
		return fmt.Errorf("mariadb-install-db: %v\n%s", err, out)
	}
	return nil
}

// Ping reports whether the server answers as root on its socket.
func (s MariaDBServer) Ping() bool {
	return exec.Command("mariadb-admin", "--no-defaults", "-uroot", "--socket="+s.Socket(), "ping").Run() == nil
}

// ErrNotReady is what WaitReady returns when the server does not answer in time.
var ErrNotReady = errors.New("MariaDB did not answer")

// WaitReady waits up to d for the server to answer. alive says whether its process still runs;
// when it ended, WaitReady returns at once with the end of the error log.
func (s MariaDBServer) WaitReady(d time.Duration, alive func() bool) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if s.Ping() {
			return nil
		}
		if !alive() {
			b, _ := os.ReadFile(s.ErrorLog())
			return fmt.Errorf("MariaDB in %s did not start (see %s):\n%s", s.Dir, s.ErrorLog(), Tail(string(b), 2000))
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("%w within %s (see %s)", ErrNotReady, d, s.ErrorLog())
}

// Root runs SQL as root through the stock client on the socket and returns its output
// (tab-separated, no column names), trimmed.
func (s MariaDBServer) Root(sql string) (string, error) {
	out, err := exec.Command("mariadb", "--no-defaults", "-uroot", "--socket="+s.Socket(), "-N", "-B", "-e", sql).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s: %v\n%s", Tail(sql, 300), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// CreateUser creates user with password on '%' and 'localhost', with every privilege and the
// grant option, unless it exists.
func (s MariaDBServer) CreateUser(user, password string) error {
	q := func(v string) string {
		return "'" + strings.ReplaceAll(strings.ReplaceAll(v, `\`, `\\`), "'", "''") + "'"
	}
	var b strings.Builder
	for _, host := range []string{"%", "localhost"} {
		fmt.Fprintf(&b, "CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s; ", q(user), q(host), q(password))
	}
	for _, host := range []string{"%", "localhost"} {
		fmt.Fprintf(&b, "GRANT ALL ON *.* TO %s@%s WITH GRANT OPTION; ", q(user), q(host))
	}
	_, err := s.Root(b.String())
	return err
}
