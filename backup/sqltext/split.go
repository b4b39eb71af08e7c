package sqltext

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// DefaultMaxStatement bounds one statement held in memory by a Splitter: MariaDB's largest
// max_allowed_packet, so anything the server could take fits.
const DefaultMaxStatement = 1 << 30

// Statement is one statement of a SQL stream, without its delimiter.
type Statement struct {
	SQL string
	// Offset is the raw stream offset of the statement's first byte (after leading blanks and
	// comments); it locates the statement in the manifest's raw ranges.
	Offset int64
	// End is the raw offset just past the statement's delimiter.
	End int64
	// Mode is the session's lexing mode the statement runs under (before it runs).
	Mode Mode
}

// Splitter cuts a SQL stream into statements: statements end at the current delimiter outside
// quotes and comments, /*! ... */ is statement content, and DELIMITER lines change the
// delimiter, as the stock mariadb client does. Quotes are lexed as the server lexes them under
// the session the stream sets up: after each statement the Splitter follows what it sets
// (sql_mode's NO_BACKSLASH_ESCAPES and ANSI_QUOTES, the client character set's multi-byte
// characters; see Mode.Track). A line that turns on the client's sandbox mode
// (SandboxLine) is skipped. It holds one statement at a time.
type Splitter struct {
	r     io.Reader
	buf   []byte
	pos   int   // next unread byte in buf
	end   int   // end of valid bytes in buf
	base  int64 // raw offset of buf[0]
	err   error // sticky read error (io.EOF at the end)
	delim []byte
	stmt  []byte
	// Max is the largest statement accepted, in bytes; DefaultMaxStatement when zero.
	Max int
	// Mode is the session's lexing mode at the current position; the zero Mode at the start
	// of a stream (or of a span starting at a section: see docs/FORMAT.md).
	Mode Mode
}

// SandboxLine is the line mariadb-dump writes first, and a backup's object starts with: the
// stock mariadb client (10.5.25, 10.6.18, 10.11.8, 11.x and later) enters its sandbox mode,
// which refuses client commands such as \! (shell), \. (source) and \T (tee); the server
// reads it as a comment.
const SandboxLine = "/*M!999999\\- enable the sandbox mode */"

// NewSplitter reads statements from r, whose first byte is at raw offset base.
func NewSplitter(r io.Reader, base int64) *Splitter {
	return &Splitter{r: r, buf: make([]byte, 256<<10), base: base, delim: []byte(";")}
}

// Delimiter returns the current delimiter.
func (s *Splitter) Delimiter() string { return string(s.delim) }

// fill makes at least n bytes available after pos unless the stream ends first; it reports
// whether they are there.
func (s *Splitter) fill(n int) bool {
	for s.end-s.pos < n {
		if s.err != nil {
			return false
		}
		if s.pos > 0 {
			copy(s.buf, s.buf[s.pos:s.end])
			s.base += int64(s.pos)
			s.end -= s.pos
			s.pos = 0
		}
		if s.end == len(s.buf) {
			nb := make([]byte, 2*len(s.buf))
			copy(nb, s.buf[:s.end])
			s.buf = nb
		}
		m, err := s.r.Read(s.buf[s.end:])
		s.end += m
		if err != nil {
			s.err = err
		}
	}
	return true
}

// offset is the raw offset of the next unread byte.
func (s *Splitter) offset() int64 { return s.base + int64(s.pos) }

// peekByte returns the byte at pos+i, or -1 past the end of the stream.
func (s *Splitter) peekByte(i int) int {
	if !s.fill(i + 1) {
		return -1
	}
	return int(s.buf[s.pos+i])
}

// readErr turns the sticky read error into what Next returns once the stream ends.
func (s *Splitter) readErr() error {
	if s.err == io.EOF {
		return nil
	}
	return s.err
}

// keep moves n bytes from the buffer into the current statement.
func (s *Splitter) keep(n int) error {
	if len(s.stmt)+n > s.max() {
		return fmt.Errorf("statement at offset %d is longer than %d bytes", s.offset()-int64(len(s.stmt)), s.max())
	}
	s.stmt = append(s.stmt, s.buf[s.pos:s.pos+n]...)
	s.pos += n
	return nil
}

func (s *Splitter) max() int {
	if s.Max > 0 {
		return s.Max
	}
	return DefaultMaxStatement
}

// Next returns the next statement, or io.EOF after the last one. A statement left without a
// delimiter at the end of the stream is returned too, as the client would send it. After a read
// error Next returns that error, even if complete statements are still buffered.
func (s *Splitter) Next() (Statement, error) {
	for {
		// A failed read stops at once, even with statements still buffered: the reader may have
		// found the stream damaged, and nothing after that point should be applied.
		if err := s.readErr(); err != nil {
			return Statement{}, err
		}
		if err := s.skipBlank(); err != nil {
			return Statement{}, err
		}
		if s.peekByte(0) < 0 {
			if err := s.readErr(); err != nil {
				return Statement{}, err
			}
			return Statement{}, io.EOF
		}
		start := s.offset()
		if ok, err := s.delimiterCommand(); err != nil {
			return Statement{}, err
		} else if ok {
			continue
		}
		s.stmt = s.stmt[:0]
		if err := s.scan(); err != nil {
			return Statement{}, err
		}
		sql := bytes.TrimRight(s.stmt, " \t\r\n")
		if len(sql) == 0 {
			continue // a lone delimiter: the client sends nothing either
		}
		st := Statement{SQL: string(sql), Offset: start, End: s.offset(), Mode: s.Mode}
		s.Mode.Track(st.SQL)
		return st, nil
	}
}

