package restore_test

// Round trips on the shared data sets, compared with internal/dbtest. This is an external test
// package because dbtest imports backup.

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/backup/restore"
	"github.com/backupctl/backupctl/backup/sqltext"
	"github.com/backupctl/backupctl/internal/dbtest"
	"github.com/backupctl/backupctl/storage"
)

// restoreMinIO opens the test bucket under a prefix of its own, emptied when the test ends.
func restoreMinIO(t *testing.T) storage.Bucket {
	t.Helper()
	if testing.Short() {
		t.Skip("needs MinIO; not under -short")
	}
	for _, k := range []string{"BACKUP_S3_ENDPOINT", "BACKUP_S3_BUCKET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		if os.Getenv(k) == "" {
			t.Fatalf("%s is not set: run `make up` and source .stack/env", k)
		}
	}
	b, err := storage.Open(t.Context(), storage.Config{
		URL: os.Getenv("BACKUP_S3_ENDPOINT"), Bucket: os.Getenv("BACKUP_S3_BUCKET"), Prefix: "restore-test/" + dbtest.UniqueName("ds"),
		Region: os.Getenv("BACKUP_S3_REGION"), AccessKey: os.Getenv("AWS_ACCESS_KEY_ID"), SecretKey: os.Getenv("AWS_SECRET_ACCESS_KEY"),
	})
	if err != nil {
		t.Fatalf("open MinIO: %v (run `make up` and source .stack/env)", err)
	}
	t.Cleanup(func() {
		ctx := context.WithoutCancel(context.Background())
		objs, err := b.List(ctx, "")
		if err != nil {
			return
		}
		for _, o := range objs {
			_ = b.Delete(ctx, o.Key)
		}
	})
	return b
}

// restoreRangeCounter records whole and ranged reads of the bucket.
type restoreRangeCounter struct {
	storage.Bucket
	mu     sync.Mutex
	gets   []string
	ranges [][2]int64
}

func (c *restoreRangeCounter) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	c.mu.Lock()
	c.gets = append(c.gets, key)
	c.mu.Unlock()
	return c.Bucket.Get(ctx, key)
}

func (c *restoreRangeCounter) GetRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	c.mu.Lock()
	c.ranges = append(c.ranges, [2]int64{off, n})
	c.mu.Unlock()
	return c.Bucket.GetRange(ctx, key, off, n)
}

func TestRestoreDatasetRoundTrips(t *testing.T) {
	src, dst := dbtest.Source(t), dbtest.Target(t)
	b := restoreMinIO(t)
	for _, ds := range []struct {
		name string
		load func(testing.TB, *dbtest.Server, string)
	}{
		{"sakila", dbtest.LoadSakila},
		{"adversarial", dbtest.LoadAdversarial},
	} {
		t.Run(ds.name, func(t *testing.T) {
			name := src.CreateDatabase(t, "rst_"+ds.name)
			ds.load(t, src, name)
			res, err := backup.Dump(t.Context(), src.Config(), b, backup.DumpOptions{Databases: []string{name}})
			if err != nil {
				t.Fatalf("dump: %v", err)
			}
			// The name is unique, so the target does not hold it; drop the copy at the end.
			dst.DropAtEnd(t, name)

			t.Run("full into the second server", func(t *testing.T) {
				rep, err := backup.Restore(t.Context(), dst.Config(), b, res.ID, backup.RestoreOptions{})
				if err != nil {
					t.Fatal(err)
				}
				dbtest.Compare(t, src, name, dst, name)
				if rep.Rows != res.Rows || rep.Tables != res.Tables {
					t.Errorf("restored %d tables, %d rows; the dump had %d, %d (%q)", rep.Tables, rep.Rows, res.Tables, res.Rows, rep.Warnings)
				}
			})
			t.Run("under a new name beside the original", func(t *testing.T) {
				into := src.CreateDatabase(t, "rst_into")
				src.Exec(t, "DROP DATABASE "+dbtest.QuoteIdent(into))
				if _, err := backup.Restore(t.Context(), src.Config(), b, res.ID, backup.RestoreOptions{Into: into}); err != nil {
					t.Fatal(err)
				}
				restoreCompareRenamed(t, src, name, src, into)
			})
			t.Run("an existing non-empty target is refused", func(t *testing.T) {
				before := dbtest.InventoryOf(t, dst, name)
				_, err := backup.Restore(t.Context(), dst.Config(), b, res.ID, backup.RestoreOptions{})
				if !errors.Is(err, backup.ErrTargetNotEmpty) {
					t.Errorf("err %v, want ErrTargetNotEmpty", err)
				}
				if d := dbtest.Diff(before, dbtest.InventoryOf(t, dst, name)); len(d) > 0 {
					t.Errorf("a refused restore changed the target: %q", d)
				}
			})
			t.Run("dry run changes nothing", func(t *testing.T) {
				before := dbtest.InventoryOf(t, dst, name)
				rep, err := backup.Restore(t.Context(), dst.Config(), b, res.ID, backup.RestoreOptions{DryRun: true, DropExisting: true})
				if err != nil {
					t.Fatal(err)
				}
				if d := dbtest.Diff(before, dbtest.InventoryOf(t, dst, name)); len(d) > 0 {
					t.Errorf("a dry run changed the target: %q", d)
				}
				if rep.Rows != res.Rows || len(rep.Plan) == 0 || !strings.Contains(rep.Plan[0].Action, "drop and replace") {
					t.Errorf("dry-run report: %d rows (want %d), plan %+v", rep.Rows, res.Rows, rep.Plan)
				}
			})
		})
	}
}

