package binlog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/storage"
)

// segmentCompression is how segments are stored: one zstd frame stream, readable by the stock
// zstd tool.
const segmentCompression = format.CompressZstd

// segment is an open segment: a binlog file streamed through zstd into the bucket as its events
// arrive, so memory does not grow with its size.
type segment struct {
	entry   Entry
	opened  time.Time
	raw     format.HashCounter // the binlog bytes, hashed and counted
	stored  format.HashCounter // the compressed bytes
	frame   format.FrameWriter
	pw      *io.PipeWriter
	g       *errgroup.Group
	info    storage.ObjectInfo
	inGroup bool // inside a transaction group: the segment cannot close here
	// cancel stops the upload; it outlives the archiver's context so that a stopping
	// archiver can still store its open segment.
	cancel context.CancelFunc
}

// openSegment starts uploading segment e.Seq: the magic and fd (the format description, in-use
// flag cleared) are written at once.
func openSegment(ctx context.Context, b storage.Bucket, e Entry, fd formatDesc, now time.Time) (*segment, error) {
	s := &segment{entry: e, opened: now}
	ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.entry.Key = SegmentKey(e.Archive, e.Seq)
	s.entry.Compression = segmentCompression
	pr, pw := io.Pipe()
	s.pw = pw
	s.g, _ = errgroup.WithContext(ctx)
	s.g.Go(func() error {
		info, err := b.Put(ctx, s.entry.Key, pr, -1)
		pr.CloseWithError(err) // a failed upload stops the writer
		s.info = info
		return err
	})
	s.stored = format.HashCounter{W: pw, H: sha256.New()}
	frame, err := format.NewFrame(&s.stored, segmentCompression, 0)
	if err != nil {
		s.abort(err)
		return nil, err
	}
	s.frame = frame
	s.raw = format.HashCounter{W: frame, H: sha256.New()}
	if err := s.write(Magic); err != nil {
		return nil, err
	}
	if err := s.write(fd.closedCopy()); err != nil {
		return nil, err
	}
	return s, nil
}

// write adds bytes to the segment; on failure the upload is abandoned.
func (s *segment) write(p []byte) error {
	if _, err := s.raw.Write(p); err != nil {
		s.abort(err)
		return fmt.Errorf("write segment %d: %w", s.entry.Seq, err)
	}
	return nil
}

// abort stops the upload: nothing is left behind.
func (s *segment) abort(err error) {
	if err == nil {
		err = errors.New("segment abandoned")
	}
	s.pw.CloseWithError(err)
	s.cancel()
	_ = s.g.Wait()
}

// finish ends the compressed stream and waits for the upload.
func (s *segment) finish() error {
	if err := s.frame.Close(); err != nil {
		s.abort(err)
		return fmt.Errorf("compress segment %d: %w", s.entry.Seq, err)
	}
	if err := s.pw.Close(); err != nil {
		return err
	}
	err := s.g.Wait()
	s.cancel()
	if err != nil {
		return fmt.Errorf("upload segment %d: %w", s.entry.Seq, err)
	}
	s.entry.RawSize = s.raw.N
	s.entry.RawSHA256 = hex.EncodeToString(s.raw.H.Sum(nil))
	s.entry.Size = s.stored.N
	s.entry.SHA256 = hex.EncodeToString(s.stored.H.Sum(nil))
	if s.info.Size != s.stored.N {
		return fmt.Errorf("upload segment %d: stored %d bytes, wrote %d", s.entry.Seq, s.info.Size, s.stored.N)
	}
	return nil
}

// CheckSegment reads a stored segment back and compares its size and SHA-256, stored and
// uncompressed, with its entry.
func CheckSegment(ctx context.Context, b storage.Bucket, e *Entry) error {
	return readSegment(ctx, b, e, func(r io.Reader) error {
		_, err := io.Copy(io.Discard, r)
		return err
	})
}

// readSegment streams a stored segment's binlog to consume, hashing as it goes, and then
// compares sizes and SHA-256s with the entry. An error of consume is returned as it is.
func readSegment(ctx context.Context, b storage.Bucket, e *Entry, consume func(io.Reader) error) error {
	rc, err := b.Get(ctx, e.Key)
	if err != nil {
		return fmt.Errorf("read segment %d (%s): %w", e.Seq, e.Key, err)
	}
	defer rc.Close()
	stored := format.HashCounter{W: io.Discard, H: sha256.New()}
	tee := io.TeeReader(rc, &stored)
	d, err := format.NewDecompressor(tee, e.Compression)
	if err != nil {
		return fmt.Errorf("%w: segment %d: %v", ErrCorrupt, e.Seq, err)
	}
	defer d.Close()
	raw := &hashingReader{r: d, h: sha256.New()}
	if err := consume(raw); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if raw.err != nil {
			return fmt.Errorf("%w: segment %d (%s): %v", ErrCorrupt, e.Seq, e.Key, raw.err)
		}
		return fmt.Errorf("segment %d (%s): %w", e.Seq, e.Key, err)
	}
	// Read what the consumer left, then what may follow the last frame.
	if _, err := io.Copy(io.Discard, raw); err != nil {
		return fmt.Errorf("%w: segment %d (%s): %v", ErrCorrupt, e.Seq, e.Key, err)
	}
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return fmt.Errorf("read segment %d (%s): %w", e.Seq, e.Key, err)
	}
	switch {
	case stored.N != e.Size || hex.EncodeToString(stored.H.Sum(nil)) != e.SHA256:
		return fmt.Errorf("%w: segment %d (%s): its %d stored bytes do not have the SHA-256 its index entry records (%d bytes)", ErrCorrupt, e.Seq, e.Key, stored.N, e.Size)
	case raw.n != e.RawSize || hex.EncodeToString(raw.h.Sum(nil)) != e.RawSHA256:
		return fmt.Errorf("%w: segment %d (%s): its %d binlog bytes do not have the SHA-256 its index entry records", ErrCorrupt, e.Seq, e.Key, raw.n)
	}
	return nil
}

// hashingReader hashes and counts what is read through it, and keeps the first read error.
type hashingReader struct {
	r   io.Reader
	h   hash.Hash
	n   int64
	err error
}

func (x *hashingReader) Read(p []byte) (int, error) {
	n, err := x.r.Read(p)
	x.h.Write(p[:n])
	x.n += int64(n)
	if err != nil && err != io.EOF && x.err == nil {
		x.err = err
	}
	return n, err
}
