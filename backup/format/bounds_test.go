package format

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/backupctl/backupctl/storage"
)

// allocated returns the bytes f allocates on the heap, in all (not only what stays live).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// craftedFrame is a zstd frame as a crafted object holds one: its header declares a window of
// 1<<windowLog bytes or, single-segment, a content size of blocks × 128 KiB, and its blocks are
// RLE blocks of 128 KiB, 4 bytes each. A decoder that accepts it keeps up to the window in
// memory as history.
func craftedFrame(single bool, windowLog uint, blocks int) []byte {
	b := binary.LittleEndian.AppendUint32(nil, zstdMagic)
	if single {
		b = append(b, 0xE0) // 8-byte content size, single segment
		b = binary.LittleEndian.AppendUint64(b, uint64(blocks)<<17)
	} else {
		b = append(b, 0x00, byte(windowLog-10)<<3)
	}
	for i := range blocks {
		h := uint32(128<<10)<<3 | 1<<1 // an RLE block of 128 KiB
		if i == blocks-1 {
			h |= 1
		}
		b = append(b, byte(h), byte(h>>8), byte(h>>16), '\n')
	}
	return b
}

// A frame that declares a 512 MiB window is refused by every reader, with a message that says
// so, before its decoder allocates the window: the readers of a build without cgo (the Go
// decoder) and with it (the chunks through the zstd library) alike.
func TestZstdWindowRefused(t *testing.T) {
	const limit = 64 << 20
	for _, single := range []bool{false, true} {
		frame := craftedFrame(single, 29, 4096+8) // 513 MiB of output, a 512 MiB window
		if single {
			frame = craftedFrame(true, 0, 4096)
		}
		for name, read := range frameReaders(CompressZstd, ChunkRawMax) {
			var err error
			n := allocated(func() { _, err = read(frame) })
			t.Logf("single segment %v, %s: %d KiB allocated: %v", single, name, n>>10, err)
			if err == nil || !strings.Contains(err.Error(), "zstd frame declares a window of 512 MiB: not written by backupctl") {
				t.Errorf("single segment %v, %s reader: error %v, want the window refused", single, name, err)
			}
			if n > limit {
				t.Errorf("single segment %v, %s reader allocated %d MiB, more than %d", single, name, n>>20, limit>>20)
			}
		}
		// Without the header check, the Go decoder's own limit refuses it too.
		d, err := zstd.NewReader(bytes.NewReader(frame), zstdDecoderOptions()...)
		if err != nil {
			t.Fatal(err)
		}
		n := allocated(func() { _, err = io.Copy(io.Discard, d) })
		d.Close()
		if err == nil || n > limit {
			t.Errorf("single segment %v, Go decoder alone: %v, %d MiB allocated", single, err, n>>20)
		}
	}
}

// The frames backupctl writes pass the window check: from the dump's codec (the zstd library
// with cgo, the Go encoder without) at any level and size, and from the streaming writer.
func TestOwnFramesPassWindowCheck(t *testing.T) {
	var raw bytes.Buffer
	for i := 0; raw.Len() < 3<<20+5; i++ {
		fmt.Fprintf(&raw, "INSERT INTO `t` VALUES (%d,'%x'),(%d,'row');\n", i, i*7919, i+1)
	}
	// Each level's frames in a row, as a chunked table's, and the streaming writer's frame.
	check := func(name string, frames, want []byte) {
		t.Helper()
		if err := checkFrames(frames); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		for reader, read := range frameReaders(CompressZstd, len(want)) {
			if got, err := read(frames); err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s, %s reader: %d bytes, %v", name, reader, len(got), err)
			}
		}
	}
	for _, level := range []int{0, 3, 9} {
		codec, err := NewFrameCodec(CompressZstd, level, 1)
		if err != nil {
			t.Fatal(err)
		}
		var frames, want []byte
		for _, size := range []int{0, 100, 1<<20 - 1, 1 << 20, 1<<20 + 1, 3<<20 + 5} {
			frame, err := codec.Encode(nil, raw.Bytes()[:size])
			if err != nil {
				t.Fatal(err)
			}
			check(fmt.Sprintf("level %d, %d bytes", level, size), frame, raw.Bytes()[:size])
			frames = append(frames, frame...)
			want = append(want, raw.Bytes()[:size]...)
		}
		codec.Close()
		check(fmt.Sprintf("level %d, frames in a row", level), frames, want)
	}
	var streamed bytes.Buffer
	w, err := NewFrame(&streamed, CompressZstd, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(raw.Bytes()); err != nil || w.Close() != nil {
		t.Fatal(err)
	}
	check("streaming writer", streamed.Bytes(), raw.Bytes())
}

// A gzip chunk decodes to at most one byte more than the manifest says.
func TestGzipChunkBounded(t *testing.T) {
	frame := encodeFrame(t, CompressGzip, make([]byte, 64<<20))
	var err error
	n := allocated(func() { _, err = DecodeChunk(nil, CompressGzip, frame, nil, 1<<20) })
	if !errors.Is(err, ErrTooLarge) || n > 8<<20 {
		t.Errorf("64 MiB gzip chunk said to be 1 MiB: %v, %d MiB allocated", err, n>>20)
	}
}

