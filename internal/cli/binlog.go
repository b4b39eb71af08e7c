package cli

import (
	"context"
	"errors"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/backupctl/backupctl/backup/binlog"
	"github.com/backupctl/backupctl/contract"
)

// ArchiveFlags configure the binlog archiver (`binlog archive`).
type ArchiveFlags struct {
	SegmentInterval time.Duration `name:"segment-interval" env:"BACKUP_BINLOG_SEGMENT_INTERVAL" default:"1m" help:"Close and store a segment at the first transaction end after it has been open this long."`
	SegmentSize     string        `name:"segment-size" env:"BACKUP_BINLOG_SEGMENT_SIZE" default:"64MiB" help:"Close and store a segment at the first transaction end after it holds this much binlog."`
	ServerID        uint32        `name:"server-id" env:"BACKUP_BINLOG_SERVER_ID" default:"0" help:"server_id of the replication connection; 0 picks a random one above 2^31, unique in practice."`
	StartGTID       string        `name:"start-gtid" env:"BACKUP_BINLOG_START_GTID" help:"Where a new archive begins (a GTID position such as 0-1-100, e.g. an old backup's); default the server's current position. An existing archive always resumes after its last segment."`
}

// Options checks the flags and returns the archiver's options.
func (f ArchiveFlags) Options(g *Globals) (binlog.ArchiveOptions, error) {
	o := binlog.ArchiveOptions{ServerID: f.ServerID, StartGTID: f.StartGTID, Log: g.Logger()}
	if f.SegmentInterval <= 0 {
		return o, contract.Usagef("--segment-interval %s is not a positive duration such as 1m", f.SegmentInterval)
	}
	o.SegmentInterval = f.SegmentInterval
	n, err := humanize.ParseBytes(f.SegmentSize)
	if err != nil || n == 0 {
		return o, contract.Usagef("--segment-size %q is not a size such as 64MiB", f.SegmentSize)
	}
	o.SegmentSize = int64(n)
	if f.StartGTID != "" {
		if _, err := binlog.ParseState(f.StartGTID); err != nil {
			return o, contract.Usagef("--start-gtid: %v", err)
		}
	}
	return o, nil
}

// LocalArchive archives the server's binlog from this process until ctx ends (SIGINT or
// SIGTERM), then stores its open segment.
func LocalArchive(ctx context.Context, g *Globals, dbf DBFlags, st StorageFlags, f ArchiveFlags) error {
	o, err := f.Options(g)
	if err != nil {
		return err
	}
	db, err := dbf.Config()
	if err != nil {
		return err
	}
	b, err := st.Open(ctx)
	if err != nil {
		return err
	}
	err = binlog.Archive(ctx, db, b, o)
	if errors.Is(err, binlog.ErrServerSetup) {
		return contract.Usagef("%v", err)
	}
	return explainDB(err)
}