func TestRestoreDatasetOneTable(t *testing.T) {
	src, dst := dbtest.Source(t), dbtest.Target(t)
	b := restoreMinIO(t)
	name := src.CreateDatabase(t, "rst_tbl_sakila")
	dbtest.LoadSakila(t, src, name)
	res, err := backup.Dump(t.Context(), src.Config(), b, backup.DumpOptions{Databases: []string{name}})
	if err != nil {
		t.Fatalf("dump: %v", err)
	}
	m, err := backup.LoadManifest(t.Context(), b, res.ID)
	if err != nil {
		t.Fatal(err)
	}
	dst.DropAtEnd(t, name)

	cb := &restoreRangeCounter{Bucket: b}
	rep, err := backup.Restore(t.Context(), dst.Config(), cb, res.ID, backup.RestoreOptions{Tables: []string{name + ".payment"}})
	if err != nil {
		t.Fatal(err)
	}
	a, d := dbtest.InventoryOf(t, src, name), dbtest.InventoryOf(t, dst, name)
	if len(d.Tables) != 1 || d.Tables["payment"] == nil {
		t.Fatalf("target holds tables %v; want payment only", d.Tables)
	}
	ta, td := a.Tables["payment"], d.Tables["payment"]
	if ta.Create != td.Create || ta.Checksum != td.Checksum || ta.RowHash != td.RowHash || ta.Rows != td.Rows {
		t.Errorf("payment differs:\nsource %+v\ntarget %+v", ta, td)
	}
	if rep.Rows != ta.Rows {
		t.Errorf("report rows %d, want %d", rep.Rows, ta.Rows)
	}
	// payment has a trigger (payment_date): it comes with the table.
	for k, o := range a.Triggers {
		if strings.Contains(o.Fields["order"], `ON "payment"`) {
			if _, ok := d.Triggers[k]; !ok {
				t.Errorf("trigger %s of payment was not restored", k)
			}
		} else if _, ok := d.Triggers[k]; ok {
			t.Errorf("trigger %s of another table was restored", k)
		}
	}

	// Only the header, the table's ranges and the post section (for its triggers) were read.
	var db *backup.Database
	for i := range m.Databases {
		if m.Databases[i].Name == name {
			db = &m.Databases[i]
		}
	}
	allowed := []backup.Range{m.Header, db.Post}
	var tableBytes int64
	for _, tb := range db.Tables {
		if tb.Name == "payment" {
			allowed = append(allowed, tb.Schema, tb.Data)
			tableBytes = tb.Data.Length
		}
	}
	for _, k := range cb.gets {
		if k == m.Object.Key {
			t.Errorf("--table read the whole object")
		}
	}
	var read int64
	for _, r := range cb.ranges {
		read += r[1]
		ok := false
		for _, a := range allowed {
			ok = ok || (r[0] >= a.Offset && r[0]+r[1] <= a.Offset+a.Length)
		}
		if !ok {
			t.Errorf("--table read [%d, +%d), outside its ranges", r[0], r[1])
		}
	}
	t.Logf("--table payment read %d of %d object bytes in %d ranges (payment's data is %d)", read, m.Object.Size, len(cb.ranges), tableBytes)
}

