package dump

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"strconv"
	"sync"
	"time"

	"github.com/backupctl/backupctl/backup/crypt"
	"github.com/backupctl/backupctl/backup/dbconn"
	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/backup/sqltext"
	"github.com/backupctl/backupctl/backup/verify"
	"github.com/backupctl/backupctl/storage"
	"github.com/backupctl/backupctl/version"
	"github.com/go-sql-driver/mysql"
	"golang.org/x/sync/errgroup"
)

// ErrUnknownDatabase means a database asked for with --database does not exist on the server.
var ErrUnknownDatabase = errors.New("unknown database")

// Options choose what Run dumps and how.
type Options struct {
	// Databases to dump; empty means every database but the system schemas.
	Databases []string
	// Compression is zstd (default when empty), gzip or none; Level 0 is the codec's default.
	Compression string
	Level       int
	// ID of the backup; empty generates YYYYMMDDTHHMMSSZ-xxxxxx from Now.
	ID string
	// Logger receives progress and events; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Parallel is the number of connections reading data, all in one snapshot; 0 is
	// dbconn.DefaultParallel.
	Parallel int
	// Set is the backup set given with --set; empty derives it from the server and databases.
	Set string
	// Scheduled marks a backup taken by a schedule; otherwise it is manual.
	Scheduled bool
	// FrameBytes overrides defaultFrameBytes (tests make small tables chunk).
	FrameBytes int
	// Users adds the accounts section: users and roles (but the built-in ones) and their
	// grants, after every database.
	Users bool
	// SigningKey signs the manifest; nil writes an unsigned backup.
	SigningKey *format.SigningKey
	// Recipients, when set, encrypt the backup to them with age (backup/crypt).
	Recipients *crypt.Recipients
}

// sessionSetup is run on every connection of a dump. The timeouts are raised because a slow
// upload stalls reading mid-table and the server would otherwise drop the connection
// (net_write_timeout is 60 s by default). sql_mode is empty so that SHOW CREATE prints plain
// MariaDB syntax and CHAR values are not padded; the time zone is UTC so TIMESTAMP values are
// written as the header's SET TIME_ZONE reads them. lock_wait_timeout is bounded because the
// dump holds the backup lock while it reads the catalog: a DDL waiting for that lock while
// holding a table's metadata lock would otherwise stall both for a day (the default); the dump
// fails with a clear error instead and the DDL goes on.
var sessionSetup = []string{
	"SET SESSION lock_wait_timeout = 300",
	"SET SESSION net_write_timeout = 86400",
	"SET SESSION net_read_timeout = 86400",
	"SET SESSION wait_timeout = 86400",
	"SET SESSION max_statement_time = 0",
	"SET NAMES utf8mb4",
	"SET SESSION time_zone = '+00:00'",
	"SET SESSION sql_mode = ''",
	"SET SESSION sql_quote_show_create = 1",
	"SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
}

// privilegeHint names the missing privilege when the server refused the lock for lack of it.
func privilegeHint(err error) string {
	var me *mysql.MySQLError
	if errors.As(err, &me) && (me.Number == 1227 || me.Number == 1044 || me.Number == 1045) {
		return " (the user needs the RELOAD privilege)"
	}
	return ""
}

// dumper holds one dump's connections and what it has learned.
type dumper struct {
	opts    Options
	log     *slog.Logger
	id      string
	started time.Time

	db   *sql.DB
	lock *lockConn // BACKUP STAGE / FTWRL while the snapshot is taken
	tl   *lockConn // LOCK TABLES ... READ on non-transactional tables until they are dumped
	conn *sql.Conn // reads the catalog, then plans in the snapshot
	// workers read the data, each in a transaction started inside the same commit block as
	// conn's, so all of them see one snapshot.
	workers []*worker
	nLock   int // non-transactional tables still to dump while tl holds them

	server   string
	serverID string
	binlog   *format.Binlog
	dbs      []*dbInfo
	accts    []*accountInfo // with Users
	prog     progress
	enc      *crypt.Upload // with Recipients
}

