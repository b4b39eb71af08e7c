package contract

import (
	"strconv"
	"time"
)

// The secrets reach the dumper only as environment variables, from the Job's Secret: never as
// flags, which show in `kubectl describe`, the CronJob and `ps`. The dumper has no flag for them.
const (
	EnvDBPassword   = "BACKUP_DB_PASSWORD"    // MariaDB password
	EnvAWSAccessKey = "AWS_ACCESS_KEY_ID"     // S3 access key
	EnvAWSSecretKey = "AWS_SECRET_ACCESS_KEY" // S3 secret key
)

// EnvSigningKey is the dumper's Ed25519 private key (backupctl-ed25519-private:...), which signs
// each manifest. It is optional: without it backups are written unsigned. A Job takes it from
// the Secret like the others, only in backup Jobs, and it is never a flag.
const EnvSigningKey = "BACKUP_SIGNING_KEY"

// EnvSSECKey is the SSE-C key (base64 of 32 bytes), from the Secret when --sse c; never a flag.
const EnvSSECKey = "BACKUP_SSE_C_KEY"

// SecretEnv lists the secret environment variables, in the order a Job sets them.
var SecretEnv = []string{EnvDBPassword, EnvAWSAccessKey, EnvAWSSecretKey}

// The commands below are the dumper's command line as plain values; Args renders them for a
// Job's container. Each field's `dumper` tag names the dumper's flag (or argument) that carries
// it: a test parses Args back with the dumper's own grammar and compares every field.
// An empty string, a zero number or false leaves the flag out, and the dumper takes its default.

// DB says how the dumper reaches MariaDB. The password is not here: see EnvDBPassword.
type DB struct {
	Socket string `dumper:"db-socket"`
	Host   string `dumper:"db-host"`
	Port   int    `dumper:"db-port"`
	User   string `dumper:"db-user"`
	TLS    string `dumper:"db-tls"`    // off (or empty), on, skip-verify
	TLSCA  string `dumper:"db-tls-ca"` // a path inside the pod
	// Timeout and IOTimeout are always given: zero turns the timeout off.
	Timeout   time.Duration `dumper:"db-timeout"`
	IOTimeout time.Duration `dumper:"db-io-timeout"`
}

// Storage says where the dumper finds the bucket. The keys are not here: see EnvAWSAccessKey.
type Storage struct {
	Endpoint string `dumper:"s3-endpoint"`
	Bucket   string `dumper:"bucket"`
	Prefix   string `dumper:"prefix"`
	Region   string `dumper:"s3-region"`
	PartSize string `dumper:"s3-part-size"` // a size such as 16MiB
	CAFile   string `dumper:"s3-ca-file"`   // a path inside the pod
	// Cloud storage; the SSE-C key is not here: see EnvSSECKey.
	STSEndpoint string `dumper:"s3-sts-endpoint"`
	SSE         string `dumper:"sse"` // s3, kms, c
	SSEKMSKeyID string `dumper:"sse-kms-key-id"`
	RetainDays  int    `dumper:"retain-days"`
	RetainMode  string `dumper:"retain-mode"` // governance, compliance
}

// BackupCommand is `dumper backup`: dump, upload, verify, then apply the retention rules.
type BackupCommand struct {
	Databases   []string `dumper:"database"`
	Compression string   `dumper:"compression"` // always given
	// CompressionLevel is always given: 0 is the codec's default.
	CompressionLevel int `dumper:"compression-level"`
	Parallel         int `dumper:"parallel"`
	// Set is the backup set (a schedule's name for its backups); Scheduled marks the origin.
	Set       string `dumper:"set"`
	Scheduled bool   `dumper:"scheduled"`
	// The retention rules, applied to the new backup's set after it is verified.
	KeepLast      int           `dumper:"keep-last"`
	KeepHourly    int           `dumper:"keep-hourly"`
	KeepDaily     int           `dumper:"keep-daily"`
	KeepWeekly    int           `dumper:"keep-weekly"`
	KeepMonthly   int           `dumper:"keep-monthly"`
	KeepWithin    time.Duration `dumper:"keep-within"`
	IncludeManual bool          `dumper:"include-manual"`
	// Users is --users=true or --users=false; nil leaves the dumper's default (on without
	// Databases).
	Users *bool `dumper:"users"`
	// Recipients are the age public keys the backup is encrypted to (none: not encrypted).
	Recipients []string `dumper:"encrypt-to"`
	// MetricsPush is the Pushgateway URL the dumper pushes its run's metrics to.
	MetricsPush string `dumper:"metrics-push"`
	DB
	Storage
}

