package dump

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backupctl/backupctl/backup/dbconn"
	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/backup/internal/backuptest"
	"github.com/backupctl/backupctl/backup/sqltext"
	"github.com/backupctl/backupctl/internal/testenv"
	"github.com/backupctl/backupctl/storage/storagetest"
)

// TestDumpConsistentUnderWrites dumps while transfers between accounts commit, each moving one
// unit and logging it in another table, and checks on the restored copy that balances and the
// ledger agree: both tables come from one snapshot. A MyISAM table written by the same
// transfers must agree with them too: it is read under the lock taken inside the block.
func TestDumpConsistentUnderWrites(t *testing.T) {
	t.Run("default", func(t *testing.T) { dumpConsistentUnderWrites(t, Options{}, false) })
	// Four connections and frames of 16 KiB: the ledger is read as many key ranges by
	// different connections while transfers commit; they must all see one snapshot.
	t.Run("parallel-chunked", func(t *testing.T) { dumpConsistentUnderWrites(t, Options{Parallel: 4, FrameBytes: 16 << 10}, true) })
}

func dumpConsistentUnderWrites(t *testing.T, opts Options, chunked bool) {
	s := dumpTestEnv(t)
	db := testenv.UniqueName("bk_consist")
	s.dumpDropAtEnd(t, db)
	q := sqltext.QuoteIdent(db)
	dumpClient(t, s.src, []byte("CREATE DATABASE "+q+";\nUSE "+q+";\n"+
		"CREATE TABLE acct (id INT PRIMARY KEY, bal INT NOT NULL);\n"+
		"INSERT INTO acct SELECT seq, 100 FROM seq_1_to_100;\n"+
		"CREATE TABLE ledger (n BIGINT AUTO_INCREMENT PRIMARY KEY, src INT, dst INT, pad BLOB);\n"+
		"INSERT INTO ledger (src, dst, pad) SELECT 0, 0, REPEAT('p', 2000) FROM seq_1_to_20000;\n"+
		"CREATE TABLE mlog (n BIGINT AUTO_INCREMENT PRIMARY KEY) ENGINE = MyISAM;\n"))

	w := dumpOpenDB(t, s.src)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var transfers int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			a, b := 1+rand.IntN(100), 1+rand.IntN(100)
			tx, err := w.BeginTx(ctx, nil)
			if err != nil {
				return
			}
			_, err1 := tx.ExecContext(ctx, "UPDATE "+q+".acct SET bal = bal - 1 WHERE id = ?", a)
			_, err2 := tx.ExecContext(ctx, "UPDATE "+q+".acct SET bal = bal + 1 WHERE id = ?", b)
			_, err3 := tx.ExecContext(ctx, "INSERT INTO "+q+".ledger (src, dst) VALUES (?, ?)", a, b)
			if err1 != nil || err2 != nil || err3 != nil || tx.Commit() != nil {
				_ = tx.Rollback()
				return
			}
			transfers++
		}
	}()
	time.Sleep(200 * time.Millisecond)
	var logs bytes.Buffer
	b, dir := storagetest.Local(t)
	opts.Databases, opts.Logger = []string{db}, slog.New(slog.NewJSONHandler(&logs, nil))
	res, err := Run(t.Context(), s.src, b, opts)
	time.Sleep(200 * time.Millisecond)
	cancel()
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if transfers == 0 {
		t.Fatal("no transfer committed during the test")
	}
	if res.Binlog == nil || res.Binlog.File == "" || res.Binlog.Position == 0 {
		t.Errorf("binlog position not recorded: %+v (binary logging is on in the test server)", res.Binlog)
	}
	if chunked {
		m, err := format.LoadManifest(t.Context(), b, res.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, tb := range m.Databases[0].Tables {
			if tb.Name == "ledger" && len(tb.Chunks) < 8 {
				t.Fatalf("ledger has %d chunks, want it read in many ranges", len(tb.Chunks))
			}
		}
	}
	dumpReplay(t, s.dst, dir+"/"+res.Key, format.CompressZstd)
	sum := dumpQuery(t, s.dstDB, "SELECT SUM(bal) FROM "+q+".acct")
	if sum[0][0] != "'10000'" {
		t.Fatalf("restored balances sum to %s, want 10000", sum[0][0])
	}
	diff := dumpQuery(t, s.dstDB, "SELECT COUNT(*) FROM "+q+".acct a WHERE a.bal <> 100 - (SELECT COUNT(*) FROM "+q+".ledger WHERE src = a.id) + (SELECT COUNT(*) FROM "+q+".ledger WHERE dst = a.id)")
	if diff[0][0] != "'0'" {
		t.Fatalf("%s accounts disagree with the ledger: the tables come from different moments", diff[0][0])
	}
	t.Logf("%d transfers committed around the dump; restored %d ledger rows", transfers, res.Rows)
	t.Logf("log:\n%s", logs.String())

	// Progress went to the logger as structured events.
	var sawTable, sawProgress bool
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		switch ev["msg"] {
		case "table dumped":
			sawTable = true
		case "dump progress":
			sawProgress = ev["tables_total"] == float64(3) && ev["bytes"] != nil && ev["mb_per_s"] != nil
		}
	}
	if !sawTable || !sawProgress {
		t.Errorf("progress events missing from the log:\n%s", logs.String())
	}
}

