package backup

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/backupctl/backupctl/backup/dbconn"
	"github.com/backupctl/backupctl/backup/dump"
	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/backup/restore"
	"github.com/backupctl/backupctl/backup/verify"
	"github.com/backupctl/backupctl/storage"
)

// DBConfig says how to reach MariaDB.
type DBConfig = dbconn.Config

// Secret is a string that never prints itself.
type Secret = dbconn.Secret

// ConnectError is a failure to connect to MariaDB.
type ConnectError = dbconn.ConnectError

// Manifest describes one backup: its object and every section's range in it.
type Manifest = format.Manifest

// Range is where a section lies in the stored object and in the uncompressed stream.
type Range = format.Range

// Binlog is the binary log position of a backup's snapshot.
type Binlog = format.Binlog

// Object is the stored dump object of a backup.
type Object = format.Object

// Database is one dumped database in a manifest.
type Database = format.Database

// Table is one dumped table, view or sequence in a manifest.
type Table = format.Table

// DumpOptions choose what Dump dumps and how.
type DumpOptions = dump.Options

// Result is what a successful Dump reports.
type Result = dump.Result

// VerifyReport says what a verification read and found.
type VerifyReport = verify.Report

// RestoreOptions selects what to restore and how.
type RestoreOptions = restore.Options

// RestoreReport says what a restore did (or, for a dry run, would do).
type RestoreReport = restore.Report

// PlannedObject is one object a restore creates.
type PlannedObject = restore.PlannedObject

// FormatVersion is the manifest format this build writes and reads.
const FormatVersion = format.FormatVersion

// ManifestName is the name of a backup's manifest object under its id.
const ManifestName = format.ManifestName

// Compression names accepted by --compression.
const (
	// CompressZstd is zstd, the default.
	CompressZstd = format.CompressZstd
	// CompressGzip is gzip.
	CompressGzip = format.CompressGzip
	// CompressNone stores the SQL uncompressed.
	CompressNone = format.CompressNone
)

// Errors callers tell apart with errors.Is.
var (
	// ErrNoManifest means a backup has no manifest: it is incomplete or does not exist.
	ErrNoManifest = format.ErrNoManifest
	// ErrVerify means a stored backup does not match its manifest.
	ErrVerify = format.ErrVerify
	// ErrUnknownDatabase means a database asked for with --database does not exist.
	ErrUnknownDatabase = dump.ErrUnknownDatabase
	// ErrTargetNotEmpty means a restore would replace a database or table that holds data.
	ErrTargetNotEmpty = restore.ErrTargetNotEmpty
	// ErrBadSelection marks a --database, --table or --into that does not fit the backup.
	ErrBadSelection = restore.ErrBadSelection
)

// ManifestKey returns the key of the manifest of backup id.
func ManifestKey(id string) string { return format.ManifestKey(id) }

// DecodeManifest parses a manifest and checks its format version and checksum.
func DecodeManifest(b []byte) (*Manifest, error) { return format.DecodeManifest(b) }

// LoadManifest reads and checks the manifest of backup id. A missing manifest is ErrNoManifest.
func LoadManifest(ctx context.Context, b storage.Bucket, id string) (*Manifest, error) {
	return format.LoadManifest(ctx, b, id)
}

// CheckSet rejects an explicit backup set name that is not a single word.
func CheckSet(name string) error { return format.CheckSet(name) }

// ZstdEncoder names the zstd implementation this build compresses with.
func ZstdEncoder() string { return format.ZstdEncoder() }

// DefaultParallel is the number of connections a dump or restore uses when not told.
func DefaultParallel() int { return dbconn.DefaultParallel() }

// List returns the backups in b, newest first, from their manifests only (see format.List).
func List(ctx context.Context, b storage.Bucket) ([]*Manifest, error) { return format.List(ctx, b) }

// Dump takes one backup of db into b: it dumps the databases in one consistent snapshot,
// streams the object to b, reads it back to verify it and writes the manifest last.
func Dump(ctx context.Context, db DBConfig, b storage.Bucket, opts DumpOptions) (*Result, error) {
	return dump.Run(ctx, db, b, opts)
}

// DumpAndPrune takes one backup with Dump and then, when retention has a rule, applies it with
// Prune to the new backup's set only: other sets in the bucket are left alone. When the dump
// fails the Result is nil. When the prune fails (or refuses) the backup is verified and kept:
// its Result is returned with the error, and no PruneReport.
func DumpAndPrune(ctx context.Context, db DBConfig, b storage.Bucket, opts DumpOptions, retention PruneOptions) (*Result, *PruneReport, error) {
	if err := retention.Check(); err != nil {
		return nil, nil, err
	}
	res, err := Dump(ctx, db, b, opts)
	if err != nil {
		return nil, nil, err
	}
	if !retention.Enabled() {
		return res, nil, nil
	}
	retention.Set = res.Set
	rep, err := Prune(ctx, b, retention)
	if err != nil {
		return res, nil, fmt.Errorf("backup %s is verified and kept, but retention failed: %w", res.ID, err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for _, s := range rep.Sets {
		log.Info("retention applied", "set", s.Set, "kept", len(s.Kept), "deleted", s.Deleted, "would_delete", s.WouldDelete, "ignored", len(s.Ignored))
	}
	return res, rep, nil
}

// Verify reads the stored object of m back and checks it against m.
func Verify(ctx context.Context, b storage.Bucket, m *Manifest) (*VerifyReport, error) {
	return verify.Backup(ctx, b, m)
}

// Restore applies backup id from b to the target server, as selected by opts. It refuses a
// backup without a manifest, verifies the object first unless opts.NoVerifyFirst, and never
// replaces a non-empty database or table unless opts.DropExisting. With opts.DryRun the report
// (and, when a real restore would be refused, an error) is all it produces.
func Restore(ctx context.Context, target DBConfig, b storage.Bucket, id string, opts RestoreOptions) (*RestoreReport, error) {
	check := func(ctx context.Context, b storage.Bucket, m *Manifest, raw io.Writer) error {
		_, err := verify.BackupRaw(ctx, b, m, raw)
		return err
	}
	return restore.ByID(ctx, target, b, id, opts, check)
}
