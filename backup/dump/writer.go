package dump

import (
	"context"
	"hash"
	"hash/crc32"
	"io"
	"sync"

	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/backup/verify"
)

// frame is one compression frame of the object in memory: a whole small section, or one piece
// of a table's data that ends at a statement boundary.
type frame struct {
	raw  []byte // uncompressed SQL
	comp []byte // raw as one compression frame
	rows int64  // rows inserted by raw
}

// framePool bounds the frames in flight: encoded by workers and not yet written out. The job
// the writer waits for (the head) may always take a frame, so that workers running ahead with
// every frame taken cannot starve it: memory stays bounded and the pipeline cannot deadlock.
type framePool struct {
	mu    sync.Mutex
	free  []*frame
	inUse int
	limit int
	head  int // sequence number of the job the writer is on
	wake  chan struct{}
	// maxKeep: a frame grown beyond this (a huge row) is dropped rather than kept for reuse.
	maxKeep int
}

func newFramePool(limit, maxKeep int) *framePool {
	return &framePool{limit: limit, maxKeep: maxKeep, wake: make(chan struct{})}
}

// get returns an empty frame for job seq, waiting while the pool is exhausted.
func (p *framePool) get(ctx context.Context, seq int) (*frame, error) {
	for {
		p.mu.Lock()
		if p.inUse < p.limit || seq <= p.head {
			p.inUse++
			var f *frame
			if n := len(p.free); n > 0 {
				f, p.free = p.free[n-1], p.free[:n-1]
			} else {
				f = &frame{}
			}
			p.mu.Unlock()
			return f, nil
		}
		w := p.wake
		p.mu.Unlock()
		select {
		case <-w:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// put returns a frame written out (or abandoned).
func (p *framePool) put(f *frame) {
	p.mu.Lock()
	p.inUse--
	if cap(f.raw) <= p.maxKeep && cap(f.comp) <= p.maxKeep {
		f.raw, f.comp, f.rows = f.raw[:0], f.comp[:0], 0
		p.free = append(p.free, f)
	}
	p.broadcast()
	p.mu.Unlock()
}

// advance tells the pool which job the writer waits for now.
func (p *framePool) advance(seq int) {
	p.mu.Lock()
	p.head = seq
	p.broadcast()
	p.mu.Unlock()
}

func (p *framePool) broadcast() {
	close(p.wake)
	p.wake = make(chan struct{})
}

// job produces one or more frames of the object, in order. The jobs of a dump are written
// out strictly in the order they were created, whoever produced them.
type job struct {
	seq    int
	frames chan *frame // closed when the job has produced all its frames
	err    error       // set before frames is closed when the job failed

	// sec, when set, receives the range of the job's frames: a whole section (or an empty one
	// at the current position when the job produced nothing).
	sec *format.Range
	// tbl is the table whose data section this job holds part of; first and last say whether
	// the job begins or ends that section.
	tbl         *tableOut
	first, last bool
	// done, when set, runs in the writer once the job is written.
	done func(*objectWriter)
	// run produces the frames of a data job on a worker's connection.
	run func(ctx context.Context, w *worker, j *job) error
}

// tableOut gathers what the writer records for one table's data section.
type tableOut struct {
	t      *tableInfo
	mt     *format.Table
	start  format.Range
	chunks []format.Range
	rows   int64
	use    string // the USE its section starts with, or ""
}

// objectWriter writes the frames of the dump to the object in job order, and records where each
// section and chunk landed in the stored and the uncompressed stream.
type objectWriter struct {
	out *format.HashCounter // compressed bytes, as stored
	raw int64               // uncompressed bytes written so far
}

// The writer takes a CRC-32C of the object, not its SHA-256: the read-back must match it (see
// writtenObject), and takes the SHA-256 that the manifest records. One SHA-256 pass over the
// stored bytes instead of two; CRC-32C runs in hardware, some twenty times as fast.
func newObjectWriter(w io.Writer) *objectWriter {
	return &objectWriter{out: &format.HashCounter{W: w, H: crc32.New(format.Castagnoli)}}
}

// size describes the stored object written so far; written, the whole object once written.
func (o *objectWriter) size() int64 { return o.out.N }
func (o *objectWriter) written() verify.Written {
	return verify.Written{Size: o.out.N, CRC32C: o.out.H.(hash.Hash32).Sum32()}
}

// pos is the current position, as the start of a range.
func (o *objectWriter) pos() format.Range { return format.Range{Offset: o.out.N, RawOffset: o.raw} }

// since returns the range from start to the current position.
func (o *objectWriter) since(start format.Range) format.Range {
	start.Length = o.out.N - start.Offset
	start.RawLength = o.raw - start.RawOffset
	return start
}

// writeFrame writes one frame and returns its range.
func (o *objectWriter) writeFrame(f *frame) (format.Range, error) {
	start := o.pos()
	if _, err := o.out.Write(f.comp); err != nil {
		return format.Range{}, err
	}
	o.raw += int64(len(f.raw))
	return o.since(start), nil
}
