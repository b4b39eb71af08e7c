package restore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"
	"golang.org/x/sync/errgroup"

	"github.com/backupctl/backupctl/backup/dbconn"
	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/backup/sqltext"
	"github.com/backupctl/backupctl/storage"
)

// step is one part of a restore in stream order: sections applied one after another on the
// main connection (header, CREATE DATABASE, table definitions, views, routines, triggers), or a
// run of data sections, whose rows the workers load in parallel.
type step struct {
	seq  []*section
	data []*section
}

// steps cuts the sections into steps. Every table of a database is defined before its
// data step starts, and its post section (triggers above all) comes after the step has ended.
func steps(secs []*section) []step {
	var out []step
	for _, s := range secs {
		isData := s.kind == kindData
		if n := len(out); n > 0 && (len(out[n-1].data) > 0) == isData {
			if isData {
				out[n-1].data = append(out[n-1].data, s)
			} else {
				out[n-1].seq = append(out[n-1].seq, s)
			}
			continue
		}
		if isData {
			out = append(out, step{data: []*section{s}})
		} else {
			out = append(out, step{seq: []*section{s}})
		}
	}
	return out
}

// jobBytes is how much uncompressed SQL one job loads: one ranged read and one
// transaction over a run of a table's chunks. On 1 GB of sysbench-like rows, 2 connections
// (27.3-28.3 s) were faster with 32 MiB than with 8 MiB (29.3-29.6 s) or 2 MiB (29.5 s).
const jobBytes = 32 << 20

// job is one ranged read whose statements a worker applies in one transaction (or a few,
// for a large unchunked table).
type job struct {
	sp  *span
	sec *section // the table's whole data section
}

// makeJobs splits data sections into jobs, in stream order: a table's jobs follow its primary
// key. With chunks, a table's data is cut into runs of chunks of about jobBytes, so that the
// workers can share one large table once no other is left; each chunk starts with SET NAMES
// binary and ends at a statement boundary (see Table.Chunks). A job over part of a section
// cannot check the section's SHA-256, so chunks are used only when the object is verified as a
// whole, before or alongside the restore; otherwise each section is one job, checked against
// its SHA-256 as it streams.
func makeJobs(data []*section, chunked bool) []job {
	var out []job
	for _, sec := range data {
		if !chunked || len(sec.table.Chunks) < 2 {
			out = append(out, job{sec: sec, sp: &span{sections: []*section{sec}}})
			continue
		}
		var cur *section
		for _, c := range sec.table.Chunks {
			if cur != nil && cur.r.RawLength+c.RawLength <= jobBytes {
				cur.r.Length += c.Length
				cur.r.RawLength += c.RawLength
				continue
			}
			part := *sec
			part.r, part.sha = c, ""
			cur = &part
			out = append(out, job{sec: sec, sp: &span{sections: []*section{cur}}})
		}
	}
	for _, j := range out { // each span is its one section's range, known once runs are grown
		r := j.sp.sections[0].r
		j.sp.offset, j.sp.length, j.sp.rawOffset, j.sp.rawLength = r.Offset, r.Length, r.RawOffset, r.RawLength
	}
	return out
}

// tableLoad is one table's jobs, in primary-key order, and how far its load is.
type tableLoad struct {
	sec     *section
	jobs    []job
	next    int   // the next job to hand out
	running int   // jobs handed out and not finished
	left    int64 // raw bytes of the jobs not handed out
}

// queue hands the jobs of a step to the workers. A worker keeps to one table, its jobs in
// primary-key order, as long as some table has not been started: a table then takes the
// buffer pool only for its primary key's last pages and its indexes, one table per worker,
// where loading every table at once (or one table's chunks out of order) spreads the inserts
// over every tree and, once the data outgrows the buffer pool, costs a read per row. Tables
// are started largest first, so the last ones are small; a worker without a table of its own
// joins the started table with the most left to load.
type queue struct {
	mu     sync.Mutex
	tables []*tableLoad
}

