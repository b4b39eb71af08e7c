package format

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"sync"

	kgzip "github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Compression names accepted by --compression.
const (
	// CompressZstd is zstd, the default.
	CompressZstd = "zstd"
	// CompressGzip is gzip.
	CompressGzip = "gzip"
	// CompressNone stores the SQL uncompressed.
	CompressNone = "none"
)

// ObjectSuffix returns the file name ending of a dump object with the given compression.
func ObjectSuffix(compression string) (string, error) {
	switch compression {
	case CompressZstd:
		return ".sql.zst", nil
	case CompressGzip:
		return ".sql.gz", nil
	case CompressNone:
		return ".sql", nil
	}
	return "", fmt.Errorf("--compression %q is not one of zstd, gzip, none", compression)
}

// FrameWriter compresses one section as a self-contained frame (zstd frame, gzip member).
type FrameWriter interface {
	io.Writer
	// Close ends the frame; the underlying writer stays open.
	Close() error
}

// NewFrame starts a new compression frame on w.
func NewFrame(w io.Writer, compression string, level int) (FrameWriter, error) {
	switch compression {
	case CompressZstd:
		opts := []zstd.EOption{zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true), zstd.WithWindowSize(zstdWindow), zstd.WithEncoderLevel(zstd.SpeedFastest)}
		if level > 0 {
			opts = append(opts, zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)))
		}
		return zstd.NewWriter(w, opts...)
	case CompressGzip:
		if level <= 0 {
			level = kgzip.DefaultCompression
		}
		return kgzip.NewWriterLevel(w, level)
	case CompressNone:
		return nopFrame{w}, nil
	}
	return nil, fmt.Errorf("--compression %q is not one of zstd, gzip, none", compression)
}

// FrameCodec compresses whole frames held in memory; Encode may be called concurrently.
type FrameCodec interface {
	// Encode appends src compressed as one self-contained frame to dst.
	Encode(dst, src []byte) ([]byte, error)
	Close()
}

// zstdWindow bounds the match window. Frames hold a few MiB of SQL, whose repeats are near
// (statement prefixes, similar rows); a small window keeps each concurrent encoder's history
// small. WithLowerEncoderMem is not used: with it the encoder shifts its whole history for every
// 128 KiB block, which cost 15% of a dump's CPU. Every encoder writes frames with at most this
// window, and every reader refuses a frame that declares a larger one (frameCheck,
// zstdDecoderOptions): it is not backupctl's.
const (
	zstdWindowLog = 20
	zstdWindow    = 1 << zstdWindowLog
)

// NewFrameCodec returns the codec of a dump with up to conc concurrent encodes. The default
// zstd level (0) is level 1, the fastest: on a 2-core machine compression is the bottleneck. A
// build with cgo compresses with the zstd library (zstd_c.go), one without with the Go encoder
// (zstd_go.go), whose fastest setting (levels 0 to 2) gave an object 1.6% larger than its
// levels 3-5 on the bench's 1 GB of SQL, and a verified backup of 9.8 s instead of 13.6 s.
func NewFrameCodec(compression string, level, conc int) (FrameCodec, error) {
	switch compression {
	case CompressZstd:
		return newZstdCodec(level, conc)
	case CompressGzip:
		if level <= 0 {
			level = kgzip.DefaultCompression
		}
		if _, err := kgzip.NewWriterLevel(io.Discard, level); err != nil {
			return nil, err
		}
		return &gzipCodec{level: level}, nil
	case CompressNone:
		return noneCodec{}, nil
	}
	return nil, fmt.Errorf("--compression %q is not one of zstd, gzip, none", compression)
}

// gzipCodec keeps a writer per concurrent Encode: a gzip writer holds about 1 MiB of state.
type gzipCodec struct {
	level int
	pool  sync.Pool
}

// Encode appends src gzipped as one member to dst.
func (c *gzipCodec) Encode(dst, src []byte) ([]byte, error) {
	buf := bytes.NewBuffer(dst)
	w, _ := c.pool.Get().(*kgzip.Writer)
	if w == nil {
		var err error
		if w, err = kgzip.NewWriterLevel(buf, c.level); err != nil {
			return dst, err
		}
	} else {
		w.Reset(buf)
	}
	defer c.pool.Put(w)
	if _, err := w.Write(src); err != nil {
		return dst, err
	}
	if err := w.Close(); err != nil {
		return dst, err
	}
	return buf.Bytes(), nil
}

// Close releases nothing: the writers are garbage.
func (c *gzipCodec) Close() {}

type noneCodec struct{}

// Encode appends src as it is.
func (noneCodec) Encode(dst, src []byte) ([]byte, error) { return append(dst, src...), nil }

// Close does nothing.
func (noneCodec) Close() {}

type nopFrame struct{ io.Writer }

// Close ends nothing: an uncompressed section has no frame.
func (nopFrame) Close() error { return nil }

// zstdDecoderOptions are those of a streaming decoder: it refuses a window larger than
// backupctl's frames use, which is also what it allocates at most for history.
func zstdDecoderOptions() []zstd.DOption {
	return []zstd.DOption{zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(zstdWindow)}
}

// NewDecompressor reads the uncompressed stream of r, across all frames.
func NewDecompressor(r io.Reader, compression string) (io.ReadCloser, error) {
	switch compression {
	case CompressZstd:
		d, err := zstd.NewReader(&checkedReader{r: r}, zstdDecoderOptions()...)
		if err != nil {
			return nil, err
		}
		return d.IOReadCloser(), nil
	case CompressGzip:
		g, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("read gzip: %w", err)
		}
		g.Multistream(true)
		return g, nil
	case CompressNone:
		return io.NopCloser(r), nil
	}
	return nil, fmt.Errorf("unknown compression %q in manifest", compression)
}