// Run takes one backup: it dumps the databases in one consistent snapshot, streams the
// compressed SQL to b, reads the stored object back to verify it, and only then writes the
// manifest that makes it a backup. On any failure the object is deleted and no manifest exists.
func Run(ctx context.Context, db dbconn.Config, b storage.Bucket, opts Options) (*Result, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Compression == "" {
		opts.Compression = format.CompressZstd
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	suffix, err := format.ObjectSuffix(opts.Compression)
	if err != nil {
		return nil, err
	}
	started := opts.Now()
	id := opts.ID
	if id == "" {
		id = format.NewID(started)
	}
	if err := format.CheckID(id); err != nil {
		return nil, err
	}
	if opts.Set != "" {
		if err := format.CheckSet(opts.Set); err != nil {
			return nil, err
		}
	}
	key := path.Join(id, format.ObjectName+suffix)
	enc, err := newEncryption(opts.Recipients)
	if err != nil {
		return nil, err
	}
	if enc != nil {
		key = crypt.ObjectKey(key)
	}

	cfg, err := db.MySQLConfig()
	if err != nil {
		return nil, err
	}
	cfg.DialFunc = dialBuffered
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("MariaDB settings: %w", err)
	}
	d := &dumper{opts: opts, log: log, id: id, started: started, db: sql.OpenDB(conn), enc: enc}
	defer d.close()
	// An id given by the caller must not name a backup that exists: a failure would delete it.
	if _, err := b.Stat(ctx, format.ManifestKey(id)); err == nil {
		return nil, fmt.Errorf("backup %s already exists in %s; choose another id", id, b)
	} else if !errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("check %s in %s: %w", format.ManifestKey(id), b, err)
	}
	if err := d.prepare(ctx, db.Address()); err != nil {
		return nil, err
	}
	res, err := d.store(ctx, b, key)
	if err != nil {
		log.Error("backup failed; removing what was stored", "id", id, "err", err)
		removeBackup(ctx, b, id, key, log)
		return nil, err
	}
	return res, nil
}

// store uploads the dump, verifies the stored object and writes the manifest, in that order.
func (d *dumper) store(ctx context.Context, b storage.Bucket, key string) (*Result, error) {
	m, written, err := d.upload(ctx, b, key)
	// The snapshot is no longer needed: release it before the long read-back, so that the
	// server can purge the undo history it kept for it.
	d.close()
	if err != nil {
		return nil, err
	}
	m.FinishedAt = d.opts.Now().UTC()
	d.log.Info("uploaded", "id", d.id, "key", key, "bucket", b.String(), "size", m.Object.Size)
	stored, rep, err := d.recordAndSeal(ctx, b, m, written)
	if err != nil {
		return nil, fmt.Errorf("verify the uploaded backup: %w", err)
	}
	d.log.Info("verified", "id", d.id, "bytes_read", rep.BytesRead, "raw_bytes", rep.RawBytes, "sha256", stored.Object.SHA256, "encrypted", stored.Encryption != nil)
	if err := d.sign(stored); err != nil {
		return nil, err
	}
	if err := format.PutManifest(ctx, b, stored); err != nil {
		return nil, err
	}
	d.log.Info("manifest written: backup complete", "id", d.id, "manifest", format.ManifestKey(d.id))
	return d.result(m, stored, rep), nil
}

// removeBackup deletes what a failed backup may have stored. It runs even when ctx was
// cancelled, with a deadline of its own.
func removeBackup(ctx context.Context, b storage.Bucket, id, key string, log *slog.Logger) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	for _, k := range []string{format.ManifestKey(id), key} {
		if err := b.Delete(cctx, k); err != nil {
			log.Warn("could not delete the object of a failed backup; delete it by hand", "key", k, "bucket", b.String(), "err", err)
		}
	}
}

