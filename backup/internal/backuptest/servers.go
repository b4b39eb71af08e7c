package backuptest

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/backupctl/backupctl/backup/dbconn"
)

// ServerConfigs reads the source and target servers that `make up` starts; missing ones
// fail the test (CI must not pass by skipping), except under -short.
func ServerConfigs(t *testing.T) (src, dst dbconn.Config) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs MariaDB and MinIO; not under -short")
	}
	for _, k := range []string{"BACKUP_DB_HOST", "BACKUP_DB_PORT", "BACKUP_TEST_DST_HOST", "BACKUP_TEST_DST_PORT",
		"BACKUP_DB_USER", "BACKUP_DB_PASSWORD", "BACKUP_S3_ENDPOINT", "BACKUP_S3_BUCKET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		if os.Getenv(k) == "" {
			t.Fatalf("%s is not set: run `make up` and source .stack/env", k)
		}
	}
	port := func(k string) int {
		n, err := strconv.Atoi(os.Getenv(k))
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		return n
	}
	src = dbconn.Config{Host: os.Getenv("BACKUP_DB_HOST"), Port: port("BACKUP_DB_PORT"), User: os.Getenv("BACKUP_DB_USER"),
		Password: dbconn.Secret(os.Getenv("BACKUP_DB_PASSWORD")), Timeout: 30 * time.Second}
	dst = dbconn.Config{Host: os.Getenv("BACKUP_TEST_DST_HOST"), Port: port("BACKUP_TEST_DST_PORT"), User: os.Getenv("BACKUP_DB_USER"),
		Password: dbconn.Secret(os.Getenv("BACKUP_DB_PASSWORD")), Timeout: 30 * time.Second}
	return src, dst
}
