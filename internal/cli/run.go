package cli

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/metrics"
	"github.com/backupctl/backupctl/storage"
)

// BackupOptions choose what a backup dumps and how.
type BackupOptions struct {
	Database         []string `name:"database" short:"d" env:"BACKUP_DATABASES" sep:"," help:"Database to dump (repeatable, or comma-separated in the env twin). Default: all but the system schemas."`
	Compression      string   `name:"compression" env:"BACKUP_COMPRESSION" enum:"zstd,gzip,none" default:"zstd" help:"Compression of the dump object: zstd, gzip or none."`
	CompressionLevel int      `name:"compression-level" env:"BACKUP_COMPRESSION_LEVEL" default:"0" help:"Compression level (zstd 1-19, gzip 1-9); 0 is the codec's default: zstd 1 (fastest), gzip 6."`
	Parallel         int      `name:"parallel" env:"BACKUP_PARALLEL" default:"0" help:"Connections and compressors working at once; 0 is the CPUs + 1, between 2 and 4."`
	Set              string   `name:"set" env:"BACKUP_SET" help:"Backup set the backup belongs to, which retention is applied within (default: the server's hostname:port and the databases; a schedule's name for its backups)."`
	Scheduled        bool     `name:"scheduled" env:"BACKUP_SCHEDULED" help:"Mark the backup as taken by a schedule, so retention applies to it without --include-manual (schedule set adds it)."`
	RetentionFlags   `embed:"" set:"retention_scope=the new backup's set once it is verified"`
	Users            *bool `name:"users" env:"BACKUP_USERS" help:"Also back up users, roles and their grants (all but root, mariadb.sys, mysql, PUBLIC) after the databases. Default: on without --database, off with it; --users=false turns it off."`
	EncryptFlags     `embed:""`
	MetricsFlags     `embed:""`
}

// WithUsers says whether the backup holds the accounts: as asked, else when every database is
// dumped.
func (o BackupOptions) WithUsers() bool {
	if o.Users != nil {
		return *o.Users
	}
	return len(o.Database) == 0
}

// Validate checks what the flags' types cannot.
func (o BackupOptions) Validate() error {
	lo, hi := 1, 19
	if o.Compression == "gzip" {
		hi = 9
	}
	if o.Compression != "none" && o.CompressionLevel != 0 && (o.CompressionLevel < lo || o.CompressionLevel > hi) {
		return contract.Usagef("--compression-level %d is out of range for %s: use %d to %d, or 0 for the default", o.CompressionLevel, o.Compression, lo, hi)
	}
	if o.Parallel < 0 {
		return contract.Usagef("--parallel %d cannot be negative (0 picks from the CPUs)", o.Parallel)
	}
	if o.Set != "" {
		if err := backup.CheckSet(o.Set); err != nil {
			return contract.Usagef("--set: %v", err)
		}
	}
	return o.RetentionFlags.Validate()
}

// RetentionFlags is the retention policy: applied by prune to each backup set, and after a
// verified backup (here or in the CronJob) to that backup's set only. A backup is kept when any
// rule keeps it; the newest backup of a set is always kept. Whoever embeds it says where the
// rules apply with set:"retention_scope=...", which the help texts name.
type RetentionFlags struct {
	KeepLast      int           `name:"keep-last" env:"BACKUP_KEEP_LAST" help:"Keep the newest N backups of ${retention_scope} (0: no rule)."`
	KeepHourly    int           `name:"keep-hourly" env:"BACKUP_KEEP_HOURLY" help:"Keep the newest backup of each of the newest N hours (UTC) that have one, in ${retention_scope} (0: no rule)."`
	KeepDaily     int           `name:"keep-daily" env:"BACKUP_KEEP_DAILY" help:"Keep the newest backup of each of the newest N days (UTC) that have one, in ${retention_scope} (0: no rule)."`
	KeepWeekly    int           `name:"keep-weekly" env:"BACKUP_KEEP_WEEKLY" help:"Keep the newest backup of each of the newest N ISO weeks that have one, in ${retention_scope} (0: no rule)."`
	KeepMonthly   int           `name:"keep-monthly" env:"BACKUP_KEEP_MONTHLY" help:"Keep the newest backup of each of the newest N months (UTC) that have one, in ${retention_scope} (0: no rule)."`
	KeepWithin    time.Duration `name:"keep-within" env:"BACKUP_KEEP_WITHIN" help:"Keep every backup started within this long of the newest one, in ${retention_scope}; e.g. 720h for 30 days (0: no rule)."`
	IncludeManual bool          `name:"include-manual" env:"BACKUP_INCLUDE_MANUAL" help:"Apply the rules to manual backups too, in ${retention_scope} (without it every manual backup is kept)."`
}

