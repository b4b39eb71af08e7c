package verify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sort"
	"strings"

	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/backup/sqltext"
	"github.com/backupctl/backupctl/storage"
)

// Report says what a verification read and found.
type Report struct {
	ID  string `json:"id"`
	Key string `json:"key"`
	// BytesRead is the number of stored bytes read back; RawBytes the uncompressed bytes.
	BytesRead int64  `json:"bytes_read"`
	RawBytes  int64  `json:"raw_bytes"`
	SHA256    string `json:"sha256"`
	Verified  bool   `json:"verified"`
	Tables    int    `json:"tables"`
	// Authenticated says the manifest is signed by the verify key given; KeyID names the key
	// the manifest says signed it, and Note says what was not checked.
	Authenticated bool   `json:"authenticated"`
	KeyID         string `json:"key_id,omitempty"`
	Note          string `json:"note,omitempty"`
}

// ByID loads the manifest of backup id and verifies its object.
func ByID(ctx context.Context, b storage.Bucket, id string) (*Report, error) {
	m, err := format.LoadManifest(ctx, b, id)
	if err != nil {
		return nil, err
	}
	return Backup(ctx, b, m)
}

// errorf is a one-line ErrVerify.
func errorf(msg string, args ...any) error {
	return fmt.Errorf("%w: "+msg, append([]any{format.ErrVerify}, args...)...)
}

// sectionRef is one section of the object with what the manifest says about it.
type sectionRef struct {
	name string // for messages: header, footer, `db`.`t` data, ...
	r    format.Range
	sum  string // expected SHA-256 of the uncompressed bytes, when the manifest has one
	// table is the table of a data section, whose DataSHA256 Record fills in.
	table *format.Table
}

// sections lists every section of m in stream order.
func sections(m *format.Manifest) []sectionRef {
	s := []sectionRef{{name: "header", r: m.Header}}
	for i := range m.Databases {
		d := &m.Databases[i]
		db := sqltext.QuoteIdent(d.Name)
		s = append(s, sectionRef{name: db + " create", r: d.Create})
		for _, t := range d.Tables {
			s = append(s, sectionRef{name: db + "." + sqltext.QuoteIdent(t.Name) + " schema", r: t.Schema})
		}
		for j := range d.Tables {
			t := &d.Tables[j]
			s = append(s, sectionRef{name: db + "." + sqltext.QuoteIdent(t.Name) + " data", r: t.Data, sum: t.DataSHA256, table: t})
		}
		s = append(s, sectionRef{name: db + " post", r: d.Post})
	}
	if m.Accounts != nil {
		s = append(s, sectionRef{name: "accounts", r: m.Accounts.Range})
	}
	s = append(s, sectionRef{name: "footer", r: m.Footer})
	// Zero-length sections hold no frame; the rest must tile the object in order.
	out := s[:0]
	for _, x := range s {
		if x.r.Length > 0 || x.r.RawLength > 0 {
			out = append(out, x)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].r.Offset < out[j].r.Offset })
	return out
}

// checkLayout checks that the manifest's sections tile the object and the raw stream exactly,
// so that every range a restore reads starts a frame and nothing lies between sections.
func checkLayout(m *format.Manifest, secs []sectionRef) error {
	var off, raw int64
	for _, s := range secs {
		if s.r.Offset != off || s.r.RawOffset != raw || s.r.Length <= 0 || s.r.RawLength < 0 {
			return errorf("manifest of %s: %s range (offset %d, length %d, raw offset %d) does not follow the previous section (ends at %d, raw %d)",
				m.ID, oneLineName(s.name), s.r.Offset, s.r.Length, s.r.RawOffset, off, raw)
		}
		off += s.r.Length
		raw += s.r.RawLength
	}
	if off != m.Object.Size || raw != m.Object.RawSize {
		return errorf("manifest of %s: sections end at %d (raw %d) but the object has %d bytes (raw %d)", m.ID, off, raw, m.Object.Size, m.Object.RawSize)
	}
	if len(secs) == 0 || secs[len(secs)-1].name != "footer" {
		return errorf("manifest of %s: the footer is not the last section", m.ID)
	}
	if n := int64(len(format.Footer(m.ID))); m.Footer.RawLength != n {
		return errorf("footer missing: the manifest of %s gives the footer %d uncompressed bytes, a backupctl footer has %d", m.ID, m.Footer.RawLength, n)
	}
	return nil
}

