package backup

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// The verification of a new backup relies on every frame carrying its codec's checksum of the
// uncompressed bytes, and on the readers checking it: a frame whose checksum is changed must not
// decompress, through the restore's reader and through the verification's alike.
func TestFramesCarryContentChecksums(t *testing.T) {
	raw := []byte(strings.Repeat("INSERT INTO `t` VALUES (1,'abc'),(2,'def');\n", 2000))
	for _, tc := range []struct {
		compression string
		checksumAt  func(frame []byte) int // where the frame's content checksum is
	}{
		{CompressZstd, func(f []byte) int { return len(f) - 4 }}, // XXH64's low 4 bytes end the frame
		{CompressGzip, func(f []byte) int { return len(f) - 8 }}, // CRC-32, then ISIZE
	} {
		t.Run(tc.compression, func(t *testing.T) {
			codec, err := newFrameCodec(tc.compression, 0, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer codec.close()
			frame, err := codec.encode(nil, raw)
			if err != nil {
				t.Fatal(err)
			}
			if tc.compression == CompressZstd && frame[4]&0x04 == 0 {
				t.Fatalf("zstd frame header descriptor %#x has no content checksum flag", frame[4])
			}
			readers := map[string]func(f []byte) ([]byte, error){
				"restore": func(f []byte) ([]byte, error) {
					r, err := NewDecompressor(bytes.NewReader(f), tc.compression)
					if err != nil {
						return nil, err
					}
					defer r.Close()
					return io.ReadAll(r)
				},
				"verify": func(f []byte) ([]byte, error) {
					d, err := newSectionDecoder(bytes.NewReader(f), tc.compression)
					if err != nil {
						return nil, err
					}
					defer d.close()
					return io.ReadAll(d)
				},
			}
			bad := bytes.Clone(frame)
			bad[tc.checksumAt(bad)] ^= 0x01
			for name, read := range readers {
				if got, err := read(frame); err != nil || !bytes.Equal(got, raw) {
					t.Errorf("%s reader, intact frame: %d bytes, %v", name, len(got), err)
				}
				if _, err := read(bad); err == nil {
					t.Errorf("%s reader: a frame with a changed content checksum decompressed without error", name)
				}
			}
		})
	}
}
