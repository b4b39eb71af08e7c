// Command benchtool is the part of `make bench` (scripts/bench.sh) that needs the bucket: it
// prints a backup's per-table row counts from its manifest, and deletes the backups the bench
// made. It reads the same environment as backupctl (BACKUP_S3_*, AWS_*). It is not shipped.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/storage"
)

const usage = `usage:
  benchtool rows ID     print "db.table<TAB>rows" for every table in the manifest of backup ID
  benchtool delete ID   delete every object of backup ID (its manifest first)`

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
