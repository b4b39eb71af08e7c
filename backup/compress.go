package backup

import (
	"compress/gzip"
	"fmt"
	"io"

	kgzip "github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Compression names accepted by --compression.
const (
	CompressZstd = "zstd"
	CompressGzip = "gzip"
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

// frameWriter compresses one section as a self-contained frame (zstd frame, gzip member).
type frameWriter interface {
	io.Writer
	// Close ends the frame; the underlying writer stays open.
	Close() error
}

// newFrame starts a new compression frame on w.
func newFrame(w io.Writer, compression string, level int) (frameWriter, error) {
	switch compression {
	case CompressZstd:
		opts := []zstd.EOption{zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true)}
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

type nopFrame struct{ io.Writer }

func (nopFrame) Close() error { return nil }

// NewDecompressor reads the uncompressed stream of r, across all frames.
func NewDecompressor(r io.Reader, compression string) (io.ReadCloser, error) {
	switch compression {
	case CompressZstd:
		d, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
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
