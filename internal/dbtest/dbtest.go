// Package dbtest is the kit every round-trip test uses: it connects to the MariaDB servers that
// `make up` starts, loads data sets into throwaway databases, and compares two databases down to
// the byte so a test can prove that a restore equals what the server held.
package dbtest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/backupctl/backupctl/backup"
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

// Source returns the server that holds the data to back up.
func Source(t testing.TB) *Server {
	t.Helper()
	return fromEnv(t, "source", "BACKUP_DB_HOST", "BACKUP_DB_PORT", "BACKUP_TEST_SRC_SOCKET")
}

// Target returns the empty server that restores go to.
func Target(t testing.TB) *Server {
	t.Helper()
	return fromEnv(t, "target", "BACKUP_TEST_DST_HOST", "BACKUP_TEST_DST_PORT", "BACKUP_TEST_DST_SOCKET")
}

// fromEnv reads a server from .stack/env. A missing variable fails the test (CI must not pass by
// skipping); only -short runs, which promise not to need servers, skip.
func fromEnv(t testing.TB, name, hostVar, portVar, socketVar string) *Server {
	t.Helper()
	if testing.Short() {
		t.Skipf("needs the MariaDB %s server; not under -short", name)
	}
	for _, k := range []string{hostVar, portVar, socketVar, "BACKUP_DB_USER"} {
		if os.Getenv(k) == "" {
			t.Fatalf("%s is not set: run `make up` and source .stack/env", k)
		}
	}
	pw, ok := os.LookupEnv("BACKUP_DB_PASSWORD")
	if !ok {
		t.Fatalf("BACKUP_DB_PASSWORD is not set: run `make up` and source .stack/env")
	}
	port, err := strconv.Atoi(os.Getenv(portVar))
	if err != nil {
		t.Fatalf("%s=%q is not a port: %v", portVar, os.Getenv(portVar), err)
	}
	return &Server{
		Name:     name,
		Host:     os.Getenv(hostVar),
		Port:     port,
		Socket:   os.Getenv(socketVar),
		User:     os.Getenv("BACKUP_DB_USER"),
		Password: backup.Secret(pw),
	}
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
		if os.Getenv("BACKUP_TEST_KEEP") != "" {
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

// UniqueName returns prefix followed by a random suffix, short enough for a database name.
func UniqueName(prefix string) string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	if len(prefix) > 50 {
		prefix = prefix[:50]
	}
	return prefix + "_" + hex.EncodeToString(b[:])
}

// QuoteIdent quotes a MariaDB identifier with backticks.
func QuoteIdent(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}