// oneLineName keeps names with newlines from breaking a one-line error.
func oneLineName(s string) string {
	return strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(s)
}

// Backup reads the stored object of m back and checks it against m: its size and SHA-256, that
// every section decompresses alone from its own range (as partial restore reads it), each
// table's data checksum, and the footer as the exact end of the stream.
func Backup(ctx context.Context, b storage.Bucket, m *format.Manifest) (*Report, error) {
	return object(ctx, b, m, nil, nil)
}

// BackupRaw is Backup that also writes the object's uncompressed stream to raw, every section
// in object order, as it checks it: a restore checks the statements in the same pass. Whatever
// raw does with the bytes, or an error it returns (after which it receives no more), changes
// nothing in the verification.
func BackupRaw(ctx context.Context, b storage.Bucket, m *format.Manifest, raw io.Writer) (*Report, error) {
	return object(ctx, b, m, nil, raw)
}

// Written is the object as the dump wrote it, which its read-back must match byte for byte.
type Written struct {
	Size   int64
	CRC32C uint32
}

// Record is the verification of a new backup, before its manifest is written: it checks
// everything Backup checks and records the object's SHA-256 and each table's DataSHA256 from
// the bytes read back, which the dump does not hash itself. Those bytes are the ones the dump
// produced: their size and CRC-32C must be the ones taken as they were written, and every
// frame carries its codec's checksum of the uncompressed bytes it was made from (zstd's XXH64
// content checksum, gzip's CRC-32), which the decompression checks. With compression none the
// stored bytes are the uncompressed ones.
func Record(ctx context.Context, b storage.Bucket, m *format.Manifest, w Written) (*Report, error) {
	return object(ctx, b, m, &w, nil)
}

// object reads the object back and checks it against m; with written (a new backup) it
// checks the stored bytes against those and records their checksums in m.
func object(ctx context.Context, b storage.Bucket, m *format.Manifest, written *Written, raw io.Writer) (*Report, error) {
	record := written != nil
	rep := &Report{ID: m.ID, Key: m.Object.Key, Tables: m.TableCount()}
	secs := sections(m)
	if err := checkLayout(m, secs); err != nil {
		return rep, err
	}
	info, err := b.Stat(ctx, m.Object.Key)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return rep, errorf("object %s of backup %s is missing from %s", m.Object.Key, m.ID, b)
		}
		return rep, fmt.Errorf("stat %s: %w", m.Object.Key, err)
	}
	if info.Size != m.Object.Size {
		return rep, errorf("object %s size mismatch: %d bytes stored, manifest says %d (truncated or replaced)", m.Object.Key, info.Size, m.Object.Size)
	}
	rc, err := b.Get(ctx, m.Object.Key)
	if err != nil {
		return rep, fmt.Errorf("read %s: %w", m.Object.Key, err)
	}
	defer rc.Close()
	// Everything read from the object is counted and hashed on its way through, by a stage of
	// its own: hashing the stored bytes, decompressing and hashing the raw bytes run on
	// separate cores.
	crc := crc32.New(format.Castagnoli)
	cr := &format.HashCounter{W: crc, H: sha256.New()}
	in := readAhead(io.TeeReader(rc, cr))
	defer in.Close()
	sectionErr := readSections(ctx, in, m, secs, rep, record, raw)
	// Read whatever is left so that the SHA-256 covers the whole object even after a bad
	// section: a changed byte is then reported as what it is, a checksum mismatch.
	if _, err := io.Copy(io.Discard, in); err != nil && sectionErr == nil {
		return rep, fmt.Errorf("read %s: %w", m.Object.Key, err)
	}
	rep.BytesRead = cr.N
	rep.SHA256 = hex.EncodeToString(cr.H.Sum(nil))
	if ctx.Err() != nil {
		return rep, ctx.Err()
	}
	if cr.N != m.Object.Size {
		return rep, errorf("object %s size mismatch: read %d bytes, manifest says %d (truncated)", m.Object.Key, cr.N, m.Object.Size)
	}
	switch {
	case record && crc.Sum32() != written.CRC32C:
		return rep, errorf("object %s read back differs from what was written: CRC-32C %08x, written %08x (the store changed it)", m.Object.Key, crc.Sum32(), written.CRC32C)
	case record:
		m.Object.SHA256 = rep.SHA256
	case rep.SHA256 != m.Object.SHA256:
		return rep, errorf("object %s checksum mismatch: SHA-256 %s, manifest says %s (the object was changed)", m.Object.Key, rep.SHA256, m.Object.SHA256)
	}
	if sectionErr != nil {
		return rep, sectionErr
	}
	rep.Verified = true
	return rep, nil
}

