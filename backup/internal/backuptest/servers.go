package backuptest

import (
	"testing"
	"time"

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