// result reports the backup from m, its manifest, and stored, the manifest as stored (m sealed
// when encrypted): the object's size and SHA-256, set and signature are the stored ones.
func (d *dumper) result(m, stored *format.Manifest, rep *verify.Report) *Result {
	fin := d.opts.Now().UTC()
	res := &Result{
		ID: m.ID, Key: stored.Object.Key, Manifest: format.ManifestKey(m.ID), Size: stored.Object.Size,
		SHA256: stored.Object.SHA256, Compression: m.Object.Compression, RawSize: m.Object.RawSize,
		Verified: rep.Verified, BytesRead: rep.BytesRead,
		Databases: m.DatabaseNames(), Tables: m.TableCount(), Rows: m.RowCount(),
		DurationSeconds: fin.Sub(d.started).Seconds(),
		StartedAt:       m.StartedAt, FinishedAt: fin, Binlog: m.Binlog, ServerVersion: m.Server,
		Set: stored.SetName(), Origin: m.Origin,
		Signed: stored.Signature != "", KeyID: stored.KeyID, Encrypted: stored.Encryption != nil,
	}
	if m.Accounts != nil {
		res.Accounts = len(m.Accounts.List)
	}
	return res
}

// close releases the connections, and with them the snapshot and any lock; it may be called
// more than once.
func (d *dumper) close() {
	for _, w := range d.workers {
		_ = w.conn.Close()
	}
	d.workers = nil
	if d.conn != nil {
		_ = d.conn.Close()
	}
	d.tl.Close()
	d.lock.Close()
	d.conn, d.tl, d.lock = nil, nil, nil
	if d.db != nil {
		_ = d.db.Close()
		d.db = nil
	}
}

// connect opens a dedicated connection with the dump's session settings.
func (d *dumper) connect(ctx context.Context) (*sql.Conn, error) {
	c, err := d.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range sessionSetup {
		if _, err := c.ExecContext(ctx, s); err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("%s: %w", s, err)
		}
	}
	return c, nil
}

// lockIdle is how long the server keeps a lock-holding session of the dump whose client has
// gone silent; see lockConn.
var lockIdle = 30 * time.Second

// testLockHeld, when set, runs while the dump holds BACKUP STAGE BLOCK_DDL (or FTWRL).
var testLockHeld func()

// lockConn is a connection that holds locks other sessions wait for: BACKUP STAGE or FTWRL
// while the snapshot is taken, LOCK TABLES on the non-transactional tables while they are
// dumped. If the dumper dies without closing it (its pod killed with its network namespace, its
// node gone, a network that drops packets without a reset), the server would keep the session,
// and the locks, until wait_timeout (a day, as the dump sets it for its readers) or until TCP
// keepalive gives up (two hours by default): every DDL, or every commit, on the server would
// wait that long. So this session ends after lockIdle without a word from the dump, and the
// dump, while it lives, pings it four times as often. A dump whose lock session was ended fails
// at its next statement on it; it never goes on without the lock.
type lockConn struct {
	*sql.Conn
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// connectLock opens a connection with the dump's settings and lockIdle's wait_timeout, pinged
// until stopPings or Close.
func (d *dumper) connectLock(ctx context.Context) (*lockConn, error) {
	c, err := d.connect(ctx)
	if err != nil {
		return nil, err
	}
	set := fmt.Sprintf("SET SESSION wait_timeout = %d", max(1, int(lockIdle.Seconds())))
	if _, err := c.ExecContext(ctx, set); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("%s: %w", set, err)
	}
	l := &lockConn{Conn: c, stop: make(chan struct{}), done: make(chan struct{})}
	go l.ping(ctx)
	return l, nil
}

func (l *lockConn) ping(ctx context.Context) {
	defer close(l.done)
	t := time.NewTicker(lockIdle / 4)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
			_ = l.PingContext(ctx) // a lost session shows in the next statement
		}
	}
}

