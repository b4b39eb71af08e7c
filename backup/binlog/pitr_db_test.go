package binlog_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/backupctl/backupctl/backup/binlog"
	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/internal/cli"
	"github.com/backupctl/backupctl/internal/testenv"
)

const segmentSize = 256 << 10

// TestPointInTimeUnderLoad archives the shared source while a writer keeps the transfers'
// invariant and inserts and deletes; a base backup is taken in the middle of the writes; then
// the database is restored to a time between two transactions, to a GTID and to the latest,
// each compared with the state recorded at that moment. The stream crosses a FLUSH BINARY
// LOGS, DDL (ALTER, CREATE, DROP), a transaction larger than the segment size (so it spans the
// size boundary and its segment closes after it) and segment closes by time.
func TestPointInTimeUnderLoad(t *testing.T) {
	src := sharedSource(t)
	st, b := bucket(t)
	tgt := startPrivate(t, "target")
	db := testenv.UniqueName("pitr")
	archive := archiveName(t, src)

	a := startArchiver(t, src, b, binlog.ArchiveOptions{SegmentInterval: 2 * time.Second, SegmentSize: segmentSize, StartGTID: gtidPos(t, src)})
	w := startWorkload(t, src, db)
	exec1(t, src, "CREATE TABLE `"+db+"`.doomed (id INT PRIMARY KEY)")
	time.Sleep(2 * time.Second)

	g := globals(t)
	res, err := cli.LocalBackup(t.Context(), g, src.dbf, st, cli.BackupOptions{Database: []string{db}, Compression: "zstd"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("base backup %s at %s", res.ID, res.Binlog.GTID)
	time.Sleep(2 * time.Second)
	atTime := w.checkpoint(t)

	time.Sleep(time.Second)
	w.exec(t,
		"ALTER TABLE `"+db+"`.events ADD COLUMN tag VARCHAR(20) NULL",
		"CREATE TABLE `"+db+"`.extra (id INT PRIMARY KEY, v TEXT)",
		"INSERT INTO `"+db+"`.extra VALUES (1, 'one'), (2, 'two')",
		"DROP TABLE `"+db+"`.doomed",
		"FLUSH BINARY LOGS",
	)
	big := strings.Repeat("b", 250)
	var vals []string
	for i := range 2000 {
		vals = append(vals, fmt.Sprintf("(%d, '%s')", 100+i, big))
	}
	w.exec(t, "BEGIN", "INSERT INTO `"+db+"`.extra VALUES "+strings.Join(vals, ","), "UPDATE `"+db+"`.extra SET v=CONCAT(v, '!') WHERE id < 1000", "COMMIT")
	// One statement of 12 MB of row events: replay sends it in several BINLOG statements.
	w.exec(t, "INSERT INTO `"+db+"`.extra SELECT 100000+seq, REPEAT('z', 1000) FROM mysql.seq_1_to_12000")
	time.Sleep(time.Second)
	atGTID := w.checkpoint(t)

	time.Sleep(2 * time.Second)
	w.halt(t)
	latest := point{gtid: w.last, fingerprint: fingerprint(t, src, db)}
	checkInvariant(t, src, db)
	entries := waitArchived(t, b, archive, latest.gtid, 60*time.Second)
	if err := a.stop(); err != nil {
		t.Fatalf("archiver: %v", err)
	}
	checkSegments(t, entries)

	restore := func(name string, f cli.PITRFlags, want point) {
		t.Run(name, func(t *testing.T) {
			f.ReplayLock = "read-only"
			rep, err := cli.LocalPITR(t.Context(), globals(t), tgt.dbf, st, "", cli.RestoreOptions{DropExisting: true, PITR: f})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: base %s, %d transactions replayed to %s", name, rep.Plan.Backup, rep.Replayed.Transactions, rep.Plan.LastGTID)
			if rep.Plan.LastGTID != want.gtid {
				t.Errorf("replay ended at %s, want %s", rep.Plan.LastGTID, want.gtid)
			}
			if got := fingerprint(t, tgt.server, db); got != want.fingerprint {
				t.Errorf("restored state differs from the source's at that point:\ngot:\n%s\nwant:\n%s", got, want.fingerprint)
			}
			checkInvariant(t, tgt.server, db)
			if ro := tgt.root(t, "SELECT @@global.read_only"); ro != "0" {
				t.Errorf("target left read_only=%s", ro)
			}
		})
	}
	restore("to-time", cli.PITRFlags{ToTime: atTime.time.Format(time.RFC3339)}, atTime)
	restore("to-gtid", cli.PITRFlags{ToGTID: atGTID.gtid}, atGTID)
	restore("to-latest", cli.PITRFlags{ToLatest: true}, latest)

	t.Run("dry run prints the plan and changes nothing", func(t *testing.T) {
		before := fingerprint(t, tgt.server, db)
		rep, err := cli.LocalPITR(t.Context(), globals(t), tgt.dbf, st, "", cli.RestoreOptions{DryRun: true, DropExisting: true,
			PITR: cli.PITRFlags{ToGTID: atGTID.gtid, ReplayLock: "read-only"}})
		if err != nil {
			t.Fatal(err)
		}
		p := rep.Plan
		if !rep.DryRun || rep.Replayed != nil || len(p.Segments) == 0 || p.Counts.Transactions == 0 || p.LastGTID != atGTID.gtid {
			t.Errorf("dry-run report: dry %v, replayed %v, %d segments, counts %+v, last %s", rep.DryRun, rep.Replayed, len(p.Segments), p.Counts, p.LastGTID)
		}
		if !strings.Contains(rep.StockPath, "--start-position="+p.FromGTID) || !strings.Contains(rep.StockPath, "--stop-position="+atGTID.gtid) {
			t.Errorf("stock path %q", rep.StockPath)
		}
		if after := fingerprint(t, tgt.server, db); after != before {
			t.Errorf("a dry run changed the target")
		}
	})

	t.Run("beyond the archive is refused", func(t *testing.T) {
		last := entries[len(entries)-1].LastTime
		_, err := cli.LocalPITR(t.Context(), globals(t), tgt.dbf, st, "", cli.RestoreOptions{DropExisting: true,
			PITR: cli.PITRFlags{ToTime: last.Add(time.Hour).Format(time.RFC3339), ReplayLock: "read-only"}})
		var ee *contract.ExitError
		if !errors.As(err, &ee) || ee.Code != contract.ExitRefused || !errors.Is(err, binlog.ErrUnreachable) {
			t.Fatalf("got %v, want a refusal", err)
		}
		if !strings.Contains(err.Error(), "last recoverable time") || !strings.Contains(err.Error(), last.Format(time.RFC3339)) || strings.Contains(err.Error(), "\n") {
			t.Errorf("message %q does not name the last recoverable time %s on one line", err, last.Format(time.RFC3339))
		}
	})
}

// checkSegments checks the archive's shape: a chain without gaps, a segment larger than the
// size limit (the large transaction kept whole), and more than one source binlog file.
func checkSegments(t testing.TB, entries []*binlog.Entry) {
	t.Helper()
	large, files := false, map[string]bool{}
	for i, e := range entries {
		if i > 0 && (e.Gap != nil || e.StartState != entries[i-1].EndState || e.Seq != entries[i-1].Seq+1) {
			t.Errorf("segment %d does not continue segment %d: start %s, previous end %s, gap %v", e.Seq, entries[i-1].Seq, e.StartState, entries[i-1].EndState, e.Gap)
		}
		if e.RawSize > segmentSize {
			large = true
		}
		files[e.SourceFile] = true
	}
	if !large {
		t.Errorf("no segment is larger than %d bytes: the large transaction was not kept whole in one", segmentSize)
	}
	if len(files) < 2 {
		t.Errorf("segments come from %d binlog file(s); FLUSH BINARY LOGS should have made two", len(files))
	}
}

// TestStatementFormatReplay: with binlog_format=STATEMENT the replay gives each statement its
// session: user variables of every type it handles, INSERT_ID, RAND seeds, the timestamp NOW()
// reads, sql_mode and the default database.
func TestStatementFormatReplay(t *testing.T) {
	src := startPrivate(t, "stmt", "--binlog-format=STATEMENT")
	if f := src.root(t, "SELECT @@global.binlog_format"); f != "STATEMENT" {
		t.Fatalf("binlog_format is %s", f)
	}
	tgt := startPrivate(t, "tgt")
	st, b := fileBucket(t)
	db := testenv.UniqueName("pitr")
	seed(t, src, st, db, "id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(100) CHARACTER SET utf8mb4, r DOUBLE, n BIGINT UNSIGNED, d DATETIME(6)")
	a := startArchiver(t, src.server, b, binlog.ArchiveOptions{SegmentInterval: time.Second})
	src.root(t, "USE `"+db+"`; SET @s = _utf8mb4'héllo wörld', @i = -42, @u = CAST(18446744073709551615 AS UNSIGNED), @f = 1.5e300, @z = NULL;"+
		"INSERT INTO t (v, r, n) VALUES (CONCAT(@s, @i, IFNULL(@z, '-')), @f, @u);"+
		"INSERT INTO t (v, r) VALUES ('rand', RAND(7) + RAND());"+
		"INSERT INTO t (v, d) VALUES ('now', NOW(6));"+
		"SET sql_mode = 'PIPES_AS_CONCAT'; INSERT INTO t (v) VALUES ('a' || 'b');"+
		"UPDATE t SET r = r * 2 WHERE v = 'rand'")
	last := lastGTID(t, src.server)
	waitArchived(t, b, archiveName(t, src.server), last, 30*time.Second)
	if err := a.stop(); err != nil {
		t.Fatal(err)
	}
	restoreLatest(t, st, tgt, db, last, fingerprint(t, src.server, db))
}
