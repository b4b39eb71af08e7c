package binlog_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/backupctl/backupctl/backup/binlog"
	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/internal/cli"
	"github.com/backupctl/backupctl/internal/testenv"
	"github.com/backupctl/backupctl/storage"
	"github.com/backupctl/backupctl/storage/storagetest"
)

// fileBucket is a local directory bucket.
func fileBucket(t testing.TB) (cli.StorageFlags, storage.Bucket) {
	t.Helper()
	st := cli.StorageFlags{To: "file://" + t.TempDir(), S3PartSize: "8MiB"}
	b, err := st.Open(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return st, b
}

// restoreLatest restores db from its newest backup to the latest archived transaction into a
// private server and compares it with the source.
func restoreLatest(t testing.TB, st cli.StorageFlags, tgt *private, db, wantGTID, want string) *cli.PITRReport {
	t.Helper()
	rep, err := cli.LocalPITR(t.Context(), globals(t), tgt.dbf, st, "", cli.RestoreOptions{DropExisting: true, PITR: cli.PITRFlags{ToLatest: true, ReplayLock: "read-only"}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Plan.LastGTID != wantGTID {
		t.Errorf("replayed to %s, want %s", rep.Plan.LastGTID, wantGTID)
	}
	if got := fingerprint(t, tgt.server, db); got != want {
		t.Errorf("restored state differs from the source:\ngot:\n%s\nwant:\n%s", got, want)
	}
	return rep
}

// seed creates db with a table t of cols on src and takes its base backup into st.
func seed(t testing.TB, src *private, st cli.StorageFlags, db, cols string) {
	t.Helper()
	createTable(t, src.server, db, cols)
	backupNow(t, src.server, st, db)
}

// createTable creates db with a table t of cols on s.
func createTable(t testing.TB, s server, db, cols string) {
	t.Helper()
	exec1(t, s, "CREATE DATABASE `"+db+"`")
	exec1(t, s, "CREATE TABLE `"+db+"`.t ("+cols+")")
}

// backupNow takes a backup of db as backupctl backup now --local does.
func backupNow(t testing.TB, s server, st cli.StorageFlags, db string) {
	t.Helper()
	if _, err := cli.LocalBackup(t.Context(), globals(t), s.dbf, st, cli.BackupOptions{Database: []string{db}, Compression: "zstd"}); err != nil {
		t.Fatal(err)
	}
}

// checkChain fails on a gap, an overlap or a break between consecutive segments.
func checkChain(t testing.TB, es []*binlog.Entry) {
	t.Helper()
	seen := map[string]uint64{}
	for i, e := range es {
		if i > 0 && (e.Gap != nil || e.StartState != es[i-1].EndState || e.Seq != es[i-1].Seq+1) {
			t.Errorf("segment %d does not continue segment %d (start %s, previous end %s, gap %v)", e.Seq, es[i-1].Seq, e.StartState, es[i-1].EndState, e.Gap)
		}
		for _, g := range []string{e.FirstGTID, e.LastGTID} {
			if s, ok := seen[g]; ok && s != e.Seq {
				t.Errorf("transaction %s is in segments %d and %d", g, s, e.Seq)
			}
			seen[g] = e.Seq
		}
	}
}

// TestArchiverAcrossServerRestart: a private source restarts while archived; the archiver
// reconnects and resumes by GTID; a restore to the latest equals the source.
func TestArchiverAcrossServerRestart(t *testing.T) {
	src := startPrivate(t, "src")
	tgt := startPrivate(t, "tgt")
	st, b := fileBucket(t)
	db := testenv.UniqueName("pitr")
	a := startArchiver(t, src.server, b, binlog.ArchiveOptions{SegmentInterval: time.Second, MaxBackoff: time.Second})
	w := startWorkload(t, src.server, db)
	backupNow(t, src.server, st, db)
	time.Sleep(1500 * time.Millisecond)
	w.halt(t)
	src.stop()
	src.start(t)
	for i := range 20 {
		exec1(t, src.server, fmt.Sprintf("INSERT INTO `%s`.events (note) VALUES ('after restart %d')", db, i))
	}
	last := lastGTID(t, src.server)
	es := waitArchived(t, b, archiveName(t, src.server), last, 60*time.Second)
	if err := a.stop(); err != nil {
		t.Fatal(err)
	}
	checkChain(t, es)
	restoreLatest(t, st, tgt, db, last, fingerprint(t, src.server, db))
}

func lastGTID(t testing.TB, s server) string {
	t.Helper()
	pos := gtidPos(t, s)
	return pos[strings.LastIndex(pos, ",")+1:]
}

var (
	dumperOnce sync.Once
	dumperBin  string
	dumperErr  error
)

// dumper builds this tree's dumper once per test binary.
func dumper(t testing.TB) string {
	t.Helper()
	dumperOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pitr-bin-")
		if err != nil {
			dumperErr = err
			return
		}
		dumperBin = filepath.Join(dir, "dumper")
		cmd := exec.Command("go", "build", "-o", dumperBin, "./cmd/dumper")
		cmd.Dir = testenv.ModuleDir(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			dumperErr = fmt.Errorf("go build ./cmd/dumper: %v\n%s", err, out)
		}
	})
	if dumperErr != nil {
		t.Fatal(dumperErr)
	}
	return dumperBin
}

// startDumperArchive runs `dumper binlog archive` against src into st.
func startDumperArchive(t testing.TB, src *private, st cli.StorageFlags, extra ...string) *testenv.Process {
	t.Helper()
	args := append([]string{"binlog", "archive", "--log-format=json", "--segment-interval=30s"}, extra...)
	cmd := exec.Command(dumper(t), args...)
	cmd.Env = append(os.Environ(), "BACKUP_DB_HOST=127.0.0.1", "BACKUP_DB_PORT="+strconv.Itoa(src.srv.Port),
		"BACKUP_DB_USER=pitr", "BACKUP_DB_PASSWORD=pitr-pw", "BACKUP_DB_PASSWORD_FILE=", "BACKUP_TO="+st.To, "BACKUP_S3_ENDPOINT=")
	p, err := testenv.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	if _, ok := p.WaitRecord(30*time.Second, func(r map[string]any) bool {
		msg, _ := r["msg"].(string)
		return strings.Contains(msg, "binlog archive")
	}); !ok {
		r, _ := p.Wait(time.Second)
		t.Fatalf("the archiver did not start: %s", r.Stderr)
	}
	return p
}

// TestArchiverKilledMidSegment: the archiver is SIGKILLed with a segment open (30 s interval),
// then restarted: the archive has no gap and no transaction twice, and a restore to the latest
// equals the source.
func TestArchiverKilledMidSegment(t *testing.T) {
	src := startPrivate(t, "src")
	tgt := startPrivate(t, "tgt")
	st, b := fileBucket(t)
	db := testenv.UniqueName("pitr")
	seed(t, src, st, db, "id INT PRIMARY KEY, v TEXT")
	start := gtidPos(t, src.server)
	p := startDumperArchive(t, src, st, "--start-gtid="+start, "--segment-size=64KiB")
	insert := func(from, to int) {
		for i := from; i < to; i++ {
			exec1(t, src.server, fmt.Sprintf("INSERT INTO `%s`.t VALUES (%d, REPEAT('v', 2000))", db, i))
		}
	}
	insert(0, 100) // about 200 KiB: a few segments closed by size, one open
	archive := archiveName(t, src.server)
	waitArchived(t, b, archive, lastGTIDBefore(t, src.server, 20), 30*time.Second)
	insert(100, 110) // into the open segment
	time.Sleep(300 * time.Millisecond)
	if err := p.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.Done()
	insert(110, 150)
	p = startDumperArchive(t, src, st, "--segment-size=64KiB")
	last := lastGTID(t, src.server)
	time.Sleep(time.Second)
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if r, _ := p.Wait(60 * time.Second); r.Code != 0 {
		t.Fatalf("archiver exit %d after SIGTERM: %s", r.Code, r.Stderr)
	}
	es, err := binlog.LoadIndex(t.Context(), b, archive)
	if err != nil {
		t.Fatal(err)
	}
	checkChain(t, es)
	if es[0].StartState != start || es[len(es)-1].EndState != gtidPos(t, src.server) {
		t.Errorf("archive spans %s to %s, want %s to %s", es[0].StartState, es[len(es)-1].EndState, start, gtidPos(t, src.server))
	}
	restoreLatest(t, st, tgt, db, last, fingerprint(t, src.server, db))
}

// lastGTIDBefore is the GTID n transactions before the server's last one (domain 0).
func lastGTIDBefore(t testing.TB, s server, n uint64) string {
	t.Helper()
	g, err := binlog.ParseGTID(lastGTID(t, s))
	if err != nil {
		t.Fatal(err)
	}
	g.Seq -= n
	return g.String()
}

// records is a slog handler that keeps what it is given.
type records struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *records) Enabled(context.Context, slog.Level) bool { return true }
func (h *records) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r.Clone())
	return nil
}
func (h *records) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *records) WithGroup(string) slog.Handler      { return h }