func TestDumpRejectsBadOptions(t *testing.T) {
	b := backuptest.NewMemBucket()
	if _, err := Run(t.Context(), dbconn.Config{Host: "127.0.0.1", Port: 1}, b, Options{Compression: "lz4"}); err == nil || !strings.Contains(err.Error(), "lz4") {
		t.Errorf("compression lz4: %v", err)
	}
	if _, err := Run(t.Context(), dbconn.Config{Host: "127.0.0.1", Port: 1}, b, Options{ID: "../x"}); err == nil || !strings.Contains(err.Error(), "not valid") {
		t.Errorf("id ../x: %v", err)
	}
	if len(b.Puts) != 0 {
		t.Errorf("uploaded %v", b.Puts)
	}
	id := format.NewID(time.Date(2024, 1, 31, 12, 0, 0, 0, time.UTC))
	if !strings.HasPrefix(id, "20240131T120000Z-") || len(id) != len("20240131T120000Z-a1b2c3") || format.CheckID(id) != nil {
		t.Errorf("NewID = %q", id)
	}
}

// TestDumpMemoryBounded dumps a table several times larger than the heap it may use: the dump
// streams, it never holds a table or the object in memory.
func TestDumpMemoryBounded(t *testing.T) {
	s := dumpTestEnv(t)
	db := testenv.UniqueName("bk_mem")
	s.dumpDropAtEnd(t, db)
	dumpClient(t, s.src, []byte("CREATE DATABASE "+sqltext.QuoteIdent(db)+";\nUSE "+sqltext.QuoteIdent(db)+";\n"+
		"CREATE TABLE t (id INT PRIMARY KEY, v BLOB);\n"+
		"INSERT INTO t SELECT seq, RANDOM_BYTES(1024) FROM seq_1_to_60000;\n")) // ~60 MB, ~120 MB as hex
	b, _ := storagetest.Local(t)
	runtime.GC()
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	}()
	res, err := Run(t.Context(), s.src, b, Options{Databases: []string{db}, Compression: format.CompressGzip})
	close(done)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("raw %d MB, stored %d MB, peak heap in use %d MB", res.RawSize>>20, res.Size>>20, peak.Load()>>20)
	if res.RawSize < 100<<20 {
		t.Fatalf("the dump is only %d bytes", res.RawSize)
	}
	if peak.Load() > 48<<20 {
		t.Errorf("peak heap %d MB while dumping %d MB", peak.Load()>>20, res.RawSize>>20)
	}
}

// TestDumpRefusesExistingID: a given id that names a backup is refused before anything runs,
// since a failure would delete the existing backup.
func TestDumpRefusesExistingID(t *testing.T) {
	b := backuptest.NewMemBucket()
	const id = "20240101T000000Z-cccccc"
	backuptest.FakeBackup(t, b, id, format.CompressZstd, format.Footer(id))
	before := b.Keys()
	_, err := Run(t.Context(), dbconn.Config{Host: "127.0.0.1", Port: 1}, b, Options{ID: id})
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("Dump = %v", err)
	}
	if after := b.Keys(); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Fatalf("bucket changed: %v -> %v", before, after)
	}
}