// stopPings ends the pings once the locks are released; the session then ends after lockIdle
// of silence. It waits for a ping under way, so that the connection is free afterwards.
func (l *lockConn) stopPings() {
	l.once.Do(func() { close(l.stop) })
	<-l.done
}

// Close ends the pings and the session, and with it every lock it holds; nil is closed.
func (l *lockConn) Close() {
	if l == nil {
		return
	}
	l.stopPings()
	_ = l.Conn.Close()
}

// prepare connects, checks the databases, reads the catalog and takes the snapshot. Nothing is
// uploaded yet, so a wrong --database fails before any object exists.
//
// Consistency: BACKUP STAGE BLOCK_DDL freezes the schema while the catalog is read;
// BLOCK_COMMIT then stops every commit and every write to non-transactional tables, and inside
// it the snapshot transaction starts and the binlog position is read, so that all three agree.
// Instead of reading the non-transactional (MyISAM, Aria, ...) tables while every commit on the
// server waits, as mydumper does under FTWRL, a second connection takes LOCK TABLES ... READ on
// just those tables inside the block and keeps it until they are dumped: the global block lasts
// milliseconds, and only writers of those tables wait. Servers without BACKUP STAGE fall back
// to FLUSH TABLES WITH READ LOCK for the same steps.
func (d *dumper) prepare(ctx context.Context, addr string) error {
	var err error
	if d.conn, err = d.connect(ctx); err != nil {
		return &dbconn.ConnectError{Addr: addr, Err: err}
	}
	n := d.opts.Parallel
	if n <= 0 {
		n = dbconn.DefaultParallel()
	}
	// Connected before any lock is taken: the commit block must stay short.
	for range n {
		c, err := d.connect(ctx)
		if err != nil {
			return &dbconn.ConnectError{Addr: addr, Err: err}
		}
		d.workers = append(d.workers, &worker{conn: c})
	}
	if d.lock, err = d.connectLock(ctx); err != nil {
		return &dbconn.ConnectError{Addr: addr, Err: err}
	}
	r, err := queryOne(ctx, d.conn, "SELECT VERSION() AS v")
	if err != nil {
		return fmt.Errorf("read server version: %w", err)
	}
	d.server = r.str("v")
	// The server's own name and port, not the address dialled: the same server seen from a
	// pod and from a laptop is one set.
	if r, err = queryOne(ctx, d.conn, "SELECT @@hostname AS h, @@port AS p"); err != nil {
		return fmt.Errorf("read server hostname and port: %w", err)
	}
	d.serverID = r.str("h") + ":" + r.str("p")
	if d.dbs, err = listDatabases(ctx, d.conn, d.opts.Databases); err != nil {
		return err
	}
	if len(d.dbs) == 0 {
		return fmt.Errorf("%w: the server has no database to dump besides the system schemas", ErrUnknownDatabase)
	}
	if d.opts.Users {
		// Read before any lock: accounts are not part of the snapshot (no lock covers them).
		if d.accts, err = readAccounts(ctx, d.conn); err != nil {
			return err
		}
	}

	stage := true
	if _, err := d.lock.ExecContext(ctx, "BACKUP STAGE START"); err != nil {
		var me *mysql.MySQLError
		if !errors.As(err, &me) || me.Number != 1064 {
			return fmt.Errorf("BACKUP STAGE START%s: %w", privilegeHint(err), err)
		}
		stage = false
		if _, err := d.lock.ExecContext(ctx, "FLUSH TABLES WITH READ LOCK"); err != nil {
			return fmt.Errorf("FLUSH TABLES WITH READ LOCK%s: %w", privilegeHint(err), err)
		}
	}
	if stage {
		if _, err := d.lock.ExecContext(ctx, "BACKUP STAGE BLOCK_DDL"); err != nil {
			return fmt.Errorf("BACKUP STAGE BLOCK_DDL: %w", err)
		}
	}
	if testLockHeld != nil {
		testLockHeld()
	}
	t0 := time.Now()
	for _, db := range d.dbs {
		if err := readCatalog(ctx, d.conn, db); err != nil {
			return err
		}
	}
	d.dbs = orderDatabases(d.dbs)
	if stage {
		if _, err := d.lock.ExecContext(ctx, "BACKUP STAGE BLOCK_COMMIT"); err != nil {
			return fmt.Errorf("BACKUP STAGE BLOCK_COMMIT: %w", err)
		}
	}
	t1 := time.Now()
	if err := d.lockNonTransactional(ctx); err != nil {
		return err
	}
	// Every connection starts its snapshot while commits are blocked: they all see the same
	// committed state, the one the binlog position below names.
	for _, c := range d.snapshotConns() {
		if _, err := c.ExecContext(ctx, "START TRANSACTION WITH CONSISTENT SNAPSHOT"); err != nil {
			return fmt.Errorf("start snapshot: %w", err)
		}
	}
	if d.binlog, err = readBinlog(ctx, d.conn); errors.Is(err, errNoBinlogPrivilege) {
		d.log.Warn("the binlog position is not recorded: the user lacks the BINLOG MONITOR privilege")
	} else if err != nil {
		return err
	}
	release := "BACKUP STAGE END"
	if !stage {
		release = "UNLOCK TABLES"
	}
	if _, err := d.lock.ExecContext(ctx, release); err != nil {
		return fmt.Errorf("%s: %w", release, err)
	}
	// The lock connection is free now: it probes which tables need innodb_strict_mode off,
	// and is closed.
	d.lock.stopPings()
	if err := probeStrict(ctx, d.lock.Conn, d.dbs); err != nil {
		return err
	}
	d.lock.Close()
	d.lock = nil
	d.log.Info("snapshot taken", "id", d.id, "databases", len(d.dbs), "connections", len(d.workers), "ddl_blocked_seconds", time.Since(t0).Seconds(),
		"commits_blocked_seconds", time.Since(t1).Seconds(), "locked_tables", d.nLock, "binlog", d.binlog)
	// Everything is read as raw bytes from here on; see the data section's SET NAMES binary.
	for _, c := range d.snapshotConns() {
		if _, err := c.ExecContext(ctx, "SET character_set_results = binary"); err != nil {
			return err
		}
	}
	return nil
}