// skipBlank skips whitespace and comments before a statement. Executable comments (/*! and
// /*M!) are statement content and stop it.
func (s *Splitter) skipBlank() error {
	for {
		c := s.peekByte(0)
		switch {
		case c < 0:
			return s.readErr()
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			s.pos++
		case c == '#' || (c == '-' && s.isDashComment()):
			s.skipLine()
		case c == '/' && s.peekByte(1) == '*' && !s.isExecComment():
			if err := s.blockComment(false); err != nil {
				return err
			}
		case c == '/' && s.fill(len(SandboxLine)) && string(s.buf[s.pos:s.pos+len(SandboxLine)]) == SandboxLine:
			s.pos += len(SandboxLine)
		default:
			return nil
		}
	}
}

// isDashComment reports whether "--" followed by a blank or control character starts at pos,
// the client's rule for a -- comment.
func (s *Splitter) isDashComment() bool {
	if s.peekByte(0) != '-' || s.peekByte(1) != '-' {
		return false
	}
	c := s.peekByte(2)
	return c < 0 || c <= ' '
}

// isExecComment reports whether /*! or /*M! starts at pos.
func (s *Splitter) isExecComment() bool {
	if s.peekByte(0) != '/' || s.peekByte(1) != '*' {
		return false
	}
	c := s.peekByte(2)
	return c == '!' || (c == 'M' && s.peekByte(3) == '!')
}

func (s *Splitter) skipLine() {
	for {
		if !s.fill(1) {
			return
		}
		if i := bytes.IndexByte(s.buf[s.pos:s.end], '\n'); i >= 0 {
			s.pos += i + 1
			return
		}
		s.pos = s.end
	}
}

// blockComment passes a /* ... */ comment, copying it into the statement when keep is set.
func (s *Splitter) blockComment(keep bool) error {
	advance := func(n int) error {
		if keep {
			return s.keep(n)
		}
		s.pos += n
		return nil
	}
	start := s.offset()
	if err := advance(2); err != nil {
		return err
	}
	for {
		if !s.fill(2) {
			if err := s.readErr(); err != nil {
				return err
			}
			return fmt.Errorf("comment at offset %d is not closed", start)
		}
		if i := bytes.Index(s.buf[s.pos:s.end], []byte("*/")); i >= 0 {
			return advance(i + 2)
		}
		if err := advance(s.end - s.pos - 1); err != nil { // keep a trailing '*'
			return err
		}
	}
}

// delimiterCommand handles a DELIMITER line at the start of a statement, as the client does:
// the new delimiter is the first word after it (the rest of the line is ignored).
func (s *Splitter) delimiterCommand() (bool, error) {
	const kw = "delimiter"
	if !s.fill(len(kw) + 1) {
		return false, nil
	}
	if !bytes.EqualFold(s.buf[s.pos:s.pos+len(kw)], []byte(kw)) {
		return false, nil
	}
	if c := s.buf[s.pos+len(kw)]; c != ' ' && c != '\t' {
		return false, nil
	}
	start := s.offset()
	s.pos += len(kw)
	var line []byte
	for {
		c := s.peekByte(0)
		if c < 0 || c == '\n' {
			break
		}
		line = append(line, byte(c))
		s.pos++
		if len(line) > 1024 {
			return false, fmt.Errorf("DELIMITER line at offset %d is too long", start)
		}
	}
	f := bytes.Fields(line)
	if len(f) == 0 {
		return false, fmt.Errorf("DELIMITER at offset %d names no delimiter", start)
	}
	d := f[0]
	// The client strips a quoted delimiter's quotes.
	if len(d) >= 2 && (d[0] == '\'' || d[0] == '"' || d[0] == '`') && d[len(d)-1] == d[0] {
		d = d[1 : len(d)-1]
	}
	if len(d) == 0 || bytes.Contains(d, []byte(`\`)) {
		return false, fmt.Errorf("DELIMITER at offset %d: %q is not a usable delimiter", start, d)
	}
	s.delim = append([]byte(nil), d...)
	return true, nil
}

// scan reads one statement into s.stmt up to and excluding its delimiter.
func (s *Splitter) scan() error {
	for {
		if !s.fill(1) {
			return s.readErr() // the stream ended: what was read is the last statement
		}
		c := s.buf[s.pos]
		switch {
		case c == s.delim[0] && s.atDelimiter():
			s.pos += len(s.delim)
			return nil
		case c >= 0x80 && s.Mode.Multibyte != "" && s.fill(2) && s.Mode.mbLen(s.buf[s.pos:s.pos+2]) == 2:
			// A two-byte character of the client character set: its second byte may look
			// like a backtick, which the server does not take for one.
			if err := s.keep(2); err != nil {
				return err
			}
		case c == '\'' || c == '"' || c == '`':
			if err := s.quoted(c); err != nil {
				return err
			}
		case c == '#' || (c == '-' && s.isDashComment()):
			// Kept as content so that text inside stays what the server sees; it ends at a newline.
			if err := s.keepUntil('\n'); err != nil {
				return err
			}
		case c == '/' && s.peekByte(1) == '*' && !s.isExecComment():
			if err := s.blockComment(true); err != nil {
				return err
			}
		default:
			// Keep the run of bytes that cannot start anything special in one go: most of a
			// dump is numbers and punctuation between strings.
			n := 1
			if s.Mode.Multibyte == "" {
				for s.pos+n < s.end && !s.special(s.buf[s.pos+n]) {
					n++
				}
			} else {
				for s.pos+n < s.end && !s.special(s.buf[s.pos+n]) && s.buf[s.pos+n] < 0x80 {
					n++
				}
			}
			if err := s.keep(n); err != nil {
				return err
			}
		}
	}
}

