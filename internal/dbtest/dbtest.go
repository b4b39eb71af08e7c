// Package dbtest is the kit every round-trip test uses: it connects to the MariaDB servers that
// `make up` starts (read from .stack/env by internal/testenv), loads data sets into throwaway
// databases, and compares two databases down to the byte so a test can prove that a restore
// equals what the server held.
package dbtest

import (
	"database/sql"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/backup/sqltext"
	"github.com/backupctl/backupctl/internal/testenv"
)

// Server is one of the test servers: how to reach it and as whom.
type Server struct {
	Name     string // "source" or "target", for messages
	Host     string
	Port     int
	Socket   string
	User     string
	Password backup.Secret
}

// Source returns the server that holds the data to back up (testenv.Source).
func Source(t testing.TB) *Server {
	t.Helper()
	return FromEnv(testenv.Source(t))
}

// Target returns the empty server that restores go to (testenv.Target).
func Target(t testing.TB) *Server {
	t.Helper()
	return FromEnv(testenv.Target(t))
}

// FromEnv is a server of .stack/env as dbtest uses it.
func FromEnv(m testenv.MariaDB) *Server {
	return &Server{Name: m.Name, Host: m.Host, Port: m.Port, Socket: m.Socket, User: m.User, Password: backup.Secret(m.Password)}
}

// Config returns the server as a backup.DBConfig with no database selected.
func (s *Server) Config() backup.DBConfig {
	return backup.DBConfig{
		Host:     s.Host,
		Port:     s.Port,
		Socket:   s.Socket,
		User:     s.User,
		Password: s.Password,
		Timeout:  time.Minute,
	}
}

// DB opens a pool on database ("" for none), closed when the test ends. Sessions use UTC, so
// TIMESTAMP values read the same everywhere.
func (s *Server) DB(t testing.TB, database string) *sql.DB {
	t.Helper()
	return s.open(t, database, nil)
}

func (s *Server) open(t testing.TB, database string, params map[string]string) *sql.DB {
	t.Helper()
	cfg := s.Config()
	cfg.Database = database
	mc, err := cfg.MySQLConfig()
	if err != nil {
		t.Fatalf("%s: %v", s.Name, err)
	}
	mc.Params["time_zone"] = "'+00:00'"
	for k, v := range params {
		mc.Params[k] = v
	}
	conn, err := mysql.NewConnector(mc)
	if err != nil {
		t.Fatalf("%s: %v", s.Name, err)
	}
	db := sql.OpenDB(conn)
	t.Cleanup(func() { _ = db.Close() })
	if err := db.PingContext(t.Context()); err != nil {
		t.Fatalf("connect to the %s server at %s: %v (run `make up` and source .stack/env)", s.Name, cfg.Address(), err)
	}
	return db
}

// Exec runs statements in order on one session, so SET statements carry over; it fails the
// test on the first error.
func (s *Server) Exec(t testing.TB, sqls ...string) {
	t.Helper()
	db := s.DB(t, "")
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatalf("%s: %v", s.Name, err)
	}
	defer conn.Close()
	for _, q := range sqls {
		if _, err := conn.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %s: %v", s.Name, q, err)
		}
	}
}

// CreateDatabase creates a database under a unique name that starts with prefix, drops it
// when the test ends, and returns the name.
func (s *Server) CreateDatabase(t testing.TB, prefix string) string {
	t.Helper()
	name := UniqueName(prefix)
	s.Exec(t, "CREATE DATABASE "+QuoteIdent(name))
	s.DropAtEnd(t, name)
	return name
}

// DropAtEnd drops database name when the test ends, unless BACKUP_TEST_KEEP is set: for a
// database a test did not create with CreateDatabase, such as the target of a restore.
func (s *Server) DropAtEnd(t testing.TB, name string) {
	t.Cleanup(func() {
		if testenv.Keep() {
			t.Logf("keeping %s database %s (BACKUP_TEST_KEEP)", s.Name, name)
			return
		}
		cfg := s.Config()
		mc, err := cfg.MySQLConfig()
		if err != nil {
			return
		}
		db, err := sql.Open("mysql", mc.FormatDSN())
		if err != nil {
			return
		}
		defer db.Close()
		if _, err := db.Exec("DROP DATABASE IF EXISTS " + QuoteIdent(name)); err != nil {
			t.Logf("drop %s database %s: %v", s.Name, name, err)
		}
	})
}

// UniqueName returns prefix followed by a random suffix, short enough for a database name
// (testenv.UniqueName).
func UniqueName(prefix string) string { return testenv.UniqueName(prefix) }

// QuoteIdent quotes a MariaDB identifier with backticks (sqltext.QuoteIdent).
func QuoteIdent(name string) string { return sqltext.QuoteIdent(name) }