// Enabled says whether any rule is set.
func (r RetentionFlags) Enabled() bool { return r.Options().Enabled() }

// Validate refuses negative rules.
func (r RetentionFlags) Validate() error {
	if err := r.Options().Check(); err != nil {
		return contract.Usagef("%v", err)
	}
	return nil
}

// Options is the policy the flags give, for every set.
func (r RetentionFlags) Options() backup.PruneOptions {
	return backup.PruneOptions{
		KeepLast: r.KeepLast, KeepHourly: r.KeepHourly, KeepDaily: r.KeepDaily, KeepWeekly: r.KeepWeekly,
		KeepMonthly: r.KeepMonthly, KeepWithin: r.KeepWithin, IncludeManual: r.IncludeManual,
	}
}

// BackupResult is a verified backup and, when retention ran, what it pruned.
type BackupResult struct {
	*backup.Result
	Pruned *backup.PruneReport `json:"pruned,omitempty"`
	// Location is where the backup lies, in full (the keys above are relative to the prefix).
	Location *Location `json:"location,omitempty"`
}

// RestoreOptions choose what a restore applies and where.
type RestoreOptions struct {
	Database       []string `name:"database" short:"d" env:"BACKUP_RESTORE_DATABASES" sep:"," help:"Restore only this database (repeatable)."`
	Into           string   `name:"into" env:"BACKUP_RESTORE_INTO" help:"Restore the one selected database under this name (with --table: create the tables in this database)."`
	Table          []string `name:"table" short:"t" env:"BACKUP_RESTORE_TABLES" sep:"," help:"Restore only this table, as DB.TABLE (repeatable); reads only its byte ranges."`
	WithoutFKs     bool     `name:"without-foreign-keys" env:"BACKUP_RESTORE_WITHOUT_FOREIGN_KEYS" help:"With --table: leave out the foreign keys that refer to tables outside the selection (without it, one to a table missing on the target refuses the restore)."`
	WithoutTrig    bool     `name:"without-triggers" env:"BACKUP_RESTORE_WITHOUT_TRIGGERS" help:"With --table: leave out the triggers of the restored tables."`
	DropExisting   bool     `name:"drop-existing" env:"BACKUP_RESTORE_DROP_EXISTING" help:"Drop a target database or table that exists and is not empty, instead of refusing."`
	DryRun         bool     `name:"dry-run" env:"BACKUP_RESTORE_DRY_RUN" help:"Print what would be created and how many rows; change nothing."`
	NoVerifyFirst  bool     `name:"no-verify-first" env:"BACKUP_RESTORE_NO_VERIFY_FIRST" help:"Check the object while applying instead of before (faster; a mismatch leaves the target partial and fails)."`
	Parallel       int      `name:"parallel" env:"BACKUP_PARALLEL" default:"0" help:"Connections loading table data at once (tables, and chunks of a large table); 0 is the CPUs + 1, between 2 and 4."`
	Users          bool     `name:"users" env:"BACKUP_RESTORE_USERS" help:"Also create the backup's users and roles with their grants (whole-backup restore only); an existing account that differs is refused without --drop-existing."`
	Set            string   `name:"set" env:"BACKUP_SET" help:"With the id latest: the backup set whose newest backup to restore (needed when the storage holds several sets)."`
	VerifyKeyFlags `embed:""`
	IdentityFlags  `embed:""`
	MetricsFlags   `embed:""`
	PITR           PITRFlags `embed:""`
}

