package dump

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"

	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/backup/sqltext"
	"golang.org/x/sync/errgroup"
)

// defaultFrameBytes is the uncompressed size at which a table's data is cut into another
// frame (a chunk). With at most 2×workers+2 frames in flight, raw and compressed, the dump
// holds some 30 MiB of SQL besides the upload's part buffers.
const defaultFrameBytes = 2 << 20

// rangeFrames: a primary-key range read by one query is planned to hold about this many
// frames, so that a range query's cost is spread over a few MiB.
const rangeFrames = 4

// maxRanges bounds the ranges of one table, whatever its size.
const maxRanges = 4096

// chunkKey returns the primary key's column when it is a single integer column, else "".
// COLUMN_KEY is PRI for every column of the primary key (or, without one, of the first unique
// key over NOT NULL columns, which InnoDB then clusters by): ranges over it cover every row.
func chunkKey(cols []column) string {
	key := ""
	for _, c := range cols {
		if c.key != "PRI" {
			continue
		}
		if key != "" {
			return "" // a composite key
		}
		switch strings.ToLower(c.dataType) {
		case "tinyint", "smallint", "mediumint", "int", "integer", "bigint":
			key = c.name
		default:
			return ""
		}
	}
	return key
}

// worker is one snapshot connection that reads table data.
type worker struct {
	conn *sql.Conn
	tup  []byte // reused tuple buffer
}

// pipe joins the planner, the workers and the writer of one dump.
type pipe struct {
	pool   *framePool
	codec  format.FrameCodec
	order  chan *job // every job, in object order, for the writer
	work   chan *job // data jobs, for the workers
	seq    int
	target int // frame size in raw bytes
}