// restoreCompareRenamed is dbtest.Compare for a copy under another name: SHOW CREATE DATABASE
// carries the name itself, which dbtest does not normalise (everything else it does).
func restoreCompareRenamed(t *testing.T, a *dbtest.Server, dbA string, b *dbtest.Server, dbB string) {
	t.Helper()
	ia, ib := dbtest.InventoryOf(t, a, dbA), dbtest.InventoryOf(t, b, dbB)
	ib.Create = strings.Replace(ib.Create, dbtest.QuoteIdent(dbB), dbtest.QuoteIdent(dbA), 1)
	for _, d := range dbtest.Diff(ia, ib) {
		t.Errorf("%s vs %s: %s", ia.Label, ib.Label, d)
	}
}

// TestRestoreDatasetParallelChunks loads tables cut into many chunks over several connections at
// once, from a verified object and with the verification running alongside, and compares.
func TestRestoreDatasetParallelChunks(t *testing.T) {
	src, dst := dbtest.Source(t), dbtest.Target(t)
	b := restoreMinIO(t)
	name := src.CreateDatabase(t, "rst_chunks")
	dbtest.LoadSakila(t, src, name)
	opts := backup.DumpOptions{Databases: []string{name}, Parallel: 3}
	restore.SetFrameBytes(&opts, 16<<10)
	res, err := backup.Dump(t.Context(), src.Config(), b, opts)
	if err != nil {
		t.Fatalf("dump: %v", err)
	}
	m, err := backup.LoadManifest(t.Context(), b, res.ID)
	if err != nil {
		t.Fatal(err)
	}
	chunked := 0
	for _, tb := range m.Databases[0].Tables {
		if len(tb.Chunks) >= 4 {
			chunked++
		}
	}
	if chunked < 2 {
		t.Fatalf("only %d tables of the dump have 4 chunks or more: the test would not load a table over several connections", chunked)
	}
	var tb backup.Table // the table with the most chunks
	for _, x := range m.Databases[0].Tables {
		if len(x.Chunks) > len(tb.Chunks) {
			tb = x
		}
	}

	t.Run("verification of chunked tables", func(t *testing.T) {
		if rep, err := backup.Verify(t.Context(), b, m); err != nil || !rep.Verified || rep.RawBytes != m.Object.RawSize {
			t.Fatalf("verify: %+v, %v", rep, err)
		}
		// Chunks that do not tile their table's data are a wrong manifest: a restore reads them.
		shifted := *m
		shifted.Databases = append([]backup.Database(nil), m.Databases...)
		shifted.Databases[0].Tables = append([]backup.Table(nil), m.Databases[0].Tables...)
		for i, tb := range shifted.Databases[0].Tables {
			if len(tb.Chunks) >= 4 {
				tb.Chunks = append([]backup.Range(nil), tb.Chunks...)
				tb.Chunks[1].Offset++
				shifted.Databases[0].Tables[i] = tb
				break
			}
		}
		if _, err := backup.Verify(t.Context(), b, &shifted); !errors.Is(err, backup.ErrVerify) || !strings.Contains(err.Error(), "do not tile") {
			t.Errorf("verify with a shifted chunk: %v", err)
		}
		// An object cut short inside a chunked table is reported as truncated.
		cut := tb.Chunks[len(tb.Chunks)/2]
		short := truncBucket(b, m.Object.Key, cut.Offset+cut.Length/2)
		if _, err := backup.Verify(t.Context(), short, m); !errors.Is(err, backup.ErrVerify) || !strings.Contains(err.Error(), "truncated") {
			t.Errorf("verify of an object cut inside a chunk: %v", err)
		}
	})
	t.Run("verify first, four connections", func(t *testing.T) {
		dst.DropAtEnd(t, name)
		cb := &restoreRangeCounter{Bucket: b}
		rep, err := backup.Restore(t.Context(), dst.Config(), cb, res.ID, backup.RestoreOptions{Parallel: 4})
		if err != nil {
			t.Fatal(err)
		}
		dbtest.Compare(t, src, name, dst, name)
		if rep.Rows != res.Rows || len(rep.Warnings) > 0 {
			t.Errorf("restored %d rows, the dump had %d (%q)", rep.Rows, res.Rows, rep.Warnings)
		}
		if len(cb.ranges) <= len(m.Databases[0].Tables) {
			t.Errorf("%d ranged reads for %d tables: the chunks were not loaded as jobs of their own", len(cb.ranges), len(m.Databases[0].Tables))
		}
	})
	t.Run("a deadlock is replayed from the last commit", func(t *testing.T) {
		into := name + "_deadlock"
		dst.DropAtEnd(t, into)
		// Roll back and fail one statement past the first commit of a job, as InnoDB does to
		// the victim of a deadlock: the job must replay what was not committed, and only that.
		prefix := "INSERT INTO " + sqltext.QuoteIdent(tb.Name) + " "
		var mu sync.Mutex
		seen, failed := 0, false
		restore.SetRestoreExecHook(t, func(conn *sql.Conn, q string) error {
			if !strings.HasPrefix(q, prefix) {
				return nil
			}
			mu.Lock()
			defer mu.Unlock()
			if seen++; seen != restore.TxStatements+5 || failed {
				return nil
			}
			failed = true
			if _, err := conn.ExecContext(t.Context(), "ROLLBACK"); err != nil {
				return err
			}
			return &mysql.MySQLError{Number: 1213, Message: "Deadlock found when trying to get lock (injected)"}
		})
		rep, err := backup.Restore(t.Context(), dst.Config(), b, res.ID, backup.RestoreOptions{Parallel: 2, Into: into})
		if err != nil {
			t.Fatal(err)
		}
		if !failed {
			t.Fatalf("%s has %d INSERT statements: no deadlock was injected", tb.Name, seen)
		}
		restoreCompareRenamed(t, src, name, dst, into)
		if rep.Rows != res.Rows {
			t.Errorf("restored %d rows, the dump had %d", rep.Rows, res.Rows)
		}
	})
	t.Run("verified alongside, under a new name", func(t *testing.T) {
		into := name + "_copy"
		dst.DropAtEnd(t, into)
		if _, err := backup.Restore(t.Context(), dst.Config(), b, res.ID, backup.RestoreOptions{Parallel: 3, NoVerifyFirst: true, Into: into}); err != nil {
			t.Fatal(err)
		}
		restoreCompareRenamed(t, src, name, dst, into)
	})
	t.Run("a changed chunk fails the restore and says so", func(t *testing.T) {
		into := name + "_bad"
		dst.DropAtEnd(t, into)
		c := tb.Chunks[len(tb.Chunks)/2]
		bad := flipBucket(b, m.Object.Key, c.Offset+c.Length/2)
		// The verification decodes such a table's chunks several at once: the changed chunk is
		// found there too, and named as a decompression or checksum failure of the table.
		if _, err := backup.Verify(t.Context(), bad, m); !errors.Is(err, backup.ErrVerify) || !strings.Contains(err.Error(), tb.Name) && !strings.Contains(err.Error(), "checksum mismatch") {
			t.Errorf("verify of a changed chunk: %v", err)
		}
		_, err := backup.Restore(t.Context(), dst.Config(), bad, res.ID, backup.RestoreOptions{Parallel: 3, NoVerifyFirst: true, Into: into})
		if !errors.Is(err, backup.ErrVerify) || !strings.Contains(err.Error(), "partial") && !strings.Contains(err.Error(), "nothing was applied") {
			t.Errorf("err %v; want a verification failure that says whether the target is partial", err)
		}
	})
}

