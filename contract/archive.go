package contract

import (
	"strconv"
	"time"
)

// ArchiveCommand is `dumper binlog archive`, as the archiver's Deployment runs it.
type ArchiveCommand struct {
	SegmentInterval time.Duration `dumper:"segment-interval"`
	SegmentSize     string        `dumper:"segment-size"`
	ServerID        uint32        `dumper:"server-id"` // 0: the dumper picks one
	StartGTID       string        `dumper:"start-gtid"`
	DB
	Storage
}

// Args is the dumper's argument list for c.
func (c ArchiveCommand) Args() []string {
	a := argv{"binlog", "archive"}
	if c.SegmentInterval > 0 {
		a.str("segment-interval", c.SegmentInterval.String())
	}
	a.str("segment-size", c.SegmentSize)
	if c.ServerID != 0 {
		a.str("server-id", strconv.FormatUint(uint64(c.ServerID), 10))
	}
	a.str("start-gtid", c.StartGTID)
	return a.conn(c.DB, c.Storage)
}