// newJob registers the next job in object order.
func (p *pipe) newJob(ctx context.Context, j *job) error {
	j.seq = p.seq
	p.seq++
	// Room for every frame the pool allows: a worker ahead of the writer keeps going until the
	// pool runs dry, instead of waiting after one frame for the writer to reach its job. With
	// room for one frame, the workers ahead of the head job mostly waited: 2 cores were idle
	// about a tenth of a backup, which took 6.97-7.31 s instead of 6.47-6.76 s (bench data).
	j.frames = make(chan *frame, p.pool.limit)
	select {
	case p.order <- j:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// section adds a whole small section produced here, one frame; its range goes to r.
func (p *pipe) section(ctx context.Context, r *format.Range, text string) error {
	return p.sectionThen(ctx, r, text, nil)
}

// sectionThen is section with a callback the writer runs once the section is written.
func (p *pipe) sectionThen(ctx context.Context, r *format.Range, text string, done func(*objectWriter)) error {
	j := &job{sec: r, done: done}
	if err := p.newJob(ctx, j); err != nil {
		return err
	}
	defer close(j.frames)
	if text == "" {
		return nil // an empty section: no frame, a zero-length range
	}
	f, err := p.pool.get(ctx, j.seq)
	if err != nil {
		return err
	}
	f.raw = append(f.raw, text...)
	if f.comp, err = p.codec.Encode(f.comp, f.raw); err != nil {
		p.pool.put(f)
		return err
	}
	j.frames <- f // the channel has room for this one frame
	return nil
}

// write produces the whole dump into w and fills m's ranges: one planner, the workers reading
// data on their snapshot connections and compressing it, and one writer that emits the frames
// in object order, so that the object stays one plain SQL stream whatever the parallelism.
func (d *dumper) write(ctx context.Context, w io.Writer, m *format.Manifest) (*objectWriter, error) {
	ow := newObjectWriter(w)
	n := len(d.workers)
	if n == 0 {
		return nil, errNoWorkers
	}
	codec, err := format.NewFrameCodec(d.opts.Compression, d.opts.Level, n+1)
	if err != nil {
		return nil, err
	}
	defer codec.Close()
	target := d.opts.FrameBytes
	if target <= 0 {
		target = defaultFrameBytes
	}
	p := &pipe{
		pool:   newFramePool(2*n+2, 2*target+maxInsert),
		codec:  codec,
		order:  make(chan *job, 4*n+8),
		work:   make(chan *job, n),
		target: target,
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(p.order)
		defer close(p.work)
		return d.plan(gctx, p, m)
	})
	for _, wk := range d.workers {
		g.Go(func() error {
			for j := range p.work {
				err := j.run(gctx, wk, j)
				j.err = err
				close(j.frames)
				if err != nil {
					return err
				}
			}
			return nil
		})
	}
	g.Go(func() error { return d.writeJobs(gctx, p, ow) })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	d.prog.report(d.log, ow, "dump written")
	return ow, nil
}

// writeJobs is the writer: it takes the jobs in object order and writes each one's frames.
func (d *dumper) writeJobs(ctx context.Context, p *pipe, ow *objectWriter) error {
	for j := range p.order {
		p.pool.advance(j.seq)
		start := ow.pos()
		if j.tbl != nil && j.first {
			j.tbl.start = start
		}
		for {
			var f *frame
			var ok bool
			select {
			case f, ok = <-j.frames:
			case <-ctx.Done():
				return ctx.Err()
			}
			if !ok {
				break
			}
			r, err := ow.writeFrame(f)
			if err != nil {
				return err
			}
			if t := j.tbl; t != nil {
				t.chunks = append(t.chunks, r)
				t.rows += f.rows
				d.prog.rowsDone(d.log, ow, f.rows)
			}
			p.pool.put(f)
		}
		if j.err != nil {
			return j.err
		}
		if j.sec != nil {
			*j.sec = ow.since(start)
		}
		if j.done != nil {
			j.done(ow)
		}
		if t := j.tbl; t != nil && j.last {
			t.mt.Data = ow.since(t.start)
			// DataSHA256 is recorded by the verification, from the bytes read back (see
			// verify.Record).
			t.mt.Rows = t.rows
			if len(t.chunks) > 1 {
				t.mt.Chunks = t.chunks
			}
			d.prog.tableDone(d.log, ow, t.t, t.rows)
			if t.t.Locked {
				if err := d.unlockOne(ctx); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// planData adds the jobs that read a table's data: one per primary-key range for a large table
// with an integer key, else one.
//
// use, when not "", is the USE that starts the data section (see plan).
func (d *dumper) planData(ctx context.Context, p *pipe, t *tableInfo, mt *format.Table, use string) error {
	tbl := &tableOut{t: t, mt: mt, use: use}
	wheres, err := d.ranges(ctx, t, p.target)
	if err != nil {
		return err
	}
	for i, where := range wheres {
		j := &job{tbl: tbl, first: i == 0, last: i == len(wheres)-1}
		j.run = func(ctx context.Context, w *worker, j *job) error {
			if err := d.writeData(ctx, w, p, j, where); err != nil {
				return fmt.Errorf("dump %s.%s: %w", sqltext.QuoteIdent(t.DB), sqltext.QuoteIdent(t.Name), err)
			}
			return nil
		}
		if err := p.newJob(ctx, j); err != nil {
			return err
		}
		select {
		case p.work <- j:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// ranges splits a table into WHERE clauses over its integer primary key, evenly over the key's
// span in the snapshot; the first and last are open-ended so that every row falls in one. A
// dense range is not a problem for memory: its worker cuts it into frames as it reads.
func (d *dumper) ranges(ctx context.Context, t *tableInfo, target int) ([]string, error) {
	want := t.DataLength / int64(rangeFrames*target)
	if t.ChunkKey == "" || want < 2 || !strings.EqualFold(t.Engine, "InnoDB") {
		return []string{""}, nil
	}
	want = min(want, maxRanges)
	k := sqltext.QuoteIdent(t.ChunkKey)
	r, err := queryOne(ctx, d.conn, "SELECT MIN("+k+") AS lo, MAX("+k+") AS hi FROM "+sqltext.QuoteIdent(t.DB)+"."+sqltext.QuoteIdent(t.Name))
	if err != nil {
		return nil, fmt.Errorf("key range: %w", err)
	}
	lo, ok1 := new(big.Int).SetString(r.str("lo"), 10)
	hi, ok2 := new(big.Int).SetString(r.str("hi"), 10)
	if !ok1 || !ok2 {
		return []string{""}, nil // empty table
	}
	span := new(big.Int).Sub(hi, lo)
	step := new(big.Int).Div(span, big.NewInt(want))
	if step.Sign() <= 0 {
		return []string{""}, nil
	}
	var out []string
	prev := ""
	b := new(big.Int).Set(lo)
	for i := int64(1); i < want; i++ {
		b.Add(b, step)
		cur := b.String()
		switch prev {
		case "":
			out = append(out, " WHERE "+k+" < "+cur)
		default:
			out = append(out, " WHERE "+k+" >= "+prev+" AND "+k+" < "+cur)
		}
		prev = cur
	}
	return append(out, " WHERE "+k+" >= "+prev), nil
}

// frameSink is where a data job writes its SQL: the current frame, cut at statement boundaries
// once it reaches the target size and sent to the writer compressed.
type frameSink struct {
	ctx context.Context
	p   *pipe
	j   *job
	f   *frame
	use string // a USE for the next frame opened
}

// open starts a frame; every frame of a data section starts with SET NAMES binary so that it
// can be applied alone after the header and a USE.
func (s *frameSink) open() error {
	f, err := s.p.pool.get(s.ctx, s.j.seq)
	if err != nil {
		return err
	}
	s.f = f
	// The USE before the section's first frame: under SET NAMES binary a name would be read
	// as bytes.
	s.f.raw = append(s.f.raw, s.use...)
	s.use = ""
	s.f.raw = append(s.f.raw, "SET NAMES binary;\n"...)
	return nil
}

// emit compresses the current frame and hands it to the writer.
func (s *frameSink) emit() error {
	f := s.f
	s.f = nil
	var err error
	if f.comp, err = s.p.codec.Encode(f.comp, f.raw); err != nil {
		s.p.pool.put(f)
		return err
	}
	select {
	case s.j.frames <- f:
		return nil
	case <-s.ctx.Done():
		s.p.pool.put(f)
		return s.ctx.Err()
	}
}

// abandon returns an unfinished frame after a failure.
func (s *frameSink) abandon() {
	if s.f != nil {
		s.p.pool.put(s.f)
		s.f = nil
	}
}

// writeData writes one job's share of a table's rows as INSERT statements, or a sequence's
// state. Values are the column's bytes as the server holds them (read with
// character_set_results=binary), whatever the column's character set, and must reach it
// unconverted: hence SET NAMES binary.
func (d *dumper) writeData(ctx context.Context, w *worker, p *pipe, j *job, where string) error {
	t := j.tbl.t
	s := &frameSink{ctx: ctx, p: p, j: j}
	defer s.abandon()
	from := sqltext.QuoteIdent(t.DB) + "." + sqltext.QuoteIdent(t.Name)
	if j.first {
		s.use = j.tbl.use
	}
	if t.Kind == "sequence" {
		r, err := queryOne(ctx, w.conn, "SELECT next_not_cached_value AS n, cycle_count AS c FROM "+from)
		if err != nil {
			return err
		}
		f, err := p.pool.get(ctx, j.seq)
		if err != nil {
			return err
		}
		s.f = f
		f.raw = append(f.raw, s.use...)
		// The state a restart would resume from: the next value not handed out by the cache.
		// A state, not a row: Rows counts inserted rows.
		f.raw = fmt.Appendf(f.raw, "DO SETVAL(%s, %s, 0, %s);\n", sqltext.QuoteIdent(t.Name), r.str("n"), r.str("c"))
		return s.emit()
	}
	var sel, list strings.Builder
	if len(t.Columns) == 0 {
		// Every column is generated: each row is an empty tuple, INSERT INTO t () VALUES ().
		sel.WriteString("NULL")
	}
	for i, c := range t.Columns {
		if i > 0 {
			sel.WriteString(", ")
			list.WriteString(",")
		}
		q := sqltext.QuoteIdent(c.Name)
		switch c.Kind {
		case sqltext.KindFloat:
			// The text protocol prints FLOAT with 6 digits; widened to DOUBLE it prints the
			// exact value, which rounds back to the same float on insert.
			q = "CAST(" + q + " AS DOUBLE)"
		case sqltext.KindEnum:
			q = "(" + q + " + 0)"
		}
		sel.WriteString(q)
		list.WriteString(sqltext.QuoteIdent(c.Name))
	}
	query := "SELECT " + sel.String() + " FROM " + from
	if t.Kind == "versioned" && !t.TrxHistory {
		query += " FOR SYSTEM_TIME ALL"
	}
	prefix := "INSERT INTO " + sqltext.QuoteIdent(t.Name) + " (" + list.String() + ") VALUES\n"
	if err := s.open(); err != nil {
		return err
	}
	// Each row is appended to the frame as the next tuple of the open statement; in the rare
	// case that it makes the statement or the frame too large, it is moved behind a new
	// statement, in a new frame if need be.
	stmtStart, inStmt := 0, false
	var num []byte // a number's digits
	var n int64
	err := eachRow(ctx, w.conn, query+where, func(vals []driver.Value) error {
		f := s.f
		mark := len(f.raw)
		if inStmt {
			f.raw = append(f.raw, ",\n("...)
		} else {
			f.raw = append(f.raw, prefix...)
			f.raw = append(f.raw, '(')
		}
		tuple := len(f.raw) - 1
		for i, v := range vals[:len(t.Columns)] {
			if i > 0 {
				f.raw = append(f.raw, ',')
			}
			var err error
			if f.raw, num, err = appendDriverValue(f.raw, num, v, t.Columns[i].Kind); err != nil {
				return fmt.Errorf("column %s: %w", sqltext.QuoteIdent(t.Columns[i].Name), err)
			}
		}
		f.raw = append(f.raw, ')')
		if inStmt && (len(f.raw)-stmtStart+1 > maxInsert || len(f.raw)+1 > p.target) {
			// End the statement before this tuple, and start the next with it.
			w.tup = append(w.tup[:0], f.raw[tuple:]...)
			f.raw = append(f.raw[:mark], ";\n"...)
			if len(f.raw)+len(prefix)+len(w.tup)+3 > p.target {
				if err := s.emit(); err != nil {
					return err
				}
				if err := s.open(); err != nil {
					return err
				}
				f = s.f
			}
			stmtStart = len(f.raw)
			f.raw = append(f.raw, prefix...)
			f.raw = append(f.raw, w.tup...)
			if cap(w.tup) > 4*maxInsert {
				w.tup = nil // a huge row's buffer is not kept
			}
		} else if !inStmt {
			stmtStart = mark
		}
		inStmt = true
		f.rows++
		if n++; n&1023 == 0 {
			return ctx.Err()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if inStmt {
		s.f.raw = append(s.f.raw, ";\n"...)
	}
	if j.last {
		s.f.raw = append(s.f.raw, "SET NAMES utf8mb4;\n"...)
	}
	return s.emit()
}

// errNoWorkers guards against a dump started without its connections.
var errNoWorkers = errors.New("internal error: no dump connections")
