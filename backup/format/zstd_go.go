//go:build !cgo

package format

import (
	"errors"

	"github.com/klauspost/compress/zstd"
)

// ZstdEncoder names the zstd implementation this binary compresses with: without cgo, the Go
// encoder (a build with cgo uses the zstd library, faster).
func ZstdEncoder() string { return "Go (github.com/klauspost/compress)" }

func newZstdCodec(level, conc int) (FrameCodec, error) {
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

// Encode appends src compressed as one frame to dst.
func (c goZstd) Encode(dst, src []byte) ([]byte, error) { return c.e.EncodeAll(src, dst), nil }

// Close releases the encoder.
func (c goZstd) Close() { _ = c.e.Close() }

// ZstdChunks decodes whole chunks held in memory.
type ZstdChunks struct{ d *zstd.Decoder }

// NewZstdChunks returns a decoder of whole zstd chunks.
func NewZstdChunks() (*ZstdChunks, error) {
	d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(zstdWindow),
		zstd.WithDecoderMaxMemory(2*ChunkRawMax), zstd.WithDecodeAllCapLimit(true))
	if err != nil {
		return nil, err
	}
	return &ZstdChunks{d: d}, nil
}

// Decode appends the uncompressed bytes of src, one or more whole frames, to dst; they must be
// no more than limit bytes. The decoder writes no further than dst's capacity (one byte past
// limit, to tell a chunk that is too large).
func (z *ZstdChunks) Decode(dst, src []byte, limit int) ([]byte, error) {
	if cap(dst)-len(dst) <= limit {
		grown := make([]byte, len(dst), len(dst)+limit+1)
		copy(grown, dst)
		dst = grown
	}
	dst = dst[: len(dst) : len(dst)+limit+1]
	out, err := z.d.DecodeAll(src, dst)
	if errors.Is(err, zstd.ErrDecoderSizeExceeded) || (err == nil && len(out)-len(dst) > limit) {
		err = ErrTooLarge
	}
	return out, err
}

// Close releases the decoder.
func (z *ZstdChunks) Close() { z.d.Close() }
