package format

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// SectionDecoder decompresses one section at a time, reusing its decoder across sections: a
// backup can have many thousands of them.
type SectionDecoder struct {
	compression string
	z           *zstd.Decoder
	check       checkedReader // what z reads: frames beyond backupctl's window are refused
	g           *gzip.Reader
	r           io.Reader
}

// NewSectionDecoder returns a decoder of one section read from r, stored with compression.
func NewSectionDecoder(r io.Reader, compression string) (*SectionDecoder, error) {
	d := &SectionDecoder{compression: compression}
	switch compression {
	case CompressZstd:
		z, err := zstd.NewReader(nil, zstdDecoderOptions()...)
		if err != nil {
			return nil, err
		}
		d.z = z
	case CompressGzip, CompressNone:
	default:
		return nil, fmt.Errorf("unknown compression %q in manifest", compression)
	}
	return d, d.Reset(r)
}

// Reset starts decoding the next section from r.
func (d *SectionDecoder) Reset(r io.Reader) error {
	switch d.compression {
	case CompressZstd:
		d.r = d.z
		d.check.reset(r)
		return d.z.Reset(&d.check)
	case CompressGzip:
		if d.g == nil {
			g, err := gzip.NewReader(r)
			if err != nil {
				return err
			}
			d.g = g
		} else if err := d.g.Reset(r); err != nil {
			return err
		}
		d.r = d.g
	default:
		d.r = r
	}
	return nil
}

// Read reads uncompressed bytes of the section.
func (d *SectionDecoder) Read(p []byte) (int, error) { return d.r.Read(p) }

// Close releases the decoder.
func (d *SectionDecoder) Close() {
	if d.z != nil {
		d.z.Close()
	}
}

// ErrTooLarge: a chunk decompresses to more bytes than its manifest entry says.
var ErrTooLarge = errors.New("more uncompressed bytes than the manifest says")

// DecodeChunk decompresses one whole chunk of want uncompressed bytes: its frames must end
// exactly at its end. More than want bytes is ErrTooLarge, found by decoding at most want+1.
func DecodeChunk(z *ZstdChunks, compression string, src, dst []byte, want int) ([]byte, error) {
	switch compression {
	case CompressZstd:
		if err := checkFrames(src); err != nil {
			return dst, err
		}
		return z.Decode(dst, src, want)
	case CompressGzip:
		g, err := gzip.NewReader(bytes.NewReader(src))
		if err != nil {
			return dst, err
		}
		g.Multistream(true)
		b := bytes.NewBuffer(dst)
		n, err := b.ReadFrom(io.LimitReader(g, int64(want)+1))
		if err == nil && n > int64(want) {
			err = ErrTooLarge
		}
		return b.Bytes(), err
	default:
		return append(dst, src...), nil
	}
}

// ChunkRawMax bounds the uncompressed bytes of a chunk that is decoded whole in memory.
const ChunkRawMax = 8 << 20
