package binlog

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/backupctl/backupctl/backup/dbconn"
	"github.com/backupctl/backupctl/storage"
)

// Defaults of the archiver's settings.
const (
	DefaultSegmentInterval = time.Minute
	DefaultSegmentSize     = 64 << 20
)

// ArchiveOptions configure the archiver.
type ArchiveOptions struct {
	// SegmentInterval and SegmentSize close a segment at the first transaction boundary after
	// it has been open this long or holds this many bytes.
	SegmentInterval time.Duration
	SegmentSize     int64
	// ServerID is the replication client's server_id; 0 picks a random one that no real
	// server is likely to use.
	ServerID uint32
	// StartGTID is where a new archive begins (a GTID position); empty is the server's current
	// position. An archive that has segments always resumes after its last one.
	StartGTID string
	// Log receives progress, lag and gaps; nil discards them.
	Log *slog.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// MaxBackoff bounds the wait between retries when the server or the bucket fails.
	MaxBackoff time.Duration
	// OnSegment, when set, is called after each index entry is written (tests, metrics).
	OnSegment func(*Entry)
}

func (o *ArchiveOptions) defaults() {
	if o.SegmentInterval <= 0 {
		o.SegmentInterval = DefaultSegmentInterval
	}
	if o.SegmentSize <= 0 {
		o.SegmentSize = DefaultSegmentSize
	}
	if o.ServerID == 0 {
		o.ServerID = randomServerID()
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
}

// randomServerID is in [2^31, 2^32): replicas are usually numbered from 1 up.
func randomServerID() uint32 {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint32(b[:]) | 1<<31
}

// ErrServerSetup marks a server that cannot be archived as configured (binary log off, missing
// privileges): the message says what to change.
var ErrServerSetup = errors.New("server not ready for binlog archiving")

// archiver is the state of one Archive run.
type archiver struct {
	db           dbconn.Config
	b            storage.Bucket
	o            ArchiveOptions
	archive      string // @@hostname:@@port
	state        State  // the GTID position after the last archived transaction
	next         uint64 // the next segment's number
	pending      *Gap   // binlog purged before it was read: resume at the oldest file, record it
	changed      *Gap   // a domain's server changed: record it in the next entry
	lastArchived time.Time
}

// Archive streams the binary log of db into b until ctx ends, then closes and stores its open
// segment and returns nil. It resumes after the archive's last segment; server and bucket
// failures are retried with backoff (lag is logged); a purged binlog is recorded as a gap.
func Archive(ctx context.Context, db dbconn.Config, b storage.Bucket, o ArchiveOptions) error {
	o.defaults()
	a := &archiver{db: db, b: b, o: o}
	if err := a.prepare(ctx); err != nil {
		return err
	}
	backoff := time.Second
	for ctx.Err() == nil {
		progressed, err := a.stream(ctx)
		if err == nil || ctx.Err() != nil {
			return err
		}
		if progressed {
			backoff = time.Second
		}
		a.o.Log.Warn("binlog archiving interrupted, retrying", "error", err.Error(), "retry_in", backoff.String(),
			"archived_to", a.state.String(), "lag", a.lag().String())
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, a.o.MaxBackoff)
	}
	return nil
}

// lag is how long ago the last archived event happened, as far as we know.
func (a *archiver) lag() time.Duration {
	if a.lastArchived.IsZero() {
		return 0
	}
	return a.o.Now().Sub(a.lastArchived).Truncate(time.Second)
}

// prepare checks the server, names the archive and finds where to resume.
func (a *archiver) prepare(ctx context.Context) error {
	info, err := CheckServer(ctx, a.db)
	if err != nil {
		return err
	}
	a.archive = info.Archive
	entries, err := LoadIndex(ctx, a.b, a.archive)
	if err != nil {
		return err
	}
	if n := len(entries); n > 0 {
		last := entries[n-1]
		a.next = last.Seq + 1
		a.lastArchived = last.LastTime
		a.state, err = ParseState(last.EndState)
		if err != nil {
			return fmt.Errorf("%w: segment %d end state: %v", ErrCorrupt, last.Seq, err)
		}
		a.o.Log.Info("resuming binlog archive", "archive", a.archive, "after_segment", last.Seq, "gtid", last.EndState)
		return nil
	}
	a.next = 1
	start := a.o.StartGTID
	if start == "" {
		start = info.GTIDPos
	}
	if a.state, err = ParseState(start); err != nil {
		return fmt.Errorf("--start-gtid: %w", err)
	}
	a.o.Log.Info("starting a new binlog archive", "archive", a.archive, "gtid", a.state.String())
	return nil
}

// ServerInfo is what CheckServer learnt.
type ServerInfo struct {
	Archive  string // @@hostname:@@port, the name backups give the server
	GTIDPos  string // @@gtid_binlog_pos
	ServerID uint32 // @@server_id
	Format   string // @@binlog_format
}

// CheckServer refuses a server whose binary log cannot be archived, with a message that says
// what to change.
func CheckServer(ctx context.Context, db dbconn.Config) (ServerInfo, error) {
	var info ServerInfo
	conn, err := openDB(db)
	if err != nil {
		return info, err
	}
	defer conn.Close()
	var host, port, logBin string
	err = conn.QueryRowContext(ctx, "SELECT @@hostname, @@port, @@log_bin, @@gtid_binlog_pos, @@server_id, @@binlog_format").
		Scan(&host, &port, &logBin, &info.GTIDPos, &info.ServerID, &info.Format)
	if err != nil {
		return info, &dbconn.ConnectError{Addr: db.Address(), Err: err}
	}
	info.Archive = host + ":" + port
	if logBin != "1" && logBin != "ON" {
		return info, fmt.Errorf("%w: binary logging is off on %s: start MariaDB with log_bin (and binlog_format=ROW)", ErrServerSetup, info.Archive)
	}
	// SHOW BINARY LOGS needs BINLOG MONITOR (or REPLICATION CLIENT): the archiver reads it to
	// find the oldest binlog after a purge.
	if _, err := conn.ExecContext(ctx, "SHOW BINARY LOGS"); err != nil {
		return info, fmt.Errorf("%w: user %s cannot list binary logs (%v): GRANT BINLOG MONITOR, REPLICATION SLAVE ON *.* TO the user", ErrServerSetup, db.User, oneLine(err))
	}
	return info, nil
}

// openDB opens a database/sql handle with the connection settings.
func openDB(db dbconn.Config) (*sql.DB, error) {
	mc, err := db.MySQLConfig()
	if err != nil {
		return nil, err
	}
	c, err := mysql.NewConnector(mc)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(c), nil
}
