package backuptest

// sectionWriter writes an object section by section through a streaming compressor, each
// section its own frame. The dump uses the parallel objectWriter; tests build fixtures with this.
type sectionWriter struct {
	out         *hashCounter // compressed bytes, as stored
	compression string
	level       int

	frame   frameWriter // current frame; nil between sections
	spare   frameWriter // a closed frame kept for Reset, to avoid an allocation per section
	raw     int64       // uncompressed bytes written so far
	start   Range       // Offset and RawOffset of the open section
	rawHash hash.Hash   // SHA-256 of the open section's uncompressed bytes
}

func newSectionWriter(w io.Writer, compression string, level int) *sectionWriter {
	return &sectionWriter{
		out:         &hashCounter{w: w, h: sha256.New()},
		compression: compression,
		level:       level,
		rawHash:     sha256.New(),
	}
}

// resetter is implemented by the zstd and gzip writers: Reset starts a new frame on w.
type resetter interface{ Reset(w io.Writer) }

// begin opens a section.
func (s *sectionWriter) begin() error {
	if s.frame != nil {
		return errors.New("internal error: section opened twice")
	}
	s.start = Range{Offset: s.out.n, RawOffset: s.raw}
	s.rawHash.Reset()
	if r, ok := s.spare.(resetter); ok {
		r.Reset(s.out)
		s.frame, s.spare = s.spare, nil
		return nil
	}
	f, err := newFrame(s.out, s.compression, s.level)
	if err != nil {
		return err
	}
	s.frame = f
	return nil
}

// Write adds uncompressed bytes to the open section.
func (s *sectionWriter) Write(p []byte) (int, error) {
	if s.frame == nil {
		return 0, errors.New("internal error: write outside a section")
	}
	n, err := s.frame.Write(p)
	s.raw += int64(n)
	s.rawHash.Write(p[:n])
	return n, err
}

// WriteString adds s to the open section.
func (s *sectionWriter) WriteString(str string) (int, error) { return s.Write([]byte(str)) }

// end closes the open section's frame and returns its range and the SHA-256 of its
// uncompressed bytes.
func (s *sectionWriter) end() (Range, string, error) {
	if s.frame == nil {
		return Range{}, "", errors.New("internal error: section closed twice")
	}
	err := s.frame.Close()
	s.spare, s.frame = s.frame, nil
	if err != nil {
		return Range{}, "", err
	}
	r := s.start
	r.Length = s.out.n - r.Offset
	r.RawLength = s.raw - r.RawOffset
	return r, hex.EncodeToString(s.rawHash.Sum(nil)), nil
}

// section writes a whole section produced by fn.
func (s *sectionWriter) section(fn func() error) (Range, string, error) {
	if err := s.begin(); err != nil {
		return Range{}, "", err
	}
	if err := fn(); err != nil {
		return Range{}, "", err
	}
	return s.end()
}

// empty returns a zero-length range at the current position, for a section left out.
func (s *sectionWriter) empty() Range {
	return Range{Offset: s.out.n, RawOffset: s.raw}
}

// size and sum describe the stored object written so far.
func (s *sectionWriter) size() int64 { return s.out.n }

func (s *sectionWriter) sum() string { return hex.EncodeToString(s.out.h.Sum(nil)) }