func newQueue(jobs []job) *queue {
	q := &queue{}
	at := map[*format.Table]*tableLoad{}
	for _, j := range jobs {
		t := at[j.sec.table]
		if t == nil {
			t = &tableLoad{sec: j.sec}
			at[j.sec.table] = t
			q.tables = append(q.tables, t)
		}
		t.jobs = append(t.jobs, j)
		t.left += j.sp.rawLength
	}
	slices.SortStableFunc(q.tables, func(a, b *tableLoad) int { return cmp.Compare(b.left, a.left) })
	return q
}

// take hands out the next job to a worker whose last job was of cur (nil before its first);
// ok is false when every job has been handed out.
func (q *queue) take(cur *tableLoad) (t *tableLoad, j job, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if t = q.pick(cur); t == nil {
		return nil, job{}, false
	}
	j = t.jobs[t.next]
	t.next++
	t.running++
	t.left -= j.sp.rawLength
	return t, j, true
}

// pick chooses the table of a worker's next job: its own while it lasts, else the largest
// table not started, else the started one with the most left; nil when none is left.
func (q *queue) pick(cur *tableLoad) *tableLoad {
	if cur != nil && cur.next < len(cur.jobs) {
		return cur
	}
	for _, c := range q.tables {
		if c.next == 0 {
			return c
		}
	}
	var best *tableLoad
	for _, c := range q.tables {
		if c.next < len(c.jobs) && (best == nil || c.left > best.left) {
			best = c
		}
	}
	return best
}

// done records that a job of t has finished and says whether it was the table's last.
func (q *queue) done(t *tableLoad) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	t.running--
	return t.running == 0 && t.next == len(t.jobs)
}

// txStatements is how many data statements (about 1 MiB each) may share one transaction: one
// commit, so one log flush, per batch instead of per statement, while a transaction stays small
// enough for the binlog cache and undo. A job (32 MiB) commits at its end, so this bounds only
// an unchunked table's section, loaded as one job.
const txStatements = 64

// txState keeps a connection's data statements in transactions of txStatements.
type txState struct {
	conn *sql.Conn
	inTx int // statements in the open transaction; 0 when none is open
}

// next is called before each data statement; it says whether it committed the statements
// before it.
func (t *txState) next(ctx context.Context) (committed bool, err error) {
	if t.inTx >= txStatements {
		if err := t.commit(ctx); err != nil {
			return false, err
		}
		committed = true
	}
	if t.inTx == 0 {
		if _, err := t.conn.ExecContext(ctx, "START TRANSACTION"); err != nil {
			return committed, fmt.Errorf("START TRANSACTION: %w", err)
		}
	}
	t.inTx++
	return committed, nil
}

// commit ends the open transaction, if any. A duplicate key found by MariaDB's bulk-insert path
// surfaces here.
func (t *txState) commit(ctx context.Context) error {
	if t.inTx == 0 {
		return nil
	}
	t.inTx = 0
	if _, err := t.conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("COMMIT: %w", err)
	}
	return nil
}

// stmtError names the object, the statement's offset and its start; never its values, neither
// in the preview nor in the server's message (see withholdValue).
func stmtError(sec *section, st sqltext.Statement, q string, err error) error {
	return fmt.Errorf("%s: statement at offset %d (%q): %w", sec.what(), st.Offset, stmtPreview(q), withholdValue(err))
}

// valueErrors are the server errors whose message quotes a row's value: duplicate entry,
// incorrect value for a column, truncated incorrect value, a wrong string for its character set.
var valueErrors = map[uint16]bool{1062: true, 1366: true, 1292: true, 1367: true, 1300: true, 1411: true, 4078: true}

