// Package cli holds what backupctl and the dumper share: connection and storage flags (each with
// its environment twin), output, logging, parsing with kong, and the one mapping of errors to
// exit codes (ExitCode). The codes themselves, the error kinds, the Job's result and the dumper's
// command line in a Job are package contract's.
package cli

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/storage"
)

// DBFlags say how to reach MariaDB. There is deliberately no password flag: a flag ends up in
// Job args, `kubectl describe` and `ps`.
type DBFlags struct {
	DBHost         string        `name:"db-host" env:"BACKUP_DB_HOST" default:"127.0.0.1" help:"MariaDB host."`
	DBPort         int           `name:"db-port" env:"BACKUP_DB_PORT" default:"3306" help:"MariaDB port."`
	DBSocket       string        `name:"db-socket" env:"BACKUP_DB_SOCKET" help:"MariaDB Unix socket (instead of host and port)."`
	DBUser         string        `name:"db-user" env:"BACKUP_DB_USER" default:"root" help:"MariaDB user."`
	DBPasswordFile string        `name:"db-password-file" env:"BACKUP_DB_PASSWORD_FILE" help:"File holding the MariaDB password (else BACKUP_DB_PASSWORD)."`
	DBTLS          string        `name:"db-tls" env:"BACKUP_DB_TLS" enum:"off,on,skip-verify" default:"off" help:"TLS to MariaDB: off, on (verify), skip-verify."`
	DBTLSCA        string        `name:"db-tls-ca" env:"BACKUP_DB_TLS_CA" help:"CA bundle to verify MariaDB's certificate."`
	DBTLSCert      string        `name:"db-tls-cert" env:"BACKUP_DB_TLS_CERT" help:"Client certificate for MariaDB."`
	DBTLSKey       string        `name:"db-tls-key" env:"BACKUP_DB_TLS_KEY" help:"Client key for MariaDB."`
	DBTimeout      time.Duration `name:"db-timeout" env:"BACKUP_DB_TIMEOUT" default:"30s" help:"Timeout for connecting to MariaDB."`
	DBIOTimeout    time.Duration `name:"db-io-timeout" env:"BACKUP_DB_IO_TIMEOUT" default:"10m" help:"Fail when MariaDB sends or takes nothing for this long (a stalled server)."`
}

// Config returns the connection settings, with the password from BACKUP_DB_PASSWORD or the file.
func (f DBFlags) Config() (backup.DBConfig, error) {
	f.warnTransport()
	c := backup.DBConfig{
		Host: f.DBHost, Port: f.DBPort, Socket: f.DBSocket, User: f.DBUser,
		TLS: f.DBTLS, CAFile: f.DBTLSCA, CertFile: f.DBTLSCert, KeyFile: f.DBTLSKey,
		Timeout: f.DBTimeout, IOTimeout: f.DBIOTimeout,
	}
	if f.DBPasswordFile != "" {
		b, err := os.ReadFile(f.DBPasswordFile)
		if err != nil {
			return c, contract.Usagef("read --db-password-file: %v", err)
		}
		c.Password = backup.Secret(strings.TrimRight(string(b), "\r\n"))
	} else {
		c.Password = backup.Secret(os.Getenv(contract.EnvDBPassword))
	}
	return c, nil
}

// StorageFlags say where backups live: an S3-compatible bucket, or a local directory with --to.
// The keys come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY only.
type StorageFlags struct {
	To         string `name:"to" env:"BACKUP_TO" help:"Store in a local directory (file:///path) instead of S3."`
	S3Endpoint string `name:"s3-endpoint" env:"BACKUP_S3_ENDPOINT" help:"S3 endpoint URL, e.g. https://s3.amazonaws.com or http://127.0.0.1:9000."`
	Bucket     string `name:"bucket" env:"BACKUP_S3_BUCKET" help:"S3 bucket."`
	Prefix     string `name:"prefix" env:"BACKUP_S3_PREFIX" help:"Key prefix inside the bucket (or directory)."`
	S3Region   string `name:"s3-region" env:"BACKUP_S3_REGION" default:"us-east-1" help:"S3 region."`
	S3CAFile   string `name:"s3-ca-file" env:"BACKUP_S3_CA_FILE" help:"CA bundle to verify the S3 endpoint's certificate."`
	S3PartSize string `name:"s3-part-size" env:"BACKUP_S3_PART_SIZE" default:"8MiB" help:"First multipart upload part size (5MiB to 5GiB). Later parts grow (8MiB parts for the first 8GiB, then doubling), so an object reaches S3's 5TiB; memory use is about 5 x the part in flight."`
	// Cloud storage: credentials beyond static keys, server-side encryption, object lock.
	S3STSEndpoint string `name:"s3-sts-endpoint" env:"BACKUP_S3_STS_ENDPOINT" help:"STS endpoint for web identity (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN); default: AWS's regional STS for AWS, else the S3 endpoint."`
	SSE           string `name:"sse" env:"BACKUP_SSE" enum:",s3,kms,c" default:"" help:"Server-side encryption: s3, kms (--sse-kms-key-id) or c (key in BACKUP_SSE_C_KEY, base64 of 32 bytes, needed to read too)."`
	SSEKMSKeyID   string `name:"sse-kms-key-id" env:"BACKUP_SSE_KMS_KEY_ID" help:"KMS key for --sse kms (default: the store's default key)."`
	RetainDays    int    `name:"retain-days" env:"BACKUP_RETAIN_DAYS" help:"Object-lock retention in days on every object and manifest of the backup (the bucket needs object lock); 0: none."`
	RetainMode    string `name:"retain-mode" env:"BACKUP_RETAIN_MODE" enum:"governance,compliance" default:"governance" help:"Object-lock mode of --retain-days: governance or compliance (nobody, root included, can delete early)."`
}

// Config returns the storage settings with the keys from the environment.
func (f StorageFlags) Config() (storage.Config, error) {
	f.warnTransport()
	c := storage.Config{
		Bucket: f.Bucket, Prefix: f.Prefix, Region: f.S3Region, CAFile: f.S3CAFile,
		AccessKey: os.Getenv(contract.EnvAWSAccessKey), SecretKey: os.Getenv(contract.EnvAWSSecretKey),
	}
	f.cloudConfig(&c)
	switch {
	case f.To != "" && f.S3Endpoint != "":
		return c, contract.Usagef("both --to and --s3-endpoint are set: choose one place to store backups")
	case f.To != "":
		if !strings.HasPrefix(f.To, "file://") {
			return c, contract.Usagef("--to %q must be a file:///path URL; for S3 use --s3-endpoint and --bucket", storage.RedactURL(f.To))
		}
		c.URL = f.To
	case f.S3Endpoint != "":
		c.URL = f.S3Endpoint
	default:
		return c, contract.Usagef("no storage given: set --s3-endpoint and --bucket (BACKUP_S3_ENDPOINT, BACKUP_S3_BUCKET), or --to file:///path")
	}
	n, err := humanize.ParseBytes(f.S3PartSize)
	if err != nil {
		return c, contract.Usagef("--s3-part-size %q is not a size such as 16MiB", f.S3PartSize)
	}
	c.PartSize = int64(n)
	return c, nil
}

// Open validates the settings and opens the bucket.
func (f StorageFlags) Open(ctx context.Context) (storage.Bucket, error) {
	c, err := f.Config()
	if err != nil {
		return nil, err
	}
	b, err := storage.Open(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("open storage: %w", err)
	}
	return b, nil
}
