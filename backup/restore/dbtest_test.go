package restore_test

// Round trips on the shared data sets, compared with internal/dbtest. This is an external test
// package because dbtest imports backup.

import (
	"database/sql"
	"errors"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/backup/restore"
	"github.com/backupctl/backupctl/backup/sqltext"
	"github.com/backupctl/backupctl/internal/dbtest"
	"github.com/backupctl/backupctl/internal/testenv"
	"github.com/backupctl/backupctl/storage"
	"github.com/backupctl/backupctl/storage/storagetest"
)

// restoreMinIO opens the test bucket under a prefix of its own, emptied when the test ends.
func restoreMinIO(t *testing.T) storage.Bucket {
	t.Helper()
	return storagetest.MinIO(t, "restore-test/"+testenv.UniqueName("ds"))
}

func TestRestoreDatasetRoundTrips(t *testing.T) {
	src, dst := dbtest.Source(t), dbtest.Target(t)
	b := restoreMinIO(t)
	for _, ds := range append(dbtest.Cases(t, "sakila"), dbtest.Case{Name: "adversarial", Load: dbtest.LoadAdversarial}) {
		t.Run(ds.Name, func(t *testing.T) {
			name := src.CreateDatabase(t, "rst_"+ds.Name)
			ds.Load(t, src, name)
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

// TestRestoreDatasetOneTable restores one table that has a trigger: of the sample database
// order_items, of Sakila payment.
func TestRestoreDatasetOneTable(t *testing.T) {
	src, dst := dbtest.Source(t), dbtest.Target(t)
	b := restoreMinIO(t)
	table := map[string]string{"sample": "order_items", "sakila": "payment"}
	for _, c := range dbtest.Cases(t, "sakila") {
		t.Run(c.Name, func(t *testing.T) { restoreOneTable(t, src, dst, b, c, table[c.Name]) })
	}
}

func restoreOneTable(t *testing.T, src, dst *dbtest.Server, b storage.Bucket, c dbtest.Case, table string) {
	name := src.CreateDatabase(t, "rst_tbl_"+c.Name)
	c.Load(t, src, name)
	res, err := backup.Dump(t.Context(), src.Config(), b, backup.DumpOptions{Databases: []string{name}})
	if err != nil {
		t.Fatalf("dump: %v", err)
	}
	m, err := backup.LoadManifest(t.Context(), b, res.ID)
	if err != nil {
		t.Fatal(err)
	}
	dst.DropAtEnd(t, name)

	cb := storagetest.NewFaulty(b)
	// The table's foreign keys refer to tables that are not restored: they are left out.
	rep, err := backup.Restore(t.Context(), dst.Config(), cb, res.ID, backup.RestoreOptions{Tables: []string{name + "." + table}, WithoutForeignKeys: true})
	if err != nil {
		t.Fatal(err)
	}
	a, d := dbtest.InventoryOf(t, src, name), dbtest.InventoryOf(t, dst, name)
	if len(d.Tables) != 1 || d.Tables[table] == nil {
		t.Fatalf("target holds tables %v; want %s only", d.Tables, table)
	}
	ta, td := a.Tables[table], d.Tables[table]
	// SHOW CREATE TABLE puts each foreign key on a line of its own.
	fks := regexp.MustCompile("(?m)^  CONSTRAINT .* FOREIGN KEY .*\n")
	if n := len(fks.FindAllString(ta.Create, -1)); n == 0 || n != strings.Count(strings.Join(rep.Warnings, "\n"), "left out (--without-foreign-keys)") {
		t.Errorf("%s has %d foreign keys; warnings %q", table, n, rep.Warnings)
	}
	if strings.Replace(fks.ReplaceAllString(ta.Create, ""), ",\n)", "\n)", 1) != td.Create || ta.Checksum != td.Checksum || ta.RowHash != td.RowHash || ta.Rows != td.Rows {
		t.Errorf("%s differs:\nsource %+v\ntarget %+v", table, ta, td)
	}
	if rep.Rows != ta.Rows {
		t.Errorf("report rows %d, want %d", rep.Rows, ta.Rows)
	}
	// The table has a trigger: it comes with the table.
	triggers := 0
	for k, o := range a.Triggers {
		if strings.Contains(o.Fields["order"], `ON "`+table+`"`) {
			triggers++
			if _, ok := d.Triggers[k]; !ok {
				t.Errorf("trigger %s of %s was not restored", k, table)
			}
		} else if _, ok := d.Triggers[k]; ok {
			t.Errorf("trigger %s of another table was restored", k)
		}
	}
	if triggers == 0 {
		t.Errorf("%s has no trigger in the source: the test would not see triggers come with a table", table)
	}

	// Only the header, the table's ranges and the post section (for its triggers) were read.
	var db *backup.Database
	for i := range m.Databases {
		if m.Databases[i].Name == name {
			db = &m.Databases[i]
		}
	}
	var allowed []span
	var tableBytes int64
	for _, r := range []backup.Range{m.Header, db.Post} {
		allowed = append(allowed, span{r.Offset, r.Offset + r.Length})
	}
	for _, tb := range db.Tables {
		if tb.Name == table {
			allowed = append(allowed, span{tb.Schema.Offset, tb.Schema.Offset + tb.Schema.Length}, span{tb.Data.Offset, tb.Data.Offset + tb.Data.Length})
			tableBytes = tb.Data.Length
		}
	}
	read, ranges := readOnlyWithin(t, cb, m.Object.Key, allowed)
	t.Logf("--table %s read %d of %d object bytes in %d ranges (its data is %d)", table, read, m.Object.Size, len(ranges), tableBytes)
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
	for _, c := range dbtest.Cases(t, "sakila") {
		t.Run(c.Name, func(t *testing.T) { restoreParallelChunks(t, src, dst, b, c) })
	}
}

func restoreParallelChunks(t *testing.T, src, dst *dbtest.Server, b storage.Bucket, c dbtest.Case) {
	name := src.CreateDatabase(t, "rst_chunks_"+c.Name)
	c.Load(t, src, name)
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
		short := editObject(b, m.Object.Key, "object cut short", cutAt(cut.Offset+cut.Length/2))
		if _, err := backup.Verify(t.Context(), short, m); !errors.Is(err, backup.ErrVerify) || !strings.Contains(err.Error(), "truncated") {
			t.Errorf("verify of an object cut inside a chunk: %v", err)
		}
	})
	t.Run("verify first, four connections", func(t *testing.T) {
		dst.DropAtEnd(t, name)
		cb := storagetest.NewFaulty(b)
		rep, err := backup.Restore(t.Context(), dst.Config(), cb, res.ID, backup.RestoreOptions{Parallel: 4})
		if err != nil {
			t.Fatal(err)
		}
		dbtest.Compare(t, src, name, dst, name)
		if rep.Rows != res.Rows || len(rep.Warnings) > 0 {
			t.Errorf("restored %d rows, the dump had %d (%q)", rep.Rows, res.Rows, rep.Warnings)
		}
		if n := cb.Count(storagetest.MethodGetRange, ""); n <= len(m.Databases[0].Tables) {
			t.Errorf("%d ranged reads for %d tables: the chunks were not loaded as jobs of their own", n, len(m.Databases[0].Tables))
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
		ch := tb.Chunks[len(tb.Chunks)/2]
		bad := editObject(b, m.Object.Key, "changed chunk", storagetest.FlipByte(ch.Offset+ch.Length/2))
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

// editObject serves key of b through wrap, to whole and ranged reads alike.
func editObject(b storage.Bucket, key, name string, wrap func(io.ReadCloser, int64) io.ReadCloser) *storagetest.Faulty {
	f := storagetest.NewFaulty(b)
	for _, m := range []storagetest.Method{storagetest.MethodGet, storagetest.MethodGetRange} {
		f.AddFault(m, &storagetest.Fault{Name: name, Key: key, Wrap: wrap})
	}
	return f
}

// cutAt is a Fault.Wrap that ends the object after size bytes, as a clean end of data; Stat
// still gives the full size.
func cutAt(size int64) func(io.ReadCloser, int64) io.ReadCloser {
	return func(rc io.ReadCloser, off int64) io.ReadCloser {
		return struct {
			io.Reader
			io.Closer
		}{io.LimitReader(rc, max(0, size-off)), rc}
	}
}
