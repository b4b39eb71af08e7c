package backuptest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"

	"github.com/backupctl/backupctl/backup/format"
)

// SectionWriter writes an object Section by Section through a streaming compressor, each
// Section its own frame. The dump uses the parallel objectWriter; tests build fixtures with this.
type SectionWriter struct {
	out         *format.HashCounter // compressed bytes, as stored
	compression string
	level       int

	frame   format.FrameWriter // current frame; nil between sections
	spare   format.FrameWriter // a closed frame kept for Reset, to avoid an allocation per Section
	Raw     int64              // uncompressed bytes written so far
	start   format.Range       // Offset and RawOffset of the open Section
	rawHash hash.Hash          // SHA-256 of the open Section's uncompressed bytes
}

// NewSectionWriter returns a writer of sections to w, each a frame of its own.
func NewSectionWriter(w io.Writer, compression string, level int) *SectionWriter {
	return &SectionWriter{
		out:         &format.HashCounter{W: w, H: sha256.New()},
		compression: compression,
		level:       level,
		rawHash:     sha256.New(),
	}
}

// resetter is implemented by the zstd and gzip writers: Reset starts a new frame on w.
type resetter interface{ Reset(w io.Writer) }

// begin opens a Section.
func (s *SectionWriter) begin() error {
	if s.frame != nil {
		return errors.New("internal error: section opened twice")
	}
	s.start = format.Range{Offset: s.out.N, RawOffset: s.Raw}
	s.rawHash.Reset()
	if r, ok := s.spare.(resetter); ok {
		r.Reset(s.out)
		s.frame, s.spare = s.spare, nil
		return nil
	}
	f, err := format.NewFrame(s.out, s.compression, s.level)
	if err != nil {
		return err
	}
	s.frame = f
	return nil
}

// Write adds uncompressed bytes to the open Section.
func (s *SectionWriter) Write(p []byte) (int, error) {
	if s.frame == nil {
		return 0, errors.New("internal error: write outside a section")
	}
	n, err := s.frame.Write(p)
	s.Raw += int64(n)
	s.rawHash.Write(p[:n])
	return n, err
}

// WriteString adds s to the open Section.
func (s *SectionWriter) WriteString(str string) (int, error) { return s.Write([]byte(str)) }

// end closes the open Section's frame and returns its range and the SHA-256 of its
// uncompressed bytes.
func (s *SectionWriter) end() (format.Range, string, error) {
	if s.frame == nil {
		return format.Range{}, "", errors.New("internal error: section closed twice")
	}
	err := s.frame.Close()
	s.spare, s.frame = s.frame, nil
	if err != nil {
		return format.Range{}, "", err
	}
	r := s.start
	r.Length = s.out.N - r.Offset
	r.RawLength = s.Raw - r.RawOffset
	return r, hex.EncodeToString(s.rawHash.Sum(nil)), nil
}

// Section writes a whole Section produced by fn.
func (s *SectionWriter) Section(fn func() error) (format.Range, string, error) {
	if err := s.begin(); err != nil {
		return format.Range{}, "", err
	}
	if err := fn(); err != nil {
		return format.Range{}, "", err
	}
	return s.end()
}

// Empty returns a zero-length range at the current position, for a Section left out.
func (s *SectionWriter) Empty() format.Range {
	return format.Range{Offset: s.out.N, RawOffset: s.Raw}
}

// Size and Sum describe the stored object written so far.
func (s *SectionWriter) Size() int64 { return s.out.N }

// Sum is the SHA-256 of the stored bytes written so far.
func (s *SectionWriter) Sum() string { return hex.EncodeToString(s.out.H.Sum(nil)) }
