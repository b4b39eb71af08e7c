package backup

import (
	"compress/gzip"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// sectionDecoder decompresses one section at a time, reusing its decoder across sections: a
// backup can have many thousands of them.
type sectionDecoder struct {
	compression string
	z           *zstd.Decoder
	g           *gzip.Reader
	r           io.Reader
}

func newSectionDecoder(r io.Reader, compression string) (*sectionDecoder, error) {
	d := &sectionDecoder{compression: compression}
	switch compression {
	case CompressZstd:
		z, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, err
		}
		d.z = z
	case CompressGzip, CompressNone:
	default:
		return nil, fmt.Errorf("unknown compression %q in manifest", compression)
	}
	return d, d.reset(r)
}

// reset starts decoding the next section from r.
func (d *sectionDecoder) reset(r io.Reader) error {
	switch d.compression {
	case CompressZstd:
		d.r = d.z
		return d.z.Reset(r)
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

func (d *sectionDecoder) Read(p []byte) (int, error) { return d.r.Read(p) }

func (d *sectionDecoder) close() {
	if d.z != nil {
		d.z.Close()
	}
}
