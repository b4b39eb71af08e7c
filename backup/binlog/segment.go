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

	"github.com/backupctl/backupctl/backup/crypt"
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
	// With encryption, the compressed stream goes through enc (one age stream to the
	// recipients and the upload's own identity) into stored; comp hashes and counts it.
	up   *crypt.Upload
	enc  io.WriteCloser
	comp format.HashCounter
	// cancel stops the upload; it outlives the archiver's context so that a stopping
	// archiver can still store its open segment.
	cancel context.CancelFunc
}

// openSegment starts uploading segment e.Seq: the magic and fd (the format description, in-use
// flag cleared) are written at once.
func openSegment(ctx context.Context, b storage.Bucket, e Entry, fd formatDesc, now time.Time, rcpts *crypt.Recipients) (*segment, error) {
	s := &segment{entry: e, opened: now}
	ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.entry.Key = SegmentKey(e.Archive, e.Seq)
	if rcpts != nil {
		s.entry.Key = crypt.ObjectKey(s.entry.Key)
	}
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
	var compressed io.Writer = &s.stored
	if rcpts != nil {
		var err error
		if s.up, err = crypt.NewUpload(rcpts); err == nil {
			s.enc, err = s.up.Encrypt(&s.stored)
		}
		if err != nil {
			s.abort(err)
			return nil, err
		}
		s.comp = format.HashCounter{W: s.enc, H: sha256.New()}
		compressed = &s.comp
	}
	frame, err := format.NewFrame(compressed, segmentCompression, 0)
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
	if s.enc != nil {
		if err := s.enc.Close(); err != nil {
			s.abort(err)
			return fmt.Errorf("encrypt segment %d: %w", s.entry.Seq, err)
		}
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
	if s.enc != nil {
		// The entry describes the compressed stream; its sealed copy and the stored object's
		// size and SHA-256 go into the stored entry (sealEntry).
		s.entry.Size = s.comp.N
		s.entry.SHA256 = hex.EncodeToString(s.comp.H.Sum(nil))
	}
	if s.info.Size != s.stored.N {
		return fmt.Errorf("upload segment %d: stored %d bytes, wrote %d", s.entry.Seq, s.info.Size, s.stored.N)
	}
	return nil
}

// readBack reads the stored segment back and checks it against its entry; an encrypted one is
// decrypted with the segment's own identity, which is forgotten right after.
func (s *segment) readBack(ctx context.Context, b storage.Bucket) error {
	if s.up == nil {
		return CheckSegment(ctx, b, &s.entry)
	}
	defer s.up.Forget()
	rb := s.up.ReadBackChecked(b, s.entry.Key, s.entry.Size, hex.EncodeToString(s.stored.H.Sum(nil)))
	return readPlainSegment(ctx, rb, &s.entry, discard)
}

// storedEntry is the index entry to store: the entry, or for an encrypted segment its sealed form.
func (s *segment) storedEntry() (*Entry, error) {
	if s.up == nil {
		return &s.entry, nil
	}
	return sealEntry(s.up, &s.entry, s.stored.N, hex.EncodeToString(s.stored.H.Sum(nil)))
}

// CheckSegment reads a stored segment back and compares its size and SHA-256, stored and
// uncompressed, with its entry.
func CheckSegment(ctx context.Context, b storage.Bucket, e *Entry) error {
	return readSegment(ctx, b, e, discard)
}

// discard reads a segment to its end.
func discard(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}

// readSegment streams a stored segment's binlog to consume, hashing as it goes, and then
// compares sizes and SHA-256s with the entry. An error of consume is returned as it is. An
// encrypted segment is decrypted with the identity its entry was opened with (OpenIndex),
// checking the stored object's size and SHA-256 too.
func readSegment(ctx context.Context, b storage.Bucket, e *Entry, consume func(io.Reader) error) error {
	if e.Encryption != nil {
		if e.opened == nil {
			return fmt.Errorf("segment %d (%s) is encrypted and its index entry was not opened with an identity", e.Seq, e.Key)
		}
		b = e.opened.bucket(b, e)
	}
	return readPlainSegment(ctx, b, e, consume)
}

// readPlainSegment is readSegment of the compressed stream b shows.
func readPlainSegment(ctx context.Context, b storage.Bucket, e *Entry, consume func(io.Reader) error) error {
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
