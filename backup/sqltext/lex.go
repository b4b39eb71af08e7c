package sqltext

import (
	"strings"
)

// Mode is what changes how the server lexes a statement: the session's sql_mode flags that
// change quoting, and a character set whose multi-byte characters may hold a quote or a
// backslash as their second byte. The zero Mode is the dump header's session (utf8mb4, no
// NO_BACKSLASH_ESCAPES, no ANSI_QUOTES).
type Mode struct {
	// NoBackslashEscapes: `\` is an ordinary character in strings.
	NoBackslashEscapes bool
	// ANSIQuotes: "..." is an identifier, not a string.
	ANSIQuotes bool
	// Multibyte is the client character set's family when its characters can have a second
	// byte in 0x40-0x7E (sjis, cp932, gbk, big5): "" otherwise.
	Multibyte string
}

// SetSQLMode sets the flags from a sql_mode value as SET sql_mode takes it.
func (m *Mode) SetSQLMode(v string) {
	m.NoBackslashEscapes, m.ANSIQuotes = false, false
	for _, f := range strings.Split(strings.ToUpper(v), ",") {
		switch strings.TrimSpace(f) {
		case "NO_BACKSLASH_ESCAPES":
			m.NoBackslashEscapes = true
		case "ANSI_QUOTES", "ANSI", "DB2", "MAXDB", "MSSQL", "ORACLE", "POSTGRESQL":
			m.ANSIQuotes = true
		}
	}
}

// SetCharset sets the client character set.
func (m *Mode) SetCharset(cs string) {
	switch strings.ToLower(cs) {
	case "sjis", "cp932":
		m.Multibyte = "sjis"
	case "gbk":
		m.Multibyte = "gbk"
	case "big5":
		m.Multibyte = "big5"
	default:
		m.Multibyte = ""
	}
}

// mbLen returns 2 when b starts with a two-byte character of the mode's character set, as the
// server's my_ismbchar decides, else 1.
func (m Mode) mbLen(b []byte) int {
	if m.Multibyte == "" || len(b) < 2 {
		return 1
	}
	c, d := b[0], b[1]
	switch m.Multibyte {
	case "sjis":
		if ((c >= 0x81 && c <= 0x9f) || (c >= 0xe0 && c <= 0xfc)) && ((d >= 0x40 && d <= 0x7e) || (d >= 0x80 && d <= 0xfc)) {
			return 2
		}
	case "gbk":
		if c >= 0x81 && c <= 0xfe && ((d >= 0x40 && d <= 0x7e) || (d >= 0x80 && d <= 0xfe)) {
			return 2
		}
	case "big5":
		if c >= 0xa1 && c <= 0xf9 && ((d >= 0x40 && d <= 0x7e) || (d >= 0xa1 && d <= 0xfe)) {
			return 2
		}
	}
	return 1
}

// escapes reports whether `\` escapes the next byte inside a token opened by quote q.
func (m Mode) escapes(q byte) bool {
	switch q {
	case '\'':
		return !m.NoBackslashEscapes
	case '"':
		return !m.NoBackslashEscapes && !m.ANSIQuotes
	}
	return false
}

// QuotedEnd returns the index just past the quoted string or identifier that starts at s[i]
// (s[i] is its quote), lexed as the server lexes it under m; len(s) when it is not closed.
func QuotedEnd(s string, i int, m Mode) int {
	q := s[i]
	esc := m.escapes(q)
	if m.Multibyte == "" { // no character hides a quote or a backslash: jump between them
		for j := i + 1; j < len(s); {
			k := stopIndex(s[j:], q, esc, strings.IndexByte)
			if k < 0 {
				break
			}
			j += k
			switch {
			case s[j] == '\\':
				j += 2 // and the byte it escapes
			case j+1 < len(s) && s[j+1] == q:
				j += 2 // a doubled quote
			default:
				return j + 1
			}
		}
		return len(s)
	}
	for j := i + 1; j < len(s); j++ {
		c := s[j]
		if c >= 0x80 && m.Multibyte != "" && m.mbLen([]byte(s[j:min(j+2, len(s))])) == 2 {
			j++
			continue
		}
		switch {
		case c == '\\' && esc:
			j++
		case c == q:
			if j+1 < len(s) && s[j+1] == q {
				j++ // a doubled quote
				continue
			}
			return j + 1
		}
	}
	return len(s)
}

// TokenKind says what a Token is.
type TokenKind uint8

const (
	// Word is an unquoted identifier or keyword.
	Word TokenKind = iota
	// Ident is a quoted identifier, unquoted in Text.
	Ident
	// String is a string literal, Text its value (escapes resolved).
	String
	// Number is a number or a 0x hex literal (X'..' is a Word then a String).
	Number
	// Punct is one byte of punctuation or an operator.
	Punct
)

