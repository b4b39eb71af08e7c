package format

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Frame magic numbers (RFC 8878): a zstd frame, and the range of skippable frames.
const (
	zstdMagic      = 0xFD2FB528
	skippableMagic = 0x184D2A50 // the low 4 bits are free
)

// frameCheck follows the frames of a zstd stream as its bytes go by, without decoding them, and
// refuses a frame that declares a window larger than backupctl's frames use (zstdWindow): a
// decoder allocates the window a frame declares, so a small crafted frame could otherwise make
// it allocate hundreds of MiB. A single-segment frame's window is its content size.
type frameCheck struct {
	buf   [18]byte // the header being gathered: at most magic, descriptor, window, dictionary id, content size
	have  int
	want  int
	state int
	skip  int64 // bytes to pass before the next header: block content, checksum, skippable frame
	sum   bool  // the current frame ends with a checksum
}

const (
	fcMagic     = iota // the 4 bytes of a frame's magic number
	fcDesc             // and its frame header descriptor
	fcHeader           // the rest of the frame header
	fcSkippable        // the size of a skippable frame
	fcBlock            // a block header
)

// scan follows p, the next bytes of the stream.
func (c *frameCheck) scan(p []byte) error {
	if c.want == 0 {
		c.want = 4
	}
	for len(p) > 0 {
		if c.skip > 0 {
			k := min(int64(len(p)), c.skip)
			p = p[k:]
			c.skip -= k
			continue
		}
		k := copy(c.buf[c.have:c.want], p)
		c.have += k
		p = p[k:]
		if c.have == c.want {
			if err := c.step(); err != nil {
				return err
			}
		}
	}
	return nil
}

// next starts gathering a header of n bytes in state.
func (c *frameCheck) next(state, n int) { c.state, c.have, c.want = state, 0, n }

// step reads the header gathered in buf.
func (c *frameCheck) step() error {
	switch c.state {
	case fcMagic:
		switch m := binary.LittleEndian.Uint32(c.buf[:4]); {
		case m == zstdMagic:
			c.state, c.want = fcDesc, 5
		case m&^0xF == skippableMagic:
			c.state, c.want = fcSkippable, 8
		default:
			return fmt.Errorf("not a zstd frame (magic number %08x)", m)
		}
	case fcSkippable:
		c.skip = int64(binary.LittleEndian.Uint32(c.buf[4:8]))
		c.next(fcMagic, 4)
	case fcDesc:
		d := c.buf[4]
		if d&0x08 != 0 {
			return fmt.Errorf("zstd frame header has its reserved bit set")
		}
		c.sum = d&0x04 != 0
		c.want = 5 + c.windowSize() + [4]int{0, 1, 2, 4}[d&3] + c.contentSize()
		c.state = fcHeader
	case fcHeader:
		if w := c.window(); w > zstdWindow {
			return fmt.Errorf("zstd frame declares a window of %s: not written by backupctl, whose frames use at most %s", sizeString(w), sizeString(zstdWindow))
		}
		c.next(fcBlock, 3)
	case fcBlock:
		h := uint32(c.buf[0]) | uint32(c.buf[1])<<8 | uint32(c.buf[2])<<16
		last, kind, size := h&1 != 0, (h>>1)&3, int64(h>>3)
		switch kind {
		case 1: // RLE: one byte, repeated size times
			size = 1
		case 3:
			return fmt.Errorf("zstd block of the reserved type")
		}
		c.skip = size
		if !last {
			c.next(fcBlock, 3)
			break
		}
		if c.sum {
			c.skip += 4
		}
		c.next(fcMagic, 4)
	}
	return nil
}

func (c *frameCheck) single() bool { return c.buf[4]&0x20 != 0 }

// windowSize is the size of the window descriptor.
func (c *frameCheck) windowSize() int {
	if c.single() {
		return 0
	}
	return 1
}

// contentSize is the size of the frame content size field.
func (c *frameCheck) contentSize() int {
	if f := c.buf[4] >> 6; f > 0 {
		return 1 << f
	} else if c.single() {
		return 1
	}
	return 0
}

// window is the window the gathered header declares.
func (c *frameCheck) window() uint64 {
	if !c.single() {
		wd := c.buf[5]
		base := uint64(1) << (10 + wd>>3)
		return base + base/8*uint64(wd&7)
	}
	f := c.buf[c.want-c.contentSize() : c.want]
	switch len(f) {
	case 1:
		return uint64(f[0])
	case 2:
		return uint64(binary.LittleEndian.Uint16(f)) + 256
	case 4:
		return uint64(binary.LittleEndian.Uint32(f))
	}
	return binary.LittleEndian.Uint64(f)
}

// checkFrames checks every frame header of src, whole zstd frames.
func checkFrames(src []byte) error {
	var c frameCheck
	return c.scan(src)
}

// checkedReader passes r's bytes through a frameCheck.
type checkedReader struct {
	r io.Reader
	c frameCheck
}

func (x *checkedReader) reset(r io.Reader) { *x = checkedReader{r: r} }

// Read reads from r and fails at the first frame beyond the limits.
func (x *checkedReader) Read(p []byte) (int, error) {
	n, err := x.r.Read(p)
	if cerr := x.c.scan(p[:n]); cerr != nil {
		return 0, cerr
	}
	return n, err
}

// sizeString writes n in the largest binary unit that divides it.
func sizeString(n uint64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
