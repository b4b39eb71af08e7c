// Command benchtool is the Go part of `make bench` (scripts/bench.sh): it prints a backup's
// per-table row counts from its manifest, deletes the backups the bench made, and reads every
// row of a database the way the dumper does, as the floor a dump is compared with. It reads the
// same environment as backupctl (BACKUP_S3_*, AWS_*, BACKUP_DB_USER, BACKUP_DB_PASSWORD). It is
// not shipped.
package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/go-sql-driver/mysql"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/storage"
)

const usage = `usage:
  benchtool rows ID            print "db.table<TAB>rows" for every table in the manifest of backup ID
  benchtool delete ID          delete every object of backup ID (its manifest first)
  benchtool select SOCKET DB   read every row of every base table of DB, one table after another`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtool:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 3 && args[0] == "select" {
		return selectAll(ctx, args[1], args[2], out)
	}
	if len(args) != 2 || args[1] == "" {
		return errors.New(usage)
	}
	b, err := storage.Open(ctx, storage.Config{
		URL:       os.Getenv("BACKUP_S3_ENDPOINT"),
		Bucket:    os.Getenv("BACKUP_S3_BUCKET"),
		Prefix:    os.Getenv("BACKUP_S3_PREFIX"),
		Region:    os.Getenv("BACKUP_S3_REGION"),
		CAFile:    os.Getenv("BACKUP_S3_CA_FILE"),
		AccessKey: os.Getenv("AWS_ACCESS_KEY_ID"),
		SecretKey: os.Getenv("AWS_SECRET_ACCESS_KEY"),
	})
	if err != nil {
		return fmt.Errorf("open bucket: %w", err)
	}
	id := args[1]
	switch args[0] {
	case "rows":
		return rows(ctx, b, id, out)
	case "delete":
		return deleteBackup(ctx, b, id)
	default:
		return errors.New(usage)
	}
}

// rows prints the row count the manifest recorded for every table.
func rows(ctx context.Context, b storage.Bucket, id string, out io.Writer) error {
	rc, err := b.Get(ctx, backup.ManifestKey(id))
	if err != nil {
		return fmt.Errorf("read manifest of %s: %w", id, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("read manifest of %s: %w", id, err)
	}
	m, err := backup.DecodeManifest(data)
	if err != nil {
		return fmt.Errorf("decode manifest of %s: %w", id, err)
	}
	if m, err = openEncrypted(m); err != nil {
		return err
	}
	for _, d := range m.Databases {
		for _, t := range d.Tables {
			if _, err := fmt.Fprintf(out, "%s.%s\t%d\n", d.Name, t.Name, t.Rows); err != nil {
				return err
			}
		}
	}
	return nil
}

// deleteBackup removes the manifest first, so that a half-deleted backup no longer exists for
// list or restore, then the rest of the objects under the id.
func deleteBackup(ctx context.Context, b storage.Bucket, id string) error {
	if strings.Contains(id, "/") {
		return fmt.Errorf("backup id %q must not contain a slash", id)
	}
	if err := b.Delete(ctx, backup.ManifestKey(id)); err != nil {
		return fmt.Errorf("delete manifest of %s: %w", id, err)
	}
	objs, err := b.List(ctx, id+"/")
	if err != nil {
		return fmt.Errorf("list objects of %s: %w", id, err)
	}
	for _, o := range objs {
		if err := b.Delete(ctx, o.Key); err != nil {
			return fmt.Errorf("delete %s: %w", o.Key, err)
		}
	}
	return nil
}

// selectAll is the floor: SELECT * of every table over one connection, values taken as raw
// bytes and dropped. It prints the rows and bytes it read.
func selectAll(ctx context.Context, socket, database string, out io.Writer) error {
	cfg := mysql.NewConfig()
	cfg.Net, cfg.Addr = "unix", socket
	cfg.User, cfg.Passwd = os.Getenv("BACKUP_DB_USER"), os.Getenv("BACKUP_DB_PASSWORD")
	cfg.DBName = database
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", socket, err)
	}
	defer conn.Close()
	var tables []string
	rs, err := conn.QueryContext(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = ? AND table_type = 'BASE TABLE' ORDER BY table_name`, database)
	if err != nil {
		return fmt.Errorf("list tables: %w", err)
	}
	for rs.Next() {
		var t string
		if err := rs.Scan(&t); err != nil {
			return fmt.Errorf("list tables: %w", err)
		}
		tables = append(tables, t)
	}
	if err := rs.Err(); err != nil {
		return fmt.Errorf("list tables: %w", err)
	}
	var rows, bytes int64
	for _, t := range tables {
		r, b, err := readTable(ctx, conn, t)
		if err != nil {
			return fmt.Errorf("read %s: %w", t, err)
		}
		rows, bytes = rows+r, bytes+b
	}
	_, err = fmt.Fprintf(out, "tables\t%d\nrows\t%d\nbytes\t%d\n", len(tables), rows, bytes)
	return err
}

func readTable(ctx context.Context, conn *sql.Conn, table string) (rows, bytes int64, err error) {
	rs, err := conn.QueryContext(ctx, "SELECT * FROM `"+strings.ReplaceAll(table, "`", "``")+"`")
	if err != nil {
		return 0, 0, err
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		return 0, 0, err
	}
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rs.Next() {
		if err := rs.Scan(ptrs...); err != nil {
			return rows, bytes, err
		}
		rows++
		for _, v := range vals {
			bytes += int64(len(v))
		}
	}
	return rows, bytes, rs.Err()
}
