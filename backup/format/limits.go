package format

import (
	"bytes"
	"fmt"
	"io"
)

// Limits of what a reader accepts as a manifest (docs/FORMAT.md, "Limits"). They are checked
// while the manifest is read, before it is decoded, so that a crafted object cannot make a
// reader allocate far more than its size: decoded, an empty table ("{}", 3 bytes) takes about
// 150 bytes. The writer refuses a manifest beyond them, so a backup it reports as written can
// always be read.
//
// A table takes 400 to 530 bytes of the manifest's indented JSON and a chunk about 170, so
// MaxManifestBytes holds about 125,000 tables with their checksums and ranges.
const (
	// MaxManifestBytes bounds the size of a manifest.
	MaxManifestBytes = 64 << 20
	// MaxDatabases bounds the databases of a manifest.
	MaxDatabases = 100_000
	// MaxEntries bounds the tables, views, routines, triggers and events, over all databases.
	MaxEntries = 250_000
	// MaxChunks bounds the chunks, over all tables.
	MaxChunks = 500_000
	// maxDepth bounds the nesting of a manifest's JSON: the deepest, a chunk, is at depth 6.
	maxDepth = 16
)

// manifestCounts counts what a manifest holds, for the limits above.
type manifestCounts struct{ databases, entries, chunks int }

// check says which limit the counts exceed, as the end of a sentence about the manifest.
func (c manifestCounts) check() error {
	for _, l := range []struct {
		n, max int
		what   string
	}{
		{c.databases, MaxDatabases, "databases"},
		{c.entries, MaxEntries, "tables, views, routines, triggers and events"},
		{c.chunks, MaxChunks, "table chunks"},
	} {
		if l.n > l.max {
			return fmt.Errorf("holds more than %d %s, the limit of a backupctl manifest", l.max, l.what)
		}
	}
	return nil
}

// counts returns the counts of m.
func (m *Manifest) counts() manifestCounts {
	c := manifestCounts{databases: len(m.Databases)}
	for _, d := range m.Databases {
		c.entries += len(d.Tables) + len(d.Views) + len(d.Routines) + len(d.Triggers) + len(d.Events)
		for _, t := range d.Tables {
			c.chunks += len(t.Chunks)
		}
	}
	return c
}

// manifestScan counts the elements of a manifest's JSON arrays as its bytes go by, without
// decoding or allocating: elements of arrays at nesting depth 1 are databases, at depth 2 a
// database's tables and names, deeper a table's chunks. It does not check the syntax (the
// decoder does); it only bounds what decoding would allocate. Counting by depth, not by key,
// also counts what a key spelled in another case would decode into.
type manifestScan struct {
	n        int64
	counts   manifestCounts
	stack    [maxDepth]byte // '{' or '['
	depth    int
	arrays   int  // '[' in stack
	first    bool // an array was just opened: the next value is its first element
	inString bool
	escape   bool
}

// Write scans p; it fails as soon as the manifest is beyond a limit.
func (s *manifestScan) Write(p []byte) (int, error) {
	for i, c := range p {
		if s.inString {
			switch {
			case s.escape:
				s.escape = false
			case c == '\\':
				s.escape = true
			case c == '"':
				s.inString = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		if s.first {
			s.first = false
			if c != ']' {
				if err := s.element(); err != nil {
					return i, err
				}
			}
		}
		switch c {
		case '"':
			s.inString = true
		case '{', '[':
			if s.depth == maxDepth {
				return i, fmt.Errorf("nests deeper than %d levels, which a backupctl manifest never does", maxDepth)
			}
			s.stack[s.depth] = c
			s.depth++
			if c == '[' {
				s.arrays++
				s.first = true
			}
		case '}', ']':
			if s.depth > 0 {
				s.depth--
				if s.stack[s.depth] == '[' {
					s.arrays--
				}
			}
		case ',':
			if s.depth > 0 && s.stack[s.depth-1] == '[' {
				if err := s.element(); err != nil {
					return i, err
				}
			}
		}
	}
	s.n += int64(len(p))
	if s.n > MaxManifestBytes {
		return len(p), fmt.Errorf("is larger than %d bytes (%d MiB), the limit of a backupctl manifest", MaxManifestBytes, MaxManifestBytes>>20)
	}
	return len(p), nil
}

// element counts one array element and checks the limits.
func (s *manifestScan) element() error {
	switch s.arrays {
	case 1:
		s.counts.databases++
	case 2:
		s.counts.entries++
	default:
		s.counts.chunks++
	}
	return s.counts.check()
}

// boundedManifest holds a manifest's bytes as they are read, scanned first.
type boundedManifest struct {
	scan  manifestScan
	buf   bytes.Buffer
	limit error // the limit the manifest is beyond, as the end of a sentence about it
}

func (b *boundedManifest) Write(p []byte) (int, error) {
	if _, err := b.scan.Write(p); err != nil {
		b.limit = err
		return 0, err
	}
	return b.buf.Write(p)
}

// readBounded reads a manifest of about size bytes from r, at most MaxManifestBytes+1 bytes of
// it, and stops as soon as it is beyond a limit: limit then ends a sentence about the manifest.
// err is r's. The buffer is sized for size up to 1 MiB, and grows with what is read beyond: a
// crafted manifest refused early does not cost its size.
func readBounded(r io.Reader, size int64) (data []byte, limit, err error) {
	var b boundedManifest
	b.buf.Grow(int(min(max(size, 0), 1<<20) + bytes.MinRead))
	_, err = io.Copy(&b, io.LimitReader(r, MaxManifestBytes+1))
	if b.limit != nil {
		return nil, b.limit, nil
	}
	return b.buf.Bytes(), nil, err
}