// snapshotConns are the connections that read in the snapshot: the planner's and the workers'.
func (d *dumper) snapshotConns() []*sql.Conn {
	cs := []*sql.Conn{d.conn}
	for _, w := range d.workers {
		cs = append(cs, w.conn)
	}
	return cs
}

// lockNonTransactional takes a read lock on every non-transactional table to dump, on its own
// connection, while commits are blocked.
func (d *dumper) lockNonTransactional(ctx context.Context) error {
	var names []byte
	for _, db := range d.dbs {
		for _, t := range db.Tables {
			if !t.Locked {
				continue
			}
			if d.nLock > 0 {
				names = append(names, ", "...)
			}
			names = append(names, sqltext.QuoteIdent(t.DB)+"."+sqltext.QuoteIdent(t.Name)+" READ"...)
			d.nLock++
		}
	}
	if d.nLock == 0 {
		return nil
	}
	var err error
	if d.tl, err = d.connectLock(ctx); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	if _, err := d.tl.ExecContext(ctx, "LOCK TABLES "+string(names)); err != nil {
		return fmt.Errorf("lock the non-transactional tables: %w", err)
	}
	return nil
}

// unlockOne notes that a locked table is dumped, and releases the locks after the last one.
func (d *dumper) unlockOne(ctx context.Context) error {
	d.nLock--
	if d.nLock > 0 || d.tl == nil {
		return nil
	}
	if _, err := d.tl.ExecContext(ctx, "UNLOCK TABLES"); err != nil {
		return fmt.Errorf("unlock the non-transactional tables: %w", err)
	}
	d.tl.Close()
	d.tl = nil
	d.log.Debug("non-transactional tables dumped and unlocked")
	return nil
}