// withholdValue returns err with the value in such a message replaced by '...': the number,
// the state and the rest of the message (the key or column) stay.
func withholdValue(err error) error {
	var me *mysql.MySQLError
	if !errors.As(err, &me) || !valueErrors[me.Number] {
		return err
	}
	msg := me.Message
	i := strings.IndexByte(msg, '\'')
	j := strings.LastIndex(msg, "' for ")
	if j <= i {
		j = strings.LastIndexByte(msg, '\'')
	}
	if i < 0 || j <= i {
		return err
	}
	c := *me
	c.Message = msg[:i] + "'...'" + msg[j+1:]
	return &c
}

// worker is one connection that loads data jobs.
type worker struct {
	conn  *sql.Conn
	close func()
	tx    txState
	db    *dbPlan // the database of the last USE
}

// workerPool loads data steps over up to n connections of their own. Each connection replays
// the header's session settings before its first job, as the stream's reader would have.
type workerPool struct {
	n       int
	cfg     *mysql.Config
	plan    *plan
	b       storage.Bucket
	m       *format.Manifest
	header  []string // the header's statements, captured as the main connection applied them
	workers []*worker
	// execHook, in tests, runs before each data statement and each ALTER TABLE that adds
	// indexes back, and may fail it.
	execHook func(conn *sql.Conn, q string) error
	// deferred are the ALTER TABLEs that add back the indexes of tables created without them.
	deferred map[*format.Table]string
	log      *slog.Logger
}

func (p *workerPool) closeAll() {
	for _, w := range p.workers {
		w.close()
	}
	p.workers = nil
}

// open connects up to n workers (fewer when there are fewer jobs).
func (p *workerPool) open(ctx context.Context, n int) error {
	for len(p.workers) < n {
		w, err := p.connect(ctx)
		if err != nil {
			return err
		}
		p.workers = append(p.workers, w)
	}
	return nil
}

// connect opens a connection in the session a worker loads in: the header's settings, then
// foreign key and unique checks off.
func (p *workerPool) connect(ctx context.Context) (*worker, error) {
	conn, closeConn, err := openConn(ctx, p.cfg.Clone())
	if err != nil {
		return nil, &dbconn.ConnectError{Addr: p.cfg.Addr, Err: err}
	}
	w := &worker{conn: conn, close: closeConn}
	w.tx.conn = conn
	for _, q := range append(p.header, "SET SESSION foreign_key_checks = 0", "SET SESSION unique_checks = 0") {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			closeConn()
			return nil, fmt.Errorf("restore connection: %s: %w", stmtPreview(q), err)
		}
	}
	return w, nil
}

// load applies the data sections of one step and returns the object bytes it read and the rows
// inserted per table.
func (p *workerPool) load(ctx context.Context, data []*section, chunked bool) (int64, map[*format.Table]int64, error) {
	jobs := makeJobs(data, chunked)
	if err := p.open(ctx, min(p.n, len(jobs))); err != nil {
		return 0, nil, err
	}
	var bytes atomic.Int64
	var mu sync.Mutex
	rows := map[*format.Table]int64{}
	q := newQueue(jobs)
	g, gctx := errgroup.WithContext(ctx)
	indexing := make(chan struct{}, p.n) // ALTER TABLEs running at once
	for _, w := range p.workers[:min(p.n, len(jobs))] {
		g.Go(func() error {
			var cur *tableLoad
			for gctx.Err() == nil {
				t, j, ok := q.take(cur)
				if !ok {
					return nil
				}
				cur = t
				n, k, err := p.run(gctx, w, j)
				bytes.Add(n)
				mu.Lock()
				rows[j.sec.table] += k
				mu.Unlock()
				if err != nil {
					return err
				}
				if q.done(t) {
					if alter, ok := p.deferred[t.sec.table]; ok {
						sec := t.sec
						g.Go(func() error { return p.addIndexes(gctx, indexing, sec, alter) })
					}
				}
			}
			return gctx.Err()
		})
	}
	err := g.Wait()
	return bytes.Load(), rows, err
}