// Token is one token of a statement.
type Token struct {
	Kind TokenKind
	Text string
	// Raw is the token as written, quotes included.
	Raw string
	// Pos is the token's byte offset in the statement.
	Pos int
}

// Is reports whether t is the unquoted keyword w (case-insensitive).
func (t Token) Is(w string) bool { return t.Kind == Word && strings.EqualFold(t.Text, w) }

// Tokens lexes stmt under m as the server does and returns its first limit tokens (all when
// limit <= 0). Comments are dropped; executable comments (/*! and /*M! with their version) are
// read as code, their closing */ dropped.
func Tokens(stmt string, m Mode, limit int) []Token {
	var out []Token
	EachToken(stmt, m, func(t Token) bool {
		switch t.Kind {
		case Ident:
			q := t.Raw[0]
			t.Text = strings.ReplaceAll(t.Raw[1:max(1, len(t.Raw)-1)], string([]byte{q, q}), string(q))
		case String:
			t.Text = unquote(t.Raw, m)
		}
		out = append(out, t)
		return limit <= 0 || len(out) < limit
	})
	return out
}

// EachToken calls fn with each token of stmt, lexed as Tokens does, until fn returns false. Its
// tokens' Text is their raw bytes (Raw) for every kind: no allocation per token.
func EachToken(stmt string, m Mode, fn func(Token) bool) {
	for i := 0; i < len(stmt); {
		c := stmt[i]
		start, kind := i, Punct
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v':
			i++
			continue
		case c == '#' || (c == '-' && strings.HasPrefix(stmt[i:], "--") && (i+2 >= len(stmt) || stmt[i+2] <= ' ')):
			if j := strings.IndexByte(stmt[i:], '\n'); j >= 0 {
				i += j + 1
			} else {
				i = len(stmt)
			}
			continue
		case strings.HasPrefix(stmt[i:], "/*!") || strings.HasPrefix(stmt[i:], "/*M!"):
			i += strings.IndexByte(stmt[i:], '!') + 1
			for i < len(stmt) && stmt[i] >= '0' && stmt[i] <= '9' {
				i++ // the version number
			}
			continue
		case strings.HasPrefix(stmt[i:], "*/"):
			i += 2 // end of an executable comment
			continue
		case strings.HasPrefix(stmt[i:], "/*"):
			if j := strings.Index(stmt[i+2:], "*/"); j >= 0 {
				i += 2 + j + 2
			} else {
				i = len(stmt)
			}
			continue
		case c == '`' || (c == '"' && m.ANSIQuotes):
			i, kind = QuotedEnd(stmt, i, m), Ident
		case c == '\'' || c == '"':
			i, kind = QuotedEnd(stmt, i, m), String
		case c >= '0' && c <= '9':
			for i < len(stmt) && (identByte(stmt[i]) || stmt[i] == '.') {
				i++
			}
			kind = Number
		case identByte(c):
			for i < len(stmt) && identByte(stmt[i]) {
				i += m.mbLen([]byte(stmt[i:min(i+2, len(stmt))]))
			}
			i, kind = min(i, len(stmt)), Word
		default:
			i++
		}
		if !fn(Token{Kind: kind, Text: stmt[start:i], Raw: stmt[start:i], Pos: start}) {
			return
		}
	}
}