// special reports whether c may start a quote, a comment or the delimiter.
func (s *Splitter) special(c byte) bool {
	switch c {
	case '\'', '"', '`', '#', '-', '/':
		return true
	}
	return c == s.delim[0]
}

func (s *Splitter) atDelimiter() bool {
	if !s.fill(len(s.delim)) {
		return false
	}
	return bytes.Equal(s.buf[s.pos:s.pos+len(s.delim)], s.delim)
}

// quoted keeps a quoted string or identifier, opening quote included, lexed as the server
// does under s.Mode: backslash escapes apply in strings unless NO_BACKSLASH_ESCAPES (and "..." is
// an identifier under ANSI_QUOTES); a doubled quote is simply a close and a reopen; a
// multi-byte character's second byte is never a quote or an escape.
func (s *Splitter) quoted(q byte) error {
	start := s.offset()
	if err := s.keep(1); err != nil {
		return err
	}
	esc := s.Mode.escapes(q)
	mb := s.Mode.Multibyte != ""
	stops := ""
	if mb {
		stops = quoteStops[q]
		if esc {
			stops = escapeStops[q]
		}
	}
	for {
		if !s.fill(1) {
			if err := s.readErr(); err != nil {
				return err
			}
			return fmt.Errorf("quote %c opened at offset %d is not closed", q, start)
		}
		var i int
		n := s.end - s.pos // bytes that may be kept when no stop is found
		if mb {
			i, n = s.nextStop(stops)
		} else {
			i = stopIndex(s.buf[s.pos:s.end], q, esc, bytes.IndexByte)
		}
		if i < 0 {
			if n == 0 {
				// A lead byte ends the buffer: read its second byte, then keep the character.
				n = 1
				if s.fill(2) {
					n = s.Mode.mbLen(s.buf[s.pos : s.pos+2])
				}
			}
			if err := s.keep(n); err != nil {
				return err
			}
			continue
		}
		if err := s.keep(i); err != nil {
			return err
		}
		if s.buf[s.pos] == q {
			return s.keep(1)
		}
		// A backslash: keep it and the byte it escapes (a whole character).
		n = 2
		if s.fill(3) && mb {
			n = 1 + s.Mode.mbLen(s.buf[s.pos+1:s.pos+3])
		} else if !s.fill(2) {
			n = s.end - s.pos
		}
		if err := s.keep(n); err != nil {
			return err
		}
	}
}

// quoteStops and escapeStops are the bytes that end a run of a quoted token's content in a
// multi-byte character set (stopIndex finds them otherwise).
var (
	quoteStops  = map[byte]string{'\'': "'", '"': `"`, '`': "`"}
	escapeStops = map[byte]string{'\'': `'\`, '"': `"\`}
)

// nextStop returns the index after pos of the first byte of stops that is not the second byte
// of a multi-byte character, or -1 and the number of bytes that hold whole characters when the
// buffer holds none (a lead byte at the buffer's end waits for its second byte).
func (s *Splitter) nextStop(stops string) (int, int) {
	b := s.buf[s.pos:s.end]
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c >= 0x80 {
			if i+1 == len(b) {
				return -1, i
			}
			i += s.Mode.mbLen(b[i:]) - 1
			continue
		}
		if strings.IndexByte(stops, c) >= 0 {
			return i, 0
		}
	}
	return -1, len(b)
}

func (s *Splitter) keepUntil(c byte) error {
	for {
		if !s.fill(1) {
			return s.readErr()
		}
		if i := bytes.IndexByte(s.buf[s.pos:s.end], c); i >= 0 {
			return s.keep(i + 1)
		}
		if err := s.keep(s.end - s.pos); err != nil {
			return err
		}
	}
}
