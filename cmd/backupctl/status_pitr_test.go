package main

import (
	"strings"
	"testing"
	"time"

	"github.com/backupctl/backupctl/backup/binlog"
)

// TestStatusPITR: the archive of the schedule's server in status: how far it reaches and how long
// ago; a gap, or a newest backup the archive does not reach back to, is a problem.
func TestStatusPITR(t *testing.T) {
	now := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	arch := binlog.ArchiveStatus{
		Archive: "db1:3306", FromTime: now.Add(-2 * time.Hour), FromGTID: "0-1-100",
		ToTime: now.Add(-7 * time.Second), ToGTID: "0-1-900", Segments: 12, Bytes: 4096, LastWritten: now.Add(-5 * time.Second),
	}
	window := &binlog.Window{From: now.Add(-time.Hour), To: arch.ToTime, ToGTID: arch.ToGTID}
	base := scheduleInfo{Namespace: "ns", Name: "n", Schedule: "0 2 * * *"}
	with := func(s binlog.ArchiveStatus, w *binlog.Window) scheduleInfo {
		in := base
		in.archive = &archiveRead{status: s, backupID: "20261129T070000Z-aaaaaa", window: w}
		return in
	}

	rep := statusOf(base, nil, 0, now)
	if rep.PITR != nil || strings.Contains(rep.text(), "binlog archive") {
		t.Errorf("no archive, yet status shows one: %+v", rep.PITR)
	}

	rep = statusOf(with(arch, window), nil, 0, now)
	p := rep.PITR
	if p == nil || !rep.OK || p.ArchivedTo != "2026-11-29T07:59:53Z" || p.ArchivedToGTID != "0-1-900" || p.LagSeconds != 7 ||
		p.Lag != "7s" || p.Segments != 12 || len(p.Gaps) != 0 || p.NewestBackupTo != "2026-11-29T07:59:53Z" {
		t.Errorf("status of a whole archive: %+v (problems %q)", p, rep.Problems)
	}
	text := rep.text()
	for _, want := range []string{"binlog archive:  db1:3306, 2026-11-29T06:00:00Z to 2026-11-29T07:59:53Z (GTID 0-1-900), last event 7s ago, 12 segments, 0 gaps",
		"recoverable:     backup 20261129T070000Z-aaaaaa to 2026-11-29T07:59:53Z", "problems:        none"} {
		if !strings.Contains(text, want) {
			t.Errorf("status text lacks %q:\n%s", want, text)
		}
	}

	gapped := arch
	gapped.Gaps = []binlog.SegmentGap{{Gap: binlog.Gap{After: "0-1-400", Before: "0-1-450", Reason: "the server purged binlog"}, Seq: 7}}
	rep = statusOf(with(gapped, &binlog.Window{From: window.From, To: now.Add(-time.Hour), GapAfter: true}), nil, 0, now)
	if rep.OK || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0], "gap before segment 7 (0-1-400 to 0-1-450: the server purged binlog)") ||
		rep.PITR == nil || len(rep.PITR.Gaps) != 1 {
		t.Errorf("status of an archive with a gap: problems %q, %+v", rep.Problems, rep.PITR)
	}
	if !strings.Contains(rep.text(), "PROBLEM:         binlog archive db1:3306 has a gap") {
		t.Errorf("the gap is not a problem in the text:\n%s", rep.text())
	}

	rep = statusOf(with(arch, &binlog.Window{Reason: "the archive does not reach back to the backup"}), nil, 0, now)
	if rep.OK || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0], "newest backup 20261129T070000Z-aaaaaa cannot be brought forward") ||
		rep.PITR.NewestBackupTo != "" {
		t.Errorf("status of a backup the archive does not reach: problems %q, %+v", rep.Problems, rep.PITR)
	}
}
