package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/backupctl/backupctl/backup/binlog"
	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/storage"
)

// archiveRead is the binlog archive of the server of a schedule's newest backup, as read from
// the storage, and that backup's recoverable window.
type archiveRead struct {
	status   binlog.ArchiveStatus
	backupID string
	window   *binlog.Window
}

// pitrStatus is the point-in-time part of status: how far the archive of the schedule's server
// reaches, how long ago its last event was, and how far the newest backup can be brought.
type pitrStatus struct {
	Archive        string `json:"archive"`
	ArchivedFrom   string `json:"archived_from"`
	ArchivedTo     string `json:"archived_to"`
	ArchivedToGTID string `json:"archived_to_gtid"`
	// Lag is how long before now the last archived event happened (on an idle server it grows
	// too: the server is not asked here).
	Lag        string  `json:"lag"`
	LagSeconds float64 `json:"lag_seconds"`
	// LastWritten is when the newest segment was stored.
	LastWritten string              `json:"last_written"`
	Segments    int                 `json:"segments"`
	Bytes       int64               `json:"bytes"`
	Gaps        []binlog.SegmentGap `json:"gaps"`
	// NewestBackupTo is how far the newest backup can be restored to (empty when it cannot be
	// brought forward: see the problems).
	NewestBackup   string `json:"newest_backup"`
	NewestBackupTo string `json:"newest_backup_recoverable_to,omitempty"`
}

// readArchive finds the archive of m's server in b and m's window in it, reading its index
// once; nil when the server has no archive there.
func readArchive(ctx context.Context, b storage.Bucket, m *format.Manifest) (*archiveRead, error) {
	if m.ServerID == "" {
		return nil, nil
	}
	names, err := binlog.Archives(ctx, b)
	if err != nil || !slices.Contains(names, binlog.ArchiveKey(m.ServerID)) {
		return nil, err
	}
	es, err := binlog.LoadIndex(ctx, b, m.ServerID)
	if err != nil || len(es) == 0 {
		return nil, err
	}
	w, _ := binlog.Reachable(m, es)
	return &archiveRead{status: binlog.Summarize(es), backupID: m.ID, window: &w}, nil
}

// addPITR puts the archive into the report; a gap, or a newest backup the archive cannot bring
// forward, is a problem.
func (r *statusReport) addPITR(a *archiveRead, now time.Time) {
	if a == nil {
		return
	}
	s := a.status
	lag := now.Sub(s.ToTime)
	p := &pitrStatus{
		Archive: s.Archive, ArchivedFrom: s.FromTime.UTC().Format(time.RFC3339), ArchivedTo: s.ToTime.UTC().Format(time.RFC3339),
		ArchivedToGTID: s.ToGTID, Lag: lag.Round(time.Second).String(), LagSeconds: lag.Seconds(),
		LastWritten: s.LastWritten.UTC().Format(time.RFC3339), Segments: s.Segments, Bytes: s.Bytes,
		Gaps: s.Gaps, NewestBackup: a.backupID,
	}
	if p.Gaps == nil {
		p.Gaps = []binlog.SegmentGap{}
	}
	for _, g := range s.Gaps {
		r.Problems = append(r.Problems, fmt.Sprintf("binlog archive %s has a gap before segment %d (%s to %s: %s): no point-in-time restore across it; a backup taken after it starts a new window",
			s.Archive, g.Seq, g.After, g.Before, g.Reason))
	}
	switch w := a.window; {
	case w == nil:
	case w.Reason != "":
		r.Problems = append(r.Problems, fmt.Sprintf("the newest backup %s cannot be brought forward with the binlog archive: %s", a.backupID, w.Reason))
	default:
		p.NewestBackupTo = w.To.UTC().Format(time.RFC3339)
	}
	r.PITR = p
}

// text is the point-in-time lines of status for a person.
func (p *pitrStatus) text() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "binlog archive:  %s, %s to %s (GTID %s), last event %s ago, %d segments, %d gaps\n",
		p.Archive, p.ArchivedFrom, p.ArchivedTo, p.ArchivedToGTID, p.Lag, p.Segments, len(p.Gaps))
	if p.NewestBackupTo != "" {
		fmt.Fprintf(&sb, "recoverable:     backup %s to %s\n", p.NewestBackup, p.NewestBackupTo)
	}
	return sb.String()
}
