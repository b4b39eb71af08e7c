package binlog

import (
	"context"
	"time"

	"github.com/backupctl/backupctl/backup/dbconn"
	"github.com/backupctl/backupctl/storage"
)

// ArchiveStatus describes one server's archive.
type ArchiveStatus struct {
	Archive  string    `json:"archive"`
	FromTime time.Time `json:"from_time"`
	FromGTID string    `json:"from_gtid"`
	ToTime   time.Time `json:"to_time"`
	ToGTID   string    `json:"to_gtid"`
	Segments int       `json:"segments"`
	// Bytes is what the segments take in the bucket; RawBytes the binlog they hold.
	Bytes    int64 `json:"bytes"`
	RawBytes int64 `json:"raw_bytes"`
	// LastWritten is when the newest segment was stored.
	LastWritten time.Time `json:"last_written"`
	// Gaps are the spans of binlog the archive lacks, each before segment Seq.
	Gaps []SegmentGap `json:"gaps"`
	// Server, when the server was asked, is its current position and how far the archive is
	// behind it.
	Server *ServerLag `json:"server,omitempty"`
}

// SegmentGap is a gap and the segment after it.
type SegmentGap struct {
	Gap
	Seq uint64 `json:"seq"`
}

// ServerLag compares the archive with its server.
type ServerLag struct {
	GTID string `json:"gtid"`
	// Transactions is how many transactions of the server's domains are not archived yet.
	Transactions uint64 `json:"transactions_behind"`
	// Seconds is how long ago the last archived event happened, when the server has more;
	// 0 when the archive holds everything.
	Seconds float64 `json:"lag_seconds"`
}

// Status describes every archive in the bucket. With db, the archive of that server is compared
// with the server's current position.
func Status(ctx context.Context, b storage.Bucket, db *dbconn.Config) ([]ArchiveStatus, error) {
	names, err := Archives(ctx, b)
	if err != nil {
		return nil, err
	}
	var info ServerInfo
	if db != nil {
		if info, err = CheckServer(ctx, *db); err != nil {
			return nil, err
		}
	}
	var out []ArchiveStatus
	for _, name := range names {
		es, err := LoadIndex(ctx, b, name)
		if err != nil {
			return nil, err
		}
		if len(es) == 0 {
			continue
		}
		s := summarize(es)
		if db != nil && ArchiveKey(info.Archive) == name {
			s.Server = lagBehind(s, info.GTIDPos, time.Now())
		}
		out = append(out, s)
	}
	return out, nil
}

// summarize folds an archive's entries.
func summarize(es []*Entry) ArchiveStatus {
	first, last := es[0], es[len(es)-1]
	s := ArchiveStatus{Archive: first.Archive, FromTime: first.FirstTime, FromGTID: first.StartState,
		ToTime: last.LastTime, ToGTID: last.EndState, Segments: len(es), LastWritten: last.Written, Gaps: []SegmentGap{}}
	for i, e := range es {
		s.Bytes += e.Size
		s.RawBytes += e.RawSize
		switch {
		case e.Gap != nil:
			s.Gaps = append(s.Gaps, SegmentGap{Gap: *e.Gap, Seq: e.Seq})
		case i > 0 && e.StartState != es[i-1].EndState:
			s.Gaps = append(s.Gaps, SegmentGap{Gap: Gap{After: es[i-1].EndState, Before: e.StartState, Reason: "segments do not follow each other"}, Seq: e.Seq})
		}
	}
	return s
}

// lagBehind compares the archive's end with the server's position.
func lagBehind(s ArchiveStatus, serverPos string, now time.Time) *ServerLag {
	l := &ServerLag{GTID: serverPos}
	srv, err1 := ParseState(serverPos)
	arch, err2 := ParseState(s.ToGTID)
	if err1 != nil || err2 != nil {
		return l
	}
	for d, g := range srv {
		if a, ok := arch[d]; !ok {
			l.Transactions += g.Seq
		} else if g.Seq > a.Seq {
			l.Transactions += g.Seq - a.Seq
		}
	}
	if l.Transactions > 0 {
		l.Seconds = now.Sub(s.ToTime).Seconds()
	}
	return l
}