// Args is the dumper's argument list for c.
func (c BackupCommand) Args() []string {
	a := argv{"backup"}
	a.each("database", c.Databases)
	a = append(a, "--compression="+c.Compression, "--compression-level="+strconv.Itoa(c.CompressionLevel))
	a.int("parallel", c.Parallel)
	a.str("set", c.Set)
	a.bool("scheduled", c.Scheduled)
	a.int("keep-last", c.KeepLast)
	a.int("keep-hourly", c.KeepHourly)
	a.int("keep-daily", c.KeepDaily)
	a.int("keep-weekly", c.KeepWeekly)
	a.int("keep-monthly", c.KeepMonthly)
	if c.KeepWithin != 0 {
		a.str("keep-within", c.KeepWithin.String())
	}
	a.bool("include-manual", c.IncludeManual)
	if c.Users != nil {
		a.str("users", strconv.FormatBool(*c.Users))
	}
	a.each("encrypt-to", c.Recipients)
	a.str("metrics-push", c.MetricsPush)
	return a.conn(c.DB, c.Storage)
}

// RestoreCommand is `dumper restore ID`.
type RestoreCommand struct {
	ID            string   `dumper:"id"` // the argument
	Databases     []string `dumper:"database"`
	Tables        []string `dumper:"table"` // DB.TABLE
	Into          string   `dumper:"into"`
	WithoutFKs    bool     `dumper:"without-foreign-keys"`
	WithoutTrig   bool     `dumper:"without-triggers"`
	DropExisting  bool     `dumper:"drop-existing"`
	DryRun        bool     `dumper:"dry-run"`
	NoVerifyFirst bool     `dumper:"no-verify-first"`
	Parallel      int      `dumper:"parallel"`
	Users         bool     `dumper:"users"`
	Set           string   `dumper:"set"` // with the id latest: whose newest backup
	// VerifyKey is the public key (backupctl-ed25519:...) the backup must be signed by; public,
	// so it may be an argument.
	VerifyKey string `dumper:"verify-key"`
	// MetricsPush is the Pushgateway URL the dumper pushes its run's metrics to.
	MetricsPush string `dumper:"metrics-push"`
	// ToTime, ToGTID, ToLatest and ReplayLock make it a point-in-time restore.
	ToTime     string `dumper:"to-time"`
	ToGTID     string `dumper:"to-gtid"`
	ToLatest   bool   `dumper:"to-latest"`
	ReplayLock string `dumper:"replay-lock"`
	DB
	Storage
}

// Args is the dumper's argument list for c.
func (c RestoreCommand) Args() []string {
	a := argv{"restore"}
	if c.ID != "" { // a point-in-time restore may leave the base backup to the dumper
		a = append(a, c.ID)
	}
	a.each("database", c.Databases)
	a.each("table", c.Tables)
	a.str("into", c.Into)
	a.bool("without-foreign-keys", c.WithoutFKs)
	a.bool("without-triggers", c.WithoutTrig)
	a.bool("drop-existing", c.DropExisting)
	a.bool("dry-run", c.DryRun)
	a.bool("no-verify-first", c.NoVerifyFirst)
	a.int("parallel", c.Parallel)
	a.bool("users", c.Users)
	a.str("set", c.Set)
	a.str("verify-key", c.VerifyKey)
	a.str("metrics-push", c.MetricsPush)
	a.str("to-time", c.ToTime)
	a.str("to-gtid", c.ToGTID)
	a.bool("to-latest", c.ToLatest)
	a.str("replay-lock", c.ReplayLock)
	return a.conn(c.DB, c.Storage)
}

// argv builds an argument list, one --name=value a flag.
type argv []string

func (a *argv) str(name, v string) {
	if v != "" {
		*a = append(*a, "--"+name+"="+v)
	}
}

func (a *argv) int(name string, v int) {
	if v != 0 {
		a.str(name, strconv.Itoa(v))
	}
}

func (a *argv) bool(name string, on bool) {
	if on {
		*a = append(*a, "--"+name)
	}
}

func (a *argv) each(name string, vs []string) {
	for _, v := range vs {
		*a = append(*a, "--"+name+"="+v)
	}
}

// conn appends the connection and storage flags and returns the whole list.
func (a argv) conn(db DB, st Storage) []string {
	a.str("db-socket", db.Socket)
	a.str("db-host", db.Host)
	a.int("db-port", db.Port)
	a.str("db-user", db.User)
	a.str("db-tls", db.TLS)
	a.str("db-tls-ca", db.TLSCA)
	a.str("db-timeout", db.Timeout.String())
	a.str("db-io-timeout", db.IOTimeout.String())
	a.str("s3-endpoint", st.Endpoint)
	a.str("bucket", st.Bucket)
	a.str("prefix", st.Prefix)
	a.str("s3-region", st.Region)
	a.str("s3-part-size", st.PartSize)
	a.str("s3-ca-file", st.CAFile)
	a.str("s3-sts-endpoint", st.STSEndpoint)
	a.str("sse", st.SSE)
	a.str("sse-kms-key-id", st.SSEKMSKeyID)
	a.int("retain-days", st.RetainDays)
	a.str("retain-mode", st.RetainMode)
	return a
}