// errNoBinlogPrivilege: SHOW MASTER STATUS was refused.
var errNoBinlogPrivilege = errors.New("no privilege to read the binlog position")

// readBinlog reads the binary log position and GTID of the snapshot; nil when binary logging
// is off.
func readBinlog(ctx context.Context, c *sql.Conn) (*format.Binlog, error) {
	rs, err := queryRows(ctx, c, "SHOW MASTER STATUS")
	var me *mysql.MySQLError
	if errors.As(err, &me) && me.Number == 1227 {
		return nil, errNoBinlogPrivilege // the dump is still consistent; only the position is unknown
	}
	if err != nil {
		return nil, fmt.Errorf("read binlog position: %w", err)
	}
	if len(rs) == 0 {
		return nil, nil
	}
	pos, err := strconv.ParseUint(rs[0].str("position"), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("binlog position %q: %w", rs[0].str("position"), err)
	}
	b := &format.Binlog{File: rs[0].str("file"), Position: pos}
	if g, err := queryOne(ctx, c, "SELECT @@GLOBAL.gtid_binlog_pos AS g"); err == nil {
		b.GTID = g.str("g")
	}
	return b, nil
}

// errUploadEnded is what the dump's writes see once the upload stopped reading.
var errUploadEnded = errors.New("upload ended")

// upload streams the dump into key under errgroup: the producer writes sections into a pipe,
// the bucket reads it. It returns the manifest of what was stored, not yet verified, and what
// was written.
func (d *dumper) upload(ctx context.Context, b storage.Bucket, key string) (*format.Manifest, verify.Written, error) {
	m := &format.Manifest{
		Format: format.FormatVersion, ID: d.id, StartedAt: d.started.UTC(), Tool: format.ToolName,
		ToolVersion: version.Version, Server: d.server, ServerID: d.serverID, Binlog: d.binlog,
		Set: d.opts.Set, Origin: format.OriginManual,
		Object: format.Object{Key: key, Compression: d.opts.Compression},
	}
	if d.opts.Scheduled {
		m.Origin = format.OriginScheduled
	}
	pr, pw := io.Pipe()
	g, gctx := errgroup.WithContext(ctx)
	var ow *objectWriter
	var dumpErr, putErr error
	g.Go(func() error {
		ow, dumpErr = d.encryptedWrite(gctx, pw, m)
		pw.CloseWithError(dumpErr) // nil closes cleanly: the upload sees EOF only after a whole dump
		return dumpErr
	})
	var info storage.ObjectInfo
	g.Go(func() error {
		info, putErr = b.Put(gctx, key, pr, -1)
		if putErr != nil {
			putErr = fmt.Errorf("upload %s to %s: %w", key, b, putErr)
		}
		// Unblock the producer if the upload stopped reading early.
		pr.CloseWithError(errors.Join(putErr, errUploadEnded))
		return putErr
	})
	if err := g.Wait(); err != nil {
		// Report the cause: a failed upload makes the dump fail on the closed pipe, and a failed
		// dump makes the upload fail on the pipe's error.
		// A dump stopped only because the failed upload cancelled the group is not the cause.
		cancelledByUpload := putErr != nil && ctx.Err() == nil && errors.Is(dumpErr, context.Canceled)
		if dumpErr != nil && !errors.Is(dumpErr, errUploadEnded) && !cancelledByUpload {
			return nil, verify.Written{}, dumpErr
		}
		if putErr != nil {
			return nil, verify.Written{}, putErr
		}
		return nil, verify.Written{}, err
	}
	w := ow.written()
	m.Object.Size = w.Size
	m.Object.RawSize = ow.raw
	if info.Size != 0 && info.Size != d.storedSize(m) {
		return nil, w, fmt.Errorf("%w: upload of %s stored %d bytes, %d were sent", format.ErrVerify, key, info.Size, d.storedSize(m))
	}
	return m, w, nil
}
