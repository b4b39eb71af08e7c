package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/backupctl/backupctl/backup"
)

// hintedError is a configuration error with the setting to fix: exit code 2.
type hintedError struct {
	err  error
	hint string
}

func (e *hintedError) Error() string { return e.err.Error() + ": " + e.hint }
func (e *hintedError) Unwrap() error { return e.err }

// dbConfigHint names the setting to fix when err is MariaDB refusing or failing the connection
// itself (credentials, address, TLS), or "" when err is something else.
func dbConfigHint(err error) string {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1045: // access denied
			return "check --db-user and the password (BACKUP_DB_PASSWORD or --db-password-file); a user that requires TLS or X509 also needs --db-tls=on with --db-tls-cert and --db-tls-key"
		case 1044: // access denied to database
			return "grant the --db-user the privileges the backup needs (SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES, RELOAD, BINLOG MONITOR)"
		case 1049: // unknown database
			return "check --database"
		case 1251, 2026:
			return "check --db-tls and the certificates"
		}
		return ""
	}
	var ce *backup.ConnectError
	if !errors.As(err, &ce) {
		return "" // the network and TLS hints below are about reaching MariaDB only
	}
	var dnsErr *net.DNSError
	var uae x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var certErr *tls.CertificateVerificationError
	var alert tls.AlertError
	var recErr tls.RecordHeaderError
	switch {
	case errors.Is(err, mysql.ErrNoTLS):
		return "the server does not offer TLS: set --db-tls=off, or enable TLS on the server"
	case errors.As(err, &uae), errors.As(err, &certErr):
		return "the server's certificate is not trusted: give its CA with --db-tls-ca (BACKUP_DB_TLS_CA)"
	case errors.As(err, &hostErr):
		return "the server's certificate does not name --db-host: connect by the name it holds"
	case errors.As(err, &alert):
		return "the server refused the TLS handshake: check --db-tls-cert and --db-tls-key (a user with REQUIRE X509 needs them)"
	case errors.As(err, &recErr):
		return "TLS handshake failed: check --db-tls"
	case errors.As(err, &dnsErr):
		return "check --db-host (BACKUP_DB_HOST)"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "nothing listens there: check --db-host and --db-port, or --db-socket"
	case errors.Is(err, syscall.ENOENT) && strings.Contains(err.Error(), "unix"):
		return "no socket there: check --db-socket"
	}
	return ""
}

// explainDB turns a MariaDB connection error into a configuration error that names the setting.
func explainDB(err error) error {
	if err == nil {
		return nil
	}
	var he *hintedError
	if errors.As(err, &he) {
		return err
	}
	if hint := dbConfigHint(err); hint != "" {
		return &hintedError{err: err, hint: hint}
	}
	return err
}

// MissingDatabases connects to MariaDB with cfg and returns those of names it does not have.
func MissingDatabases(ctx context.Context, cfg backup.DBConfig, names []string) ([]string, error) {
	mc, err := cfg.MySQLConfig()
	if err != nil {
		return nil, err
	}
	conn, err := mysql.NewConnector(mc)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout+5*time.Second)
	defer cancel()
	var missing []string
	for _, n := range names {
		var one int
		err := db.QueryRowContext(ctx, "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", n).Scan(&one)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			missing = append(missing, n)
		case err != nil:
			return nil, explainDB(err)
		}
	}
	return missing, nil
}