// readSections decompresses each section alone from its range of r and checks it.
func readSections(ctx context.Context, r io.Reader, m *format.Manifest, secs []sectionRef, rep *Report, record bool, raw io.Writer) error {
	h := newAsyncHash(raw)
	defer h.Close()
	footer := format.Footer(m.ID)
	buf := make([]byte, 256<<10)
	var dec *format.SectionDecoder
	var cd *chunkDecoder
	defer func() {
		if dec != nil {
			dec.Close()
		}
		if cd != nil {
			cd.close()
		}
	}()
	for _, s := range secs {
		if err := ctx.Err(); err != nil {
			return err
		}
		var n int64
		var tail []byte
		chunked, err := chunkedSection(s)
		if err == nil && chunked && cd == nil {
			cd, err = newChunkDecoder(m.Object.Compression)
		}
		switch {
		case err != nil:
			return err
		case chunked:
			n, err = readChunks(ctx, r, m.Object.Key, s, cd, h)
			rep.RawBytes += n
		default:
			n, tail, err = readStream(r, m, s, &dec, h, buf)
			rep.RawBytes += n
		}
		if err != nil {
			return err
		}
		if n != s.r.RawLength {
			return errorf("%s section has %d uncompressed bytes, manifest says %d", oneLineName(s.name), n, s.r.RawLength)
		}
		got := hex.EncodeToString(h.SumReset())
		switch {
		case record && s.table != nil:
			s.table.DataSHA256 = got
		case s.sum != "" && got != s.sum:
			return errorf("table %s checksum mismatch", oneLineName(strings.TrimSuffix(s.name, " data")))
		}
		if s.name == "footer" && !bytes.Equal(tail, []byte(footer)) {
			return errorf("footer missing: the stream does not end with %q", strings.TrimSpace(footer))
		}
	}
	return nil
}

// readStream decompresses one section from its range of r as a stream, writing the
// uncompressed bytes to h; it returns their count, and the footer's bytes for the footer. It
// decompresses at most one byte more than the manifest says the section holds.
func readStream(r io.Reader, m *format.Manifest, s sectionRef, dec **format.SectionDecoder, h io.Writer, buf []byte) (n int64, tail []byte, err error) {
	lr := &io.LimitedReader{R: r, N: s.r.Length}
	if *dec == nil {
		*dec, err = format.NewSectionDecoder(lr, m.Object.Compression)
	} else {
		err = (*dec).Reset(lr)
	}
	if err != nil {
		return n, tail, errorf("backup %s: %s section does not decompress: %v", m.ID, oneLineName(s.name), err)
	}
	raw := io.LimitReader(*dec, s.r.RawLength+1)
	keep := 0 // bytes of the footer kept for the comparison: one more than a footer has
	if s.name == "footer" {
		keep = len(format.Footer(m.ID)) + 1
	}
	for {
		k, err := raw.Read(buf)
		if k > 0 {
			h.Write(buf[:k])
			n += int64(k)
			if len(tail) < keep {
				tail = append(tail, buf[:min(k, keep-len(tail))]...)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			if lr.N > 0 && errors.Is(err, io.ErrUnexpectedEOF) {
				return n, tail, errorf("object %s is truncated in the %s section", m.Object.Key, oneLineName(s.name))
			}
			return n, tail, errorf("backup %s: %s section does not decompress: %v", m.ID, oneLineName(s.name), err)
		}
	}
	if n > s.r.RawLength {
		return n, tail, errorf("backup %s: %s section decompresses to more than the %d bytes the manifest says", m.ID, oneLineName(s.name), s.r.RawLength)
	}
	if lr.N != 0 {
		// The stream ended early (truncated) or the frame ended before its range.
		if _, err := io.Copy(io.Discard, lr); err != nil || lr.N != 0 {
			return n, tail, errorf("object %s is truncated in the %s section", m.Object.Key, oneLineName(s.name))
		}
		return n, tail, errorf("%s section ends before its range: the manifest does not match the object", oneLineName(s.name))
	}
	return n, tail, nil
}