// The scan counts what decoding would allocate, whatever the strings hold and however the JSON
// is laid out.
func TestManifestScanCounts(t *testing.T) {
	m := &Manifest{Format: FormatVersion, ID: "20240101T000000Z-abcdef"}
	for d := range 3 {
		db := Database{Name: fmt.Sprintf(`d%d,[{"\`, d), Views: []string{`v,]`, `"[`}, Events: []string{"e"}}
		for i := range 4 {
			db.Tables = append(db.Tables, Table{Name: fmt.Sprintf("t%d,[],{}", i), Chunks: make([]Range, i)})
		}
		m.Databases = append(m.Databases, db)
	}
	indented, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	compact := new(bytes.Buffer)
	if err := json.Compact(compact, indented); err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{indented, compact.Bytes()} {
		var s manifestScan
		if _, err := s.Write(b); err != nil {
			t.Fatal(err)
		}
		if s.counts != m.counts() {
			t.Errorf("scan counts %+v, manifest has %+v", s.counts, m.counts())
		}
	}
}

// emptyTables is a manifest of n empty tables, 3 bytes each, as a crafted object holds one.
func emptyTables(n int) []byte {
	return []byte(`{"format":1,"id":"x","databases":[{"name":"d","tables":[` + strings.Repeat("{},", n-1) + `{}]}]}`)
}

// A manifest beyond the limits is refused before it is decoded: the 7 million empty tables of
// a 21 MB manifest would take over 1 GB decoded.
func TestManifestLimits(t *testing.T) {
	hostile := emptyTables(7_000_000)
	var err error
	n := allocated(func() { _, err = DecodeManifest(hostile) })
	if !errors.Is(err, ErrVerify) || !strings.Contains(err.Error(), "holds more than 250000 tables, views, routines, triggers and events") {
		t.Errorf("7 M tables: %v", err)
	}
	if n > 1<<20 {
		t.Errorf("7 M tables: %d KiB allocated", n>>10)
	}
	// Read from a stream, it is refused before the reader has read far.
	r := bytes.NewReader(hostile)
	if _, limit, err := readBounded(r, int64(len(hostile))); limit == nil || err != nil {
		t.Errorf("readBounded: %v, %v", limit, err)
	}
	if read := len(hostile) - r.Len(); read > 1<<20 {
		t.Errorf("readBounded read %d KiB of a manifest beyond the limit", read>>10)
	}
	// At the limit, it is decoded (and fails its checksum: it has none).
	if _, err := DecodeManifest(emptyTables(MaxEntries)); err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Errorf("%d tables: %v", MaxEntries, err)
	}
	if _, err := DecodeManifest(bytes.Repeat([]byte(" "), MaxManifestBytes+1)); err == nil || !strings.Contains(err.Error(), "is larger than 67108864 bytes (64 MiB)") {
		t.Errorf("64 MiB + 1: %v", err)
	}
	var deep []byte
	for range maxDepth + 1 {
		deep = append(deep, '[')
	}
	if _, err := DecodeManifest(deep); err == nil || !strings.Contains(err.Error(), "nests deeper") {
		t.Errorf("deep: %v", err)
	}
	// The writer refuses what a reader would.
	m := &Manifest{Format: FormatVersion, ID: "20240101T000000Z-abcdef", Databases: []Database{{Name: "d", Tables: make([]Table, 1), Views: make([]string, MaxEntries)}}}
	if _, err := m.Encode(); err == nil || !strings.Contains(err.Error(), "split the backup") {
		t.Errorf("writer, %d entries: %v", MaxEntries+1, err)
	}
	m.Databases[0].Tables = nil
	enc, err := m.Encode()
	if err != nil {
		t.Fatalf("writer, %d entries: %v", MaxEntries, err)
	}
	if _, err := DecodeManifest(enc); err != nil {
		t.Errorf("reader, %d entries: %v", MaxEntries, err)
	}
}

// A manifest larger than the limit is refused by its size, without being read, and List leaves
// it out.
func TestFetchManifestTooLarge(t *testing.T) {
	dir := t.TempDir()
	b, err := storage.Open(t.Context(), storage.Config{URL: "file://" + dir})
	if err != nil {
		t.Fatal(err)
	}
	good := &Manifest{Format: FormatVersion, ID: "20240101T000000Z-aaaaaa", StartedAt: time.Now()}
	if err := PutManifest(t.Context(), b, good); err != nil {
		t.Fatal(err)
	}
	big := "20240101T000000Z-bbbbbb"
	if err := os.MkdirAll(filepath.Join(dir, big), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, big, ManifestName), bytes.Repeat([]byte(" "), MaxManifestBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	n := allocated(func() { _, err = LoadManifest(t.Context(), b, big) })
	want := "manifest of backup " + big + " (67108865 bytes) is larger than 67108864 bytes (64 MiB)"
	if !errors.Is(err, ErrVerify) || !strings.Contains(err.Error(), want) {
		t.Errorf("LoadManifest: %v, want %q", err, want)
	}
	if n > 1<<20 {
		t.Errorf("LoadManifest allocated %d KiB", n>>10)
	}
	ms, err := List(t.Context(), b)
	if err != nil || len(ms) != 1 || ms[0].ID != good.ID {
		t.Errorf("List: %v, %v; want only %s", ms, err, good.ID)
	}
}