// identByte reports whether c may appear in an unquoted identifier (multi-byte characters
// included).
func identByte(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// unquote returns the value of the quoted literal q (quotes included) under m: a doubled quote
// is one, backslash escapes apply where m.escapes says, and a multi-byte character is copied
// whole (its second byte is never an escape or a quote).
func unquote(q string, m Mode) string {
	if len(q) < 2 {
		return ""
	}
	quote, esc := q[0], m.escapes(q[0])
	body := q[1 : len(q)-1]
	var b []byte
	for j := 0; j < len(body); j++ {
		c := body[j]
		if c >= 0x80 && m.mbLen([]byte(body[j:min(j+2, len(body))])) == 2 {
			b = append(b, c, body[j+1])
			j++
			continue
		}
		switch {
		case c == quote && j+1 < len(body) && body[j+1] == quote:
			b = append(b, quote)
			j++
		case c == '\\' && esc && j+1 < len(body):
			j++
			b = appendUnescaped(b, body[j])
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

// appendUnescaped appends what a backslash and e stand for in a string literal.
func appendUnescaped(b []byte, e byte) []byte {
	switch e {
	case '0':
		return append(b, 0)
	case 'n':
		return append(b, '\n')
	case 'r':
		return append(b, '\r')
	case 't':
		return append(b, '\t')
	case 'b':
		return append(b, '\b')
	case 'Z':
		return append(b, 0x1a)
	case '%', '_':
		return append(b, '\\', e) // kept with their backslash, as the server does
	}
	return append(b, e)
}

// Assignment is one variable a SET statement assigns.
type Assignment struct {
	// Name is the variable's name in lower case; "names" for SET NAMES.
	Name string
	// Scope is "session" (also for no scope given), "global", or "user" for @var.
	Scope string
	// Value is the assigned value's tokens, up to the next comma at the top level.
	Value []Token
}

// ParseSet parses a SET statement; ok is false for any other statement. SET NAMES cs [COLLATE
// c] gives one assignment named "names" whose value is the character set.
func ParseSet(stmt string, m Mode) (as []Assignment, ok bool) {
	toks := Tokens(stmt, m, 0)
	if len(toks) < 2 || !toks[0].Is("SET") {
		return nil, false
	}
	toks = toks[1:]
	if toks[0].Is("NAMES") || toks[0].Is("CHARACTER") {
		n := 1
		if toks[0].Is("CHARACTER") {
			if len(toks) < 2 || !toks[1].Is("SET") {
				return nil, false
			}
			n = 2
		}
		return []Assignment{{Name: "names", Scope: "session", Value: toks[n:]}}, true
	}
	for len(toks) > 0 {
		a := Assignment{Scope: "session"}
		switch {
		case toks[0].Is("SESSION") || toks[0].Is("LOCAL"):
			toks = toks[1:]
		case toks[0].Is("GLOBAL"):
			a.Scope = "global"
			toks = toks[1:]
		case toks[0].Kind == Punct && toks[0].Text == "@":
			a.Scope = "user"
			toks = toks[1:]
			if len(toks) > 0 && toks[0].Kind == Punct && toks[0].Text == "@" {
				a.Scope = "system"
				toks = toks[1:]
			}
		}
		if len(toks) == 0 || (toks[0].Kind != Word && toks[0].Kind != Ident && toks[0].Kind != String) {
			return nil, false
		}
		a.Name = strings.ToLower(toks[0].Text)
		toks = toks[1:]
		if a.Scope == "system" {
			a.Scope = "session"
			if len(toks) > 1 && toks[0].Text == "." {
				if a.Name != "session" && a.Name != "local" {
					a.Scope = "global"
				}
				a.Name = strings.ToLower(toks[1].Text)
				toks = toks[2:]
			}
		}
		if len(toks) > 1 && toks[0].Text == ":" && toks[1].Text == "=" {
			toks = toks[1:]
		}
		if len(toks) == 0 || toks[0].Kind != Punct || toks[0].Text != "=" {
			return nil, false
		}
		toks = toks[1:]
		depth, end := 0, len(toks)
		for k, t := range toks {
			if t.Kind != Punct {
				continue
			}
			switch t.Text {
			case "(":
				depth++
			case ")":
				depth--
			case ",":
				if depth == 0 && end == len(toks) {
					end = k
				}
			}
			if end != len(toks) {
				break
			}
		}
		a.Value = toks[:end]
		as = append(as, a)
		toks = toks[end:]
		if len(toks) > 0 {
			toks = toks[1:] // the comma
		}
	}
	return as, true
}

// Track updates m after stmt has run: a SET of sql_mode, NAMES or character_set_client whose
// value is a literal or a bare word. Any other form (an expression) leaves m as it was; a restore
// refuses such statements (see backup/restore's confinement).
func (m *Mode) Track(stmt string) {
	isSet := false
	EachToken(stmt, *m, func(t Token) bool { isSet = t.Is("SET"); return false })
	if !isSet {
		return
	}
	as, ok := ParseSet(stmt, *m)
	if !ok {
		return
	}
	for _, a := range as {
		if a.Scope != "session" || len(a.Value) == 0 {
			continue
		}
		v := a.Value[0]
		if v.Kind != String && v.Kind != Word && v.Kind != Ident {
			continue
		}
		switch a.Name {
		case "sql_mode":
			if v.Is("DEFAULT") {
				continue
			}
			m.SetSQLMode(v.Text)
		case "names", "character_set_client":
			m.SetCharset(v.Text)
		}
	}
}

// stopIndex returns the index in b of the first quote q or, when esc, the first backslash,
// whichever comes first; -1 when there is neither. indexByte is strings.IndexByte or
// bytes.IndexByte, which read many bytes at a time: a dump's strings are long and hold few of
// either.
func stopIndex[T string | []byte](b T, q byte, esc bool, indexByte func(T, byte) int) int {
	i := indexByte(b, q)
	if !esc {
		return i
	}
	if i >= 0 {
		b = b[:i]
	}
	if j := indexByte(b, '\\'); j >= 0 {
		return j
	}
	return i
}
