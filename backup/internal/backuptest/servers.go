package backuptest

import (
	"database/sql"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/backupctl/backupctl/backup/dbconn"
	"github.com/backupctl/backupctl/internal/testenv"
)

// ServerConfigs are the source and target servers that `make up` starts (testenv.Source and
// testenv.Target, over TCP) for tests that also need MinIO (testenv.MinIO): a missing variable
// fails the test (CI must not pass by skipping), except under -short.
func ServerConfigs(t *testing.T) (src, dst dbconn.Config) {
	t.Helper()
	s, d := testenv.Source(t), testenv.Target(t)
	testenv.MinIO(t)
	conf := func(m testenv.MariaDB) dbconn.Config {
		return dbconn.Config{Host: m.Host, Port: m.Port, User: m.User, Password: dbconn.Secret(m.Password), Timeout: 30 * time.Second}
	}
	return conf(s), conf(d)
}

// OpenDB opens a pool on c, closed when the test ends, and fails the test when the server does
// not answer.
func OpenDB(t *testing.T, c dbconn.Config) *sql.DB {
	t.Helper()
	mc, err := c.MySQLConfig()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := mysql.NewConnector(mc)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	t.Cleanup(func() { _ = db.Close() })
	if err := db.PingContext(t.Context()); err != nil {
		t.Fatalf("connect to MariaDB at %s: %v (%s)", c.Address(), err, testenv.Hint)
	}
	return db
}
