//go:build !cgo

package backup

import (
	"github.com/klauspost/compress/zstd"
)

// ZstdEncoder names the zstd implementation this binary compresses with: without cgo, the Go
// encoder (a build with cgo uses the zstd library, faster).
func ZstdEncoder() string { return "Go (github.com/klauspost/compress)" }

func newZstdCodec(level, conc int) (frameCodec, error) {
	opts := []zstd.EOption{zstd.WithEncoderConcurrency(conc), zstd.WithWindowSize(zstdWindow),
		zstd.WithZeroFrames(true), zstd.WithEncoderLevel(zstd.SpeedFastest)}
	if level > 0 {
		opts = append(opts, zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)))
	}
	e, err := zstd.NewWriter(nil, opts...)
	if err != nil {
		return nil, err
	}
	return goZstd{e}, nil
}

type goZstd struct{ e *zstd.Encoder }

func (c goZstd) encode(dst, src []byte) ([]byte, error) { return c.e.EncodeAll(src, dst), nil }
func (c goZstd) close()                                 { _ = c.e.Close() }

// zstdChunks decodes whole chunks held in memory.
type zstdChunks struct{ d *zstd.Decoder }

func newZstdChunks() (*zstdChunks, error) {
	d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(2*verifyChunkRawMax))
	if err != nil {
		return nil, err
	}
	return &zstdChunks{d: d}, nil
}

// decode appends the uncompressed bytes of src, one or more whole frames, to dst; they must be
// no more than limit bytes.
func (z *zstdChunks) decode(dst, src []byte, limit int) ([]byte, error) {
	out, err := z.d.DecodeAll(src, dst)
	if err == nil && len(out)-len(dst) > limit {
		err = errTooLarge
	}
	return out, err
}

func (z *zstdChunks) close() { z.d.Close() }
