package verify

import (
	"context"
	"fmt"
	"io"
	"runtime"

	"github.com/backupctl/backupctl/backup/format"
)

// A data section cut into chunks is verified chunk by chunk, several decompressed at once: every
// chunk is a frame of its own. Chunks larger than these are streamed as a whole section instead.
const (
	chunkMax    = 4 << 20            // stored bytes of a chunk decoded in memory
	chunkRawMax = format.ChunkRawMax // and its uncompressed bytes
	inFlight    = 4                  // chunks read ahead of the one being hashed
	// chunkBufs: chunks in flight, plus those whose bytes wait to be hashed.
	chunkBufs = inFlight + 2
)

// chunkDecoder decodes whole chunks on a few goroutines; results come back in the order asked.
type chunkDecoder struct {
	compression string
	work        chan *chunkJob
	free        chan *chunkJob
}

type chunkJob struct {
	src, raw []byte
	want     int64 // the chunk's uncompressed length, as the manifest says
	err      error
	done     chan struct{}
}

func newChunkDecoder(compression string) (*chunkDecoder, error) {
	d := &chunkDecoder{compression: compression, work: make(chan *chunkJob), free: make(chan *chunkJob, chunkBufs)}
	for range chunkBufs {
		d.free <- &chunkJob{done: make(chan struct{}, 1)}
	}
	for range min(inFlight, max(2, runtime.NumCPU())) {
		var z *format.ZstdChunks
		if compression == format.CompressZstd {
			var err error
			z, err = format.NewZstdChunks()
			if err != nil {
				d.close()
				return nil, err
			}
		}
		go func() {
			if z != nil {
				defer z.Close()
			}
			for j := range d.work {
				j.raw, j.err = format.DecodeChunk(z, compression, j.src, j.raw[:0], int(j.want))
				j.done <- struct{}{}
			}
		}()
	}
	return d, nil
}

func (d *chunkDecoder) close() { close(d.work) }

// chunked says whether a section is verified chunk by chunk: its table's chunks tile it and are
// all small. A manifest whose chunks do not tile their data section is wrong: a restore reads
// those ranges.
func chunkedSection(s sectionRef) (bool, error) {
	if s.table == nil || len(s.table.Chunks) < 2 {
		return false, nil
	}
	off, raw := s.r.Offset, s.r.RawOffset
	small := true
	for _, c := range s.table.Chunks {
		if c.Offset != off || c.RawOffset != raw || c.Length <= 0 {
			return false, errorf("manifest: the chunks of %s do not tile its range (chunk at offset %d, expected %d)", oneLineName(s.name), c.Offset, off)
		}
		off += c.Length
		raw += c.RawLength
		small = small && c.Length <= chunkMax && c.RawLength <= chunkRawMax
	}
	if off != s.r.Offset+s.r.Length || raw != s.r.RawOffset+s.r.RawLength {
		return false, errorf("manifest: the chunks of %s end at %d (raw %d), the section at %d (raw %d)", oneLineName(s.name), off, raw, s.r.Offset+s.r.Length, s.r.RawOffset+s.r.RawLength)
	}
	return small, nil
}

// readChunks reads a chunked section's chunks from r, decompresses several at once and writes
// their uncompressed bytes to h in order. It returns the uncompressed byte count.
func readChunks(ctx context.Context, r io.Reader, key string, s sectionRef, d *chunkDecoder, h *asyncHash) (int64, error) {
	var pending []*chunkJob
	var n int64
	wait := func() error {
		j := pending[0]
		pending = pending[1:]
		<-j.done
		var err error
		switch {
		case j.err != nil:
			err = errorf("object %s: %s section does not decompress: %v", key, oneLineName(s.name), j.err)
		case int64(len(j.raw)) != j.want:
			err = errorf("%s section has a chunk of %d uncompressed bytes, manifest says %d", oneLineName(s.name), len(j.raw), j.want)
		}
		if err != nil {
			d.free <- j
			return err
		}
		h.writeThen(j.raw, func() { d.free <- j })
		n += j.want
		return nil
	}
	drain := func(err error) error {
		for len(pending) > 0 {
			if werr := wait(); err == nil {
				err = werr
			}
		}
		return err
	}
	for _, c := range s.table.Chunks {
		if err := ctx.Err(); err != nil {
			return n, drain(err)
		}
		if len(pending) == inFlight {
			if err := wait(); err != nil {
				return n, drain(err)
			}
		}
		j := <-d.free
		if int64(cap(j.src)) < c.Length {
			j.src = make([]byte, c.Length)
		}
		j.src = j.src[:c.Length]
		if _, err := io.ReadFull(r, j.src); err != nil {
			d.free <- j
			if err == io.ErrUnexpectedEOF || err == io.EOF {
				err = errorf("object %s is truncated in the %s section", key, oneLineName(s.name))
			} else {
				err = fmt.Errorf("read %s: %w", key, err)
			}
			return n, drain(err)
		}
		j.want = c.RawLength
		pending = append(pending, j)
		d.work <- j
	}
	return n, drain(nil)
}