// addIndexes runs the ALTER TABLE that adds back the secondary indexes a table was created
// without, once its last job has loaded, on a connection of its own: the worker that loaded the
// table goes on with the next one meanwhile (InnoDB's index build waits on reads of the table
// as much as it computes). At most cap(indexing) run at once.
func (p *workerPool) addIndexes(ctx context.Context, indexing chan struct{}, sec *section, alter string) error {
	select {
	case indexing <- struct{}{}:
		defer func() { <-indexing }()
	case <-ctx.Done():
		return ctx.Err()
	}
	started := time.Now()
	if err := p.alter(ctx, alter); err != nil {
		return fmt.Errorf("%s: adding its secondary indexes after its rows: %w", sec.what(), err)
	}
	p.log.Info("added secondary indexes", "database", sec.db.target, "table", sec.table.Name, "seconds", time.Since(started).Seconds())
	return nil
}

// alter runs q on a connection of its own, in a worker's session.
func (p *workerPool) alter(ctx context.Context, q string) error {
	w, err := p.connect(ctx)
	if err != nil {
		return err
	}
	defer w.close()
	if p.execHook != nil {
		if err := p.execHook(w.conn, q); err != nil {
			return err
		}
	}
	_, err = w.conn.ExecContext(ctx, q)
	return err
}

// run applies one job on w: its statements in transactions, committed at the end of the job.
// A deadlock (which InnoDB resolves by rolling back one whole transaction: two workers starting
// on one empty table can meet in its bulk-insert lock) replays the job from the first statement
// not committed yet, a few times.
func (p *workerPool) run(ctx context.Context, w *worker, j job) (int64, int64, error) {
	if db := j.sec.db; db != w.db { // every job ends committed: no transaction is open here
		q := "USE " + sqltext.QuoteIdent(db.target)
		if _, err := w.conn.ExecContext(ctx, q); err != nil {
			return 0, 0, fmt.Errorf("database %s: %s: %w", db.target, q, err)
		}
		w.db = db
	}
	var committed, committedRows int64 // statements and rows of this job already committed
	for attempt := 1; ; attempt++ {
		var seen int64
		rows := committedRows
		n, err := streamSpan(ctx, p.b, p.m, j.sp, func(ctx context.Context, st sqltext.Statement, sec *section) error {
			if seen++; seen <= committed {
				return nil // committed before a deadlock rolled back what followed
			}
			if err := confine(sec, st); err != nil {
				return err
			}
			q := st.SQL
			if p.plan.rename && isUse(q) {
				q = rewriteStatement(st, sec.db.src.Name, sec.db.target)
			}
			commits, err := w.tx.next(ctx)
			if commits {
				committed, committedRows = seen-1, rows
			}
			if err != nil {
				return fmt.Errorf("%s: %w", sec.what(), err)
			}
			if p.execHook != nil {
				if err := p.execHook(w.conn, q); err != nil {
					return stmtError(sec, st, q, err)
				}
			}
			res, err := w.conn.ExecContext(ctx, q)
			if err != nil {
				return stmtError(sec, st, q, err)
			}
			if k, err := res.RowsAffected(); err == nil {
				rows += k
			}
			return nil
		})
		if err == nil {
			err = w.tx.commit(ctx)
			if err != nil {
				err = fmt.Errorf("%s: %w", j.sec.what(), err)
			}
		}
		if err == nil || !isDeadlock(err) || attempt == deadlockTries || ctx.Err() != nil {
			return n, rows, err
		}
		// InnoDB rolled the transaction back; end it on our side too and replay.
		w.tx.inTx = 0
		if _, rerr := w.conn.ExecContext(ctx, "ROLLBACK"); rerr != nil {
			return n, rows, errors.Join(err, fmt.Errorf("ROLLBACK after a deadlock: %w", rerr))
		}
	}
}

// execHook, set by tests only, becomes every restore pool's execHook.
var execHook func(conn *sql.Conn, q string) error

// deadlockTries bounds the replays of a job that deadlocked.
const deadlockTries = 5

// isDeadlock says whether err is MariaDB's ER_LOCK_DEADLOCK, after which the whole transaction
// has been rolled back and may be run again.
func isDeadlock(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1213
}
