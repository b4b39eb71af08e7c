// Package testenv is the one way tests reach the servers that `make up` starts and describes in
// .stack/env, and the helpers every test kit shares:
//
//   - the servers of .stack/env: Source and Target (MariaDB), MinIO (S3), Get and Lookup for any
//     other variable, SkipShort, Keep (BACKUP_TEST_KEEP);
//   - names: UniqueName (a database, a namespace), RandomHex;
//   - running a binary: Run, Start (a Process: WaitRecord, Wait, Kill) and its Result, whose
//     stderr splits into Messages (what a user reads) and Records (the JSON log);
//   - starting a server: MariaDBServer and MinIOServer, the code and settings both `make up`
//     (through the stackup command) and the fault tests' private servers start them with.
//
// A missing variable fails the test, in CI (CI set) and everywhere else: a run must not pass by
// skipping. Only -short runs, which promise not to need servers, skip.
//
// It imports nothing of this module, so the tests of any package can use it, backup's own
// (package backup) included. The kits above it: internal/dbtest (a MariaDB server as a
// backup.DBConfig, data sets, inventories) and storage/storagetest (buckets for tests: Local,
// MinIO, Faulty).
package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"strconv"
	"strings"
	"testing"
)

// Hint is what a message about a missing server tells the user to do.
const Hint = "run `make up` and source .stack/env"

// SkipShort skips the test under -short, saying it needs what (e.g. "the MariaDB source server").
func SkipShort(t testing.TB, what string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("needs %s; not under -short", what)
	}
}

// Get returns the variable k of .stack/env and fails the test when it is unset or empty.
func Get(t testing.TB, k string) string {
	t.Helper()
	v := os.Getenv(k)
	if v == "" {
		t.Fatalf("%s is not set: %s", k, Hint)
	}
	return v
}

// Lookup returns the variable k of .stack/env, which may be empty, and fails the test when it is
// unset.
func Lookup(t testing.TB, k string) string {
	t.Helper()
	v, ok := os.LookupEnv(k)
	if !ok {
		t.Fatalf("%s is not set: %s", k, Hint)
	}
	return v
}

// Missing returns the names among keys whose variables are unset or empty, in order.
func Missing(keys ...string) []string {
	var out []string
	for _, k := range keys {
		if os.Getenv(k) == "" {
			out = append(out, k)
		}
	}
	return out
}

// Keep reports whether BACKUP_TEST_KEEP is set: tests then leave their databases, objects and
// namespaces behind for a look.
func Keep() bool { return os.Getenv("BACKUP_TEST_KEEP") != "" }

// MariaDB is how to reach one of the shared MariaDB servers, and as whom.
type MariaDB struct {
	Name     string // "source" or "target", for messages
	Host     string
	Port     int
	Socket   string
	User     string
	Password string
}

// Source is the server that holds the data to back up (BACKUP_DB_HOST, BACKUP_DB_PORT,
// BACKUP_TEST_SRC_SOCKET, BACKUP_DB_USER, BACKUP_DB_PASSWORD). It skips under -short.
func Source(t testing.TB) MariaDB {
	t.Helper()
	return mariadbFromEnv(t, "source", "BACKUP_DB_HOST", "BACKUP_DB_PORT", "BACKUP_TEST_SRC_SOCKET")
}

// Target is the empty server restores go to (BACKUP_TEST_DST_HOST, BACKUP_TEST_DST_PORT,
// BACKUP_TEST_DST_SOCKET, and the source's user). It skips under -short.
func Target(t testing.TB) MariaDB {
	t.Helper()
	return mariadbFromEnv(t, "target", "BACKUP_TEST_DST_HOST", "BACKUP_TEST_DST_PORT", "BACKUP_TEST_DST_SOCKET")
}

func mariadbFromEnv(t testing.TB, name, hostVar, portVar, socketVar string) MariaDB {
	t.Helper()
	SkipShort(t, "the MariaDB "+name+" server")
	for _, k := range []string{hostVar, portVar, socketVar, "BACKUP_DB_USER"} {
		Get(t, k)
	}
	pw := Lookup(t, "BACKUP_DB_PASSWORD")
	port, err := strconv.Atoi(os.Getenv(portVar))
	if err != nil {
		t.Fatalf("%s=%q is not a port: %v", portVar, os.Getenv(portVar), err)
	}
	return MariaDB{Name: name, Host: os.Getenv(hostVar), Port: port, Socket: os.Getenv(socketVar),
		User: os.Getenv("BACKUP_DB_USER"), Password: pw}
}

// S3 is how to reach the shared MinIO bucket.
type S3 struct {
	Endpoint  string // BACKUP_S3_ENDPOINT, e.g. http://127.0.0.1:19000
	Bucket    string // BACKUP_S3_BUCKET
	Region    string // BACKUP_S3_REGION, as set (empty lets the client ask the server)
	AccessKey string // AWS_ACCESS_KEY_ID
	SecretKey string // AWS_SECRET_ACCESS_KEY
}

// S3Vars are the variables MinIO must set; BACKUP_S3_REGION is optional.
var S3Vars = []string{"BACKUP_S3_ENDPOINT", "BACKUP_S3_BUCKET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}

// MinIO is the shared MinIO. It fails the test when a variable of S3Vars is missing (naming all
// of them) and skips under -short.
func MinIO(t testing.TB) S3 {
	t.Helper()
	SkipShort(t, "MinIO")
	if m := Missing(S3Vars...); len(m) > 0 {
		t.Fatalf("%s not set: %s", strings.Join(m, ", "), Hint)
	}
	return S3FromEnv()
}

// S3FromEnv reads the MinIO variables as they are, checking nothing.
func S3FromEnv() S3 {
	return S3{Endpoint: os.Getenv("BACKUP_S3_ENDPOINT"), Bucket: os.Getenv("BACKUP_S3_BUCKET"),
		Region: os.Getenv("BACKUP_S3_REGION"), AccessKey: os.Getenv("AWS_ACCESS_KEY_ID"),
		SecretKey: os.Getenv("AWS_SECRET_ACCESS_KEY")}
}

// RandomHex returns n random bytes as 2n hex digits.
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// UniqueName returns prefix, "_" and 10 random hex digits, short enough for a database name
// (prefix is cut to 50 bytes).
func UniqueName(prefix string) string {
	if len(prefix) > 50 {
		prefix = prefix[:50]
	}
	return prefix + "_" + RandomHex(5)
}