// editBucket serves its object through wrap, to whole (off 0) and ranged reads alike.
type editBucket struct {
	storage.Bucket
	key  string
	wrap func(rc io.ReadCloser, off int64) io.ReadCloser
}

func (e *editBucket) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	return e.GetRange(ctx, key, 0, -1)
}

func (e *editBucket) GetRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	var rc io.ReadCloser
	var err error
	if n < 0 {
		rc, err = e.Bucket.Get(ctx, key)
	} else {
		rc, err = e.Bucket.GetRange(ctx, key, off, n)
	}
	if err != nil || key != e.key {
		return rc, err
	}
	return e.wrap(rc, off), nil
}

// flipBucket serves its object with the byte at offset at changed.
func flipBucket(b storage.Bucket, key string, at int64) *editBucket {
	return &editBucket{Bucket: b, key: key, wrap: func(rc io.ReadCloser, off int64) io.ReadCloser {
		return &flipReader{ReadCloser: rc, pos: off, at: at}
	}}
}

// truncBucket serves its object cut short after size bytes; Stat still gives the full size.
func truncBucket(b storage.Bucket, key string, size int64) *editBucket {
	return &editBucket{Bucket: b, key: key, wrap: func(rc io.ReadCloser, off int64) io.ReadCloser {
		return struct {
			io.Reader
			io.Closer
		}{io.LimitReader(rc, max(0, size-off)), rc}
	}}
}

type flipReader struct {
	io.ReadCloser
	pos, at int64
}

func (r *flipReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if r.at >= r.pos && r.at < r.pos+int64(n) {
		p[r.at-r.pos] ^= 0x55
	}
	r.pos += int64(n)
	return n, err
}
