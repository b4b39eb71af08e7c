package contract

import (
	"net"
	"strconv"
	"strings"
	"time"
)

// ArchiveCommand is `dumper binlog archive`, as the archiver's Deployment runs it.
type ArchiveCommand struct {
	SegmentInterval time.Duration `dumper:"segment-interval"`
	SegmentSize     string        `dumper:"segment-size"`
	ServerID        uint32        `dumper:"server-id"` // 0: the dumper picks one
	StartGTID       string        `dumper:"start-gtid"`
	MetricsListen   string        `dumper:"metrics-listen"` // host:port the archiver serves /metrics on
	// Recipients are the age public keys segments are encrypted to (none: not encrypted).
	Recipients []string `dumper:"encrypt-to"`
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
	a.str("metrics-listen", c.MetricsListen)
	for _, r := range c.Recipients {
		a.str("encrypt-to", r)
	}
	return a.conn(c.DB, c.Storage)
}

// MetricsPort is the TCP port of a `--metrics-listen=[HOST]:PORT` in args (a dumper's argv), 0
// when there is none.
func MetricsPort(args []string) int32 {
	for _, a := range args {
		v, ok := strings.CutPrefix(a, "--metrics-listen=")
		if !ok {
			continue
		}
		_, port, err := net.SplitHostPort(v)
		if err != nil {
			return 0
		}
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return 0
		}
		return int32(n)
	}
	return 0
}
