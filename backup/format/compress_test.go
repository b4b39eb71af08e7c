package format

import (
	"bytes"
	"errors"
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
			frame := encodeFrame(t, tc.compression, raw)
			if tc.compression == CompressZstd && frame[4]&0x04 == 0 {
				t.Fatalf("zstd frame header descriptor %#x has no content checksum flag", frame[4])
			}
			readers := frameReaders(tc.compression, len(raw))
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

// readAllClose reads r to its end and closes it; err is the error of making r, returned as is.
func readAllClose(r io.Reader, close func(), err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	defer close()
	return io.ReadAll(r)
}

// frameReaders are the ways a frame is read: as restore streams it, as verify streams a section,
// and as verify decodes a chunk of want bytes whole.
func frameReaders(compression string, want int) map[string]func(f []byte) ([]byte, error) {
	return map[string]func(f []byte) ([]byte, error){
		"restore": func(f []byte) ([]byte, error) {
			r, err := NewDecompressor(bytes.NewReader(f), compression)
			return readAllClose(r, func() { r.Close() }, err)
		},
		"verify": func(f []byte) ([]byte, error) {
			d, err := NewSectionDecoder(bytes.NewReader(f), compression)
			return readAllClose(d, d.Close, err)
		},
		"verify chunk": func(f []byte) ([]byte, error) {
			var z *ZstdChunks
			if compression == CompressZstd {
				var err error
				if z, err = NewZstdChunks(); err != nil {
					return nil, err
				}
				defer z.Close()
			}
			return DecodeChunk(z, compression, f, nil, want)
		},
	}
}

// A chunk that holds more than its manifest entry says is refused before it is decoded whole:
// the verification decodes chunks into buffers of the manifest's size.
func TestChunkLargerThanManifestSays(t *testing.T) {
	raw := []byte(strings.Repeat("INSERT INTO `t` VALUES (1,'abc'),(2,'def');\n", 2000))
	frame := encodeFrame(t, CompressZstd, raw)
	z, err := NewZstdChunks()
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	if got, err := z.Decode(nil, frame, len(raw)); err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("whole chunk: %d bytes, %v", len(got), err)
	}
	if _, err := z.Decode(nil, frame, len(raw)-1); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("chunk one byte longer than said: %v, want %v", err, ErrTooLarge)
	}
}

// encodeFrame compresses raw as one frame, as a dump does.
func encodeFrame(t *testing.T, compression string, raw []byte) []byte {
	t.Helper()
	codec, err := NewFrameCodec(compression, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer codec.Close()
	frame, err := codec.Encode(nil, raw)
	if err != nil {
		t.Fatal(err)
	}
	return frame
}