func (h *records) find(msg string) []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []slog.Record
	for _, r := range h.recs {
		if strings.Contains(r.Message, msg) {
			out = append(out, r)
		}
	}
	return out
}

// TestBucketDown: every upload fails for a while; the archiver retries with backoff and logs
// its lag, its heap stays small while tens of MiB of binlog pile up on the server, and once the
// bucket is back it catches up: the archive is whole and a restore to the latest is exact.
func TestBucketDown(t *testing.T) {
	src := startPrivate(t, "src")
	tgt := startPrivate(t, "tgt")
	st, b := fileBucket(t)
	faulty := storagetest.NewFaulty(b)
	db := testenv.UniqueName("pitr")
	seed(t, src, st, db, "id INT AUTO_INCREMENT PRIMARY KEY, v LONGTEXT")
	logs := &records{}
	a := startArchiver(t, src.server, faulty, binlog.ArchiveOptions{SegmentInterval: time.Second, SegmentSize: 1 << 20, MaxBackoff: 5 * time.Second, Log: slog.New(logs)})
	exec1(t, src.server, "INSERT INTO `"+db+"`.t (v) VALUES ('before')")
	waitArchived(t, faulty, archiveName(t, src.server), lastGTID(t, src.server), 30*time.Second)

	// Down for eight upload attempts: about 30 s with the backoff of 1, 2, 4, 5, 5... s.
	down := time.Now()
	faulty.AddFault(storagetest.MethodPut, &storagetest.Fault{Name: "bucket down", Times: 8, Err: errors.New("connection refused")})
	var peak uint64
	stopWatch := watchHeap(&peak)
	for range 40 { // 40 MiB of binlog while the bucket is down
		exec1(t, src.server, "INSERT INTO `"+db+"`.t (v) VALUES (REPEAT(MD5(RAND()), 32768))")
	}
	for faulty.Fired("bucket down") < 8 {
		if time.Since(down) > 2*time.Minute {
			t.Fatalf("the archiver stopped retrying after %d failed uploads", faulty.Fired("bucket down"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	stopWatch()
	t.Logf("the bucket was down for %s", time.Since(down).Round(time.Second))
	if peak > 48<<20 {
		t.Errorf("heap reached %d MiB while the bucket was down", peak>>20)
	}
	if d := time.Since(down); d < 25*time.Second {
		t.Errorf("the bucket was down for %s only: the archiver retried without backing off", d)
	}
	lagged := false
	for _, r := range logs.find("retrying") {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "lag" && a.Value.String() != "0s" {
				lagged = true
			}
			return true
		})
	}
	if !lagged {
		t.Errorf("no retry log line says how far the archiver is behind")
	}
	last := lastGTID(t, src.server)
	es := waitArchived(t, faulty, archiveName(t, src.server), last, 60*time.Second)
	if err := a.stop(); err != nil {
		t.Fatal(err)
	}
	checkChain(t, es)
	restoreLatest(t, st, tgt, db, last, fingerprint(t, src.server, db))
}

// watchHeap samples the heap in use until the returned func is called.
func watchHeap(peak *uint64) func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			*peak = max(*peak, m.HeapInuse)
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// TestPurgedBinlogIsAGap: the server purges binlog the archiver has not read; the archiver
// records the gap, logs it and goes on; status shows it; a restore across it is refused, one
// from a backup after it works.
func TestPurgedBinlogIsAGap(t *testing.T) {
	src := startPrivate(t, "src")
	tgt := startPrivate(t, "tgt")
	st, b := fileBucket(t)
	db := testenv.UniqueName("pitr")
	seed(t, src, st, db, "id INT AUTO_INCREMENT PRIMARY KEY, v TEXT")
	archive := archiveName(t, src.server)
	a := startArchiver(t, src.server, b, binlog.ArchiveOptions{SegmentInterval: time.Second, MaxBackoff: time.Second})
	exec1(t, src.server, "INSERT INTO `"+db+"`.t (v) VALUES ('archived')")
	waitArchived(t, b, archive, lastGTID(t, src.server), 30*time.Second)
	if err := a.stop(); err != nil {
		t.Fatal(err)
	}
	exec1(t, src.server, "INSERT INTO `"+db+"`.t (v) VALUES ('lost')")
	purgeAll(t, src)
	exec1(t, src.server, "INSERT INTO `"+db+"`.t (v) VALUES ('after the gap')")

	logs := &records{}
	a = startArchiver(t, src.server, b, binlog.ArchiveOptions{SegmentInterval: time.Second, MaxBackoff: time.Second, Log: slog.New(logs)})
	last := lastGTID(t, src.server)
	es := waitArchived(t, b, archive, last, 30*time.Second)
	if err := a.stop(); err != nil {
		t.Fatal(err)
	}
	if len(logs.find("gap in the binlog archive")) == 0 {
		t.Errorf("the gap was not logged")
	}
	var gap *binlog.Entry
	for _, e := range es {
		if e.Gap != nil {
			gap = e
		}
	}
	if gap == nil {
		t.Fatalf("no segment records the gap")
	}
	status, err := binlog.Status(t.Context(), b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(status) != 1 || len(status[0].Gaps) != 1 || status[0].Gaps[0].Before != gap.StartState {
		t.Errorf("status shows gaps %+v, want the one before segment %d", status, gap.Seq)
	}
	_, err = cli.LocalPITR(t.Context(), globals(t), tgt.dbf, st, "", cli.RestoreOptions{DropExisting: true, PITR: cli.PITRFlags{ToLatest: true, ReplayLock: "read-only"}})
	if err == nil {
		// --to-latest stops before the gap: allowed, but it must not have crossed it
		if got := tgt.root(t, "SELECT GROUP_CONCAT(v ORDER BY id) FROM `"+db+"`.t"); got != "archived" {
			t.Errorf("restore to the latest before the gap holds %q, want \"archived\"", got)
		}
	} else {
		t.Fatalf("restore to the latest before the gap: %v", err)
	}
	_, err = cli.LocalPITR(t.Context(), globals(t), tgt.dbf, st, "", cli.RestoreOptions{DropExisting: true, PITR: cli.PITRFlags{ToGTID: last, ReplayLock: "read-only"}})
	if !errors.Is(err, binlog.ErrUnreachable) || !strings.Contains(err.Error(), "across a gap") {
		t.Fatalf("restore across the gap: got %v, want a refusal naming the gap", err)
	}
	// A backup after the gap reaches the end.
	backupNow(t, src.server, st, db)
	exec1(t, src.server, "INSERT INTO `"+db+"`.t (v) VALUES ('later')")
	last = lastGTID(t, src.server)
	a = startArchiver(t, src.server, b, binlog.ArchiveOptions{SegmentInterval: time.Second})
	waitArchived(t, b, archive, last, 30*time.Second)
	if err := a.stop(); err != nil {
		t.Fatal(err)
	}
	restoreLatest(t, st, tgt, db, last, fingerprint(t, src.server, db))
}

// TestTamperedSegmentRefused: one byte of a stored segment changes; the restore refuses before
// it changes anything on the target.
func TestTamperedSegmentRefused(t *testing.T) {
	src := startPrivate(t, "src")
	tgt := startPrivate(t, "tgt")
	st, b := fileBucket(t)
	db := testenv.UniqueName("pitr")
	seed(t, src, st, db, "id INT AUTO_INCREMENT PRIMARY KEY, v TEXT")
	a := startArchiver(t, src.server, b, binlog.ArchiveOptions{SegmentInterval: time.Second})
	for i := range 3 {
		exec1(t, src.server, fmt.Sprintf("INSERT INTO `%s`.t (v) VALUES ('row %d')", db, i))
		time.Sleep(1200 * time.Millisecond) // a segment each
	}
	es := waitArchived(t, b, archiveName(t, src.server), lastGTID(t, src.server), 30*time.Second)
	if err := a.stop(); err != nil {
		t.Fatal(err)
	}
	if len(es) < 2 {
		t.Fatalf("%d segments, want several", len(es))
	}
	// Change the last segment: the earlier ones would apply cleanly if they were not all checked first.
	last := es[len(es)-1]
	rc, err := b.Get(t.Context(), last.Key)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(rc)
	rc.Close()
	data[len(data)/2] ^= 0x40
	if _, err := b.Put(t.Context(), last.Key, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	tgt.root(t, "CREATE DATABASE `"+db+"`; CREATE TABLE `"+db+"`.sentinel (i INT); INSERT INTO `"+db+"`.sentinel VALUES (7)")
	before := fingerprint(t, tgt.server, db)
	_, err = cli.LocalPITR(t.Context(), globals(t), tgt.dbf, st, "", cli.RestoreOptions{DropExisting: true, PITR: cli.PITRFlags{ToLatest: true, ReplayLock: "read-only"}})
	if !errors.Is(err, format.ErrVerify) || !strings.Contains(err.Error(), fmt.Sprintf("segment %d", last.Seq)) {
		t.Fatalf("got %v, want a verification failure naming segment %d", err, last.Seq)
	}
	if after := fingerprint(t, tgt.server, db); after != before {
		t.Errorf("the target changed before the tampered segment was refused:\n%s\nwas:\n%s", after, before)
	}
	if ro := tgt.root(t, "SELECT @@global.read_only"); ro != "0" {
		t.Errorf("target left read_only=%s", ro)
	}
}

// TestServerChangeIsAGap: a domain's transactions start coming from another server_id (as after
// a failover); the archiver records and logs a gap there and keeps archiving.
func TestServerChangeIsAGap(t *testing.T) {
	src := startPrivate(t, "src")
	_, b := fileBucket(t)
	db := testenv.UniqueName("pitr")
	logs := &records{}
	a := startArchiver(t, src.server, b, binlog.ArchiveOptions{SegmentInterval: time.Second, Log: slog.New(logs)})
	createTable(t, src.server, db, "i INT")
	src.root(t, "SET GLOBAL server_id=7")
	src.root(t, "INSERT INTO `"+db+"`.t VALUES (1)") // a new session: it takes the new server_id
	last := lastGTID(t, src.server)
	if !strings.HasPrefix(last, "0-7-") {
		t.Fatalf("last GTID %s is not from server 7", last)
	}
	es := waitArchived(t, b, archiveName(t, src.server), last, 30*time.Second)
	if err := a.stop(); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range es {
		if e.Gap != nil {
			n++
			if e.FirstGTID != last || !strings.Contains(e.Gap.Reason, "server 7, not 1") {
				t.Errorf("gap before segment %d (first %s): %+v", e.Seq, e.FirstGTID, e.Gap)
			}
		}
	}
	if n != 1 || len(logs.find("GTID server changed")) != 1 {
		t.Errorf("%d gaps recorded, %d logged; want 1 of each", n, len(logs.find("GTID server changed")))
	}
}

// purgeAll rotates the binlog and purges every older file. A purge skips a file a replication
// connection still reads (the stopped archiver's, until the server notices it is gone): it is
// retried until only the new file is left.
func purgeAll(t *testing.T, p *private) {
	t.Helper()
	p.root(t, "FLUSH BINARY LOGS")
	file := strings.Fields(p.root(t, "SHOW MASTER STATUS"))[0]
	deadline := time.Now().Add(30 * time.Second)
	for {
		p.root(t, "PURGE BINARY LOGS TO '"+file+"'")
		logs := p.root(t, "SHOW BINARY LOGS")
		if strings.Count(strings.TrimSpace(logs), "\n") == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("binlogs not purged: %s", logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestStopStoresEverythingLoggedBefore stops the archiver right after a burst of writes, round
// after round: each stop must return well within its grace period, and the archive must then
// hold the last transaction the server had logged before the stop, though its events may still
// have been on their way to the archiver.
func TestStopStoresEverythingLoggedBefore(t *testing.T) {
	src := startPrivate(t, "src")
	_, b := fileBucket(t)
	db := testenv.UniqueName("pitr")
	createTable(t, src.server, db, "id INT PRIMARY KEY, v TEXT")
	archive := archiveName(t, src.server)
	var rec records
	for round := range 5 {
		a := startArchiver(t, src.server, b, binlog.ArchiveOptions{SegmentInterval: time.Hour, MaxBackoff: time.Second, Log: slog.New(&rec)})
		for i := range 300 {
			exec1(t, src.server, fmt.Sprintf("INSERT INTO `%s`.t VALUES (%d, REPEAT('v', %d))", db, round*1000+i, 10+i*7))
		}
		last := lastGTID(t, src.server)
		t0 := time.Now()
		if err := a.stop(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if took := time.Since(t0); took > 20*time.Second {
			t.Errorf("round %d: the stop took %s: the archiver should have been done as soon as it had read up to the server's position", round, took.Round(time.Second))
		}
		es, err := binlog.LoadIndex(t.Context(), b, archive)
		if err != nil {
			t.Fatal(err)
		}
		checkChain(t, es)
		g, _ := binlog.ParseGTID(last)
		if n := len(es); n == 0 {
			t.Fatalf("round %d: nothing archived", round)
		} else if st, _ := binlog.ParseState(es[n-1].EndState); !st.Contains(g) {
			t.Fatalf("round %d: the stopped archiver's archive ends at %s: the last write before the stop, %s, is not in it", round, es[n-1].EndState, last)
		}
	}
	if w := rec.find("stopping"); len(w) != 0 {
		t.Errorf("a stop logged %q", w[0].Message)
	}
}