// LocalBackup dumps, uploads and verifies a backup from this process, then applies the
// retention rules if any. A failed prune fails the run: the backup itself is kept and listed.
func LocalBackup(ctx context.Context, g *Globals, dbf DBFlags, st StorageFlags, o BackupOptions) (res *BackupResult, err error) {
	start := time.Now()
	defer func() {
		o.MetricsFlags.push(ctx, g, metrics.Group{Operation: metrics.Backup, Schedule: o.Set, DBHost: dbHost(dbf)}, backupRun(start, res), err)
	}()
	db, err := dbf.Config()
	if err != nil {
		return nil, err
	}
	sc, err := st.Config()
	if err != nil {
		return nil, err
	}
	setMemoryLimit(sc.PartSize)
	b, err := st.Open(ctx)
	if err != nil {
		return nil, err
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if err := o.MetricsFlags.Check(); err != nil {
		return nil, err
	}
	sk, err := SigningKeyFromEnv()
	if err != nil {
		return nil, err
	}
	rcpts, err := o.Recipients()
	if err != nil {
		return nil, err
	}
	retention := o.RetentionFlags.Options()
	if sk != nil {
		// Retention counts and deletes only the backups this key signed.
		retention.VerifyKey = sk.Public()
	}
	dumped, pruned, err := backup.DumpAndPrune(ctx, db, b, backup.DumpOptions{
		Databases:   o.Database,
		Compression: o.Compression,
		Level:       o.CompressionLevel,
		Parallel:    o.Parallel,
		Set:         o.Set,
		Scheduled:   o.Scheduled,
		Logger:      g.Logger(),
		Now:         time.Now,
		Users:       o.WithUsers(),
		SigningKey:  sk,
		Recipients:  rcpts,
	}, retention)
	if dumped == nil {
		return nil, explainDB(err)
	}
	return &BackupResult{Result: dumped, Pruned: pruned, Location: st.Location(dumped.ID, dumped.Key, dumped.Manifest)}, err
}

// Check checks the combinations of restore options, before any Job or connection. (Not named
// Validate: kong would run it on the dumper's command line too, which the restore checks itself.)
func (o RestoreOptions) Check() error {
	if len(o.Table) > 0 && len(o.Database) > 0 {
		return contract.Usagef("--table and --database cannot be combined: --table db.table already names its database")
	}
	if o.Into != "" && len(o.Database) > 1 {
		return contract.Usagef("--into needs exactly one database but %d are given with --database: restore them one at a time", len(o.Database))
	}
	for _, t := range o.Table {
		if !strings.Contains(strings.Trim(t, "."), ".") {
			return contract.Usagef("--table %q is not of the form database.table", t)
		}
	}
	return o.MetricsFlags.Check()
}

// CheckRestore checks the options against the backup's manifest: the databases and tables
// named are in it, and --into selects one database.
func (o RestoreOptions) CheckRestore(m *backup.Manifest) error {
	names := m.DatabaseNames()
	for _, d := range o.Database {
		if !slices.Contains(names, d) {
			return contract.Usagef("--database %s is not in backup %s; it holds: %s", d, m.ID, strings.Join(names, ", "))
		}
	}
	dbs := map[string]bool{}
	for _, spec := range o.Table {
		found := false
		for _, d := range m.Databases {
			for _, t := range d.Tables {
				if d.Name+"."+t.Name == spec {
					found, dbs[d.Name] = true, true
				}
			}
		}
		if !found {
			return contract.Usagef("--table %s is not in backup %s (see backupctl verify %s -o json for its tables)", spec, m.ID, m.ID)
		}
	}
	if o.Into != "" && (len(dbs) > 1 || (len(o.Table) == 0 && len(o.Database) == 0 && len(names) != 1)) {
		return contract.Usagef("--into needs exactly one database; backup %s holds %s: choose one with --database", m.ID, strings.Join(names, ", "))
	}
	return nil
}

// LocalRestore restores a backup from this process and pushes its metrics.
func LocalRestore(ctx context.Context, g *Globals, dbf DBFlags, st StorageFlags, id string, o RestoreOptions) (rep *backup.RestoreReport, err error) {
	start := time.Now()
	defer func() {
		o.MetricsFlags.push(ctx, g, metrics.Group{Operation: metrics.Restore, Schedule: o.Set, DBHost: dbHost(dbf)}, restoreRun(start, rep), err)
	}()
	if err := o.MetricsFlags.Check(); err != nil {
		return nil, err
	}
	return localRestore(ctx, g, dbf, st, id, o)
}

// restoreInputs are what every restore opens first: the target's connection settings, the
// verify key, the age identity and the bucket.
func restoreInputs(ctx context.Context, dbf DBFlags, st StorageFlags, o RestoreOptions) (db backup.DBConfig, key *backup.VerifyKey, ident *backup.Identity, b storage.Bucket, err error) {
	if db, err = dbf.Config(); err != nil {
		return db, nil, nil, nil, err
	}
	if key, err = o.Key(); err != nil {
		return db, nil, nil, nil, err
	}
	if ident, err = o.Identity(); err != nil {
		return db, nil, nil, nil, err
	}
	b, err = st.Open(ctx)
	return db, key, ident, b, err
}

// localRestore is LocalRestore without its metrics (a point-in-time restore pushes its own).
func localRestore(ctx context.Context, g *Globals, dbf DBFlags, st StorageFlags, id string, o RestoreOptions) (*backup.RestoreReport, error) {
	db, key, ident, b, err := restoreInputs(ctx, dbf, st, o)
	if err != nil {
		return nil, err
	}
	if id, err = ResolveID(ctx, b, id, o.Set); err != nil {
		return nil, err
	}
	rep, err := backup.Restore(ctx, db, b, id, backup.RestoreOptions{
		Databases:     o.Database,
		Into:          o.Into,
		Tables:        o.Table,
		DropExisting:  o.DropExisting,
		DryRun:        o.DryRun,
		NoVerifyFirst: o.NoVerifyFirst,
		Parallel:      o.Parallel,
		Logger:        g.Logger(),
		Users:         o.Users,
		VerifyKey:     key,
		Identity:      ident,

		WithoutForeignKeys: o.WithoutFKs,
		WithoutTriggers:    o.WithoutTrig,
	})
	return rep, explainDB(err)
}

// ResolveID is id, or for `latest` the newest backup of set (of the only set when set is
// empty); a `latest` that several sets could mean is a usage error naming them. Another id is
// taken as it is, whatever set says.
func ResolveID(ctx context.Context, b storage.Bucket, id, set string) (string, error) {
	resolved, err := backup.Resolve(ctx, b, id, set)
	switch {
	case errors.Is(err, backup.ErrAmbiguousLatest):
		return "", contract.Usagef("%v", err)
	case errors.Is(err, backup.ErrUnknownSet):
		return "", contract.NotFound(err)
	}
	return resolved, err
}

// LocalVerify reads a stored backup back and checks it against its manifest; id may be latest.
// Its progress goes to log.
func LocalVerify(ctx context.Context, st StorageFlags, id, set string, kf VerifyKeyFlags, idf IdentityFlags, log *slog.Logger) (*backup.VerifyReport, error) {
	key, err := kf.Key()
	if err != nil {
		return nil, err
	}
	ident, err := idf.Identity()
	if err != nil {
		return nil, err
	}
	b, err := st.Open(ctx)
	if err != nil {
		return nil, err
	}
	if id, err = ResolveID(ctx, b, id, set); err != nil {
		return nil, err
	}
	m, err := backup.LoadManifest(ctx, b, id)
	if err != nil {
		return nil, err
	}
	counted := &readCounter{Bucket: b, log: log, total: m.Object.Size, last: time.Now()}
	rep, err := backup.VerifyManifest(ctx, counted, m, key, ident)
	if err == nil {
		counted.done()
	}
	return rep, err
}

// VerifyCmd is `verify ID`, the same in backupctl and the dumper.
type VerifyCmd struct {
	ID             string `arg:"" help:"Backup id (see backupctl list), or latest."`
	Set            string `name:"set" env:"BACKUP_SET" help:"With the id latest: the backup set whose newest backup to verify (needed when the storage holds several sets)."`
	StorageFlags   `embed:""`
	VerifyKeyFlags `embed:""`
	IdentityFlags  `embed:""`
	MetricsFlags   `embed:""`
}

// Run verifies the backup and prints the report; in a pod it also writes the termination log.
func (c *VerifyCmd) Run(ctx context.Context, g *Globals) error {
	start := time.Now()
	if err := c.MetricsFlags.Check(); err != nil {
		return err
	}
	res, err := LocalVerify(ctx, c.StorageFlags, c.ID, c.Set, c.VerifyKeyFlags, c.IdentityFlags, g.Logger())
	c.MetricsFlags.push(ctx, g, metrics.Group{Operation: metrics.Verify, Schedule: c.Set}, verifyRun(start, res), err)
	var out any = res
	if res != nil {
		out = struct {
			*backup.VerifyReport
			Location *Location `json:"location"`
		}{res, c.StorageFlags.Location(res.ID, res.Key, res.ID+"/"+backup.ManifestName)}
	}
	WriteTerminationLog(out, err)
	if err != nil {
		return err
	}
	return g.Print(out)
}
