package sqltext

import (
	"encoding/hex"
	"strings"
	"unicode/utf8"
)

// QuoteIdent quotes name as a MariaDB identifier: backticks around it, backticks inside doubled.
// Any other byte (quote, backslash, newline, a leading `\!`) stays as it is: inside backticks the
// server and the stock client treat it as part of the name, never as a command.
func QuoteIdent(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// QuoteString returns s as a single-quoted SQL string literal, escaped so that any bytes survive
// a replay under any character set and sql_mode without NO_BACKSLASH_ESCAPES (the dump's header
// sets one without it).
func QuoteString(s string) string {
	return string(appendQuoted(make([]byte, 0, len(s)+2), []byte(s)))
}

// appendQuoted appends b as a quoted string literal. Only \ ' NUL LF CR and ^Z are escaped:
// NUL and ^Z because some tools stop at them, LF and CR so that no line of the dump starts
// inside a string (the stock client reads line by line).
func appendQuoted(dst, b []byte) []byte {
	dst = append(dst, '\'')
	start := 0
	for i, c := range b {
		esc := sqlEscapes[c]
		if esc == 0 {
			continue
		}
		dst = append(dst, b[start:i]...)
		dst = append(dst, '\\', esc)
		start = i + 1
	}
	dst = append(dst, b[start:]...)
	return append(dst, '\'')
}

// sqlEscapes maps each byte appendQuoted escapes to the letter after its backslash: one table
// lookup per byte is most of a dump's string formatting.
var sqlEscapes = [256]byte{'\\': '\\', '\'': '\'', 0: '0', '\n': 'n', '\r': 'r', 0x1a: 'Z'}

// appendHex appends b as a hex literal. An empty value is written as ” because 0x alone is not
// valid SQL, and an empty BLOB must stay empty, not become NULL.
func appendHex(dst, b []byte) []byte {
	if len(b) == 0 {
		return append(dst, '\'', '\'')
	}
	dst = append(dst, '0', 'x')
	n := len(dst)
	dst = append(dst, make([]byte, hex.EncodedLen(len(b)))...)
	hex.Encode(dst[n:], b)
	return dst
}

// UnquoteLiteral decodes the single-quoted literal that starts at s[i] (MariaDB's escapes) and
// returns its bytes and the index just past its closing quote.
func UnquoteLiteral(s string, i int) ([]byte, int) { return unquoteLiteral(s, i) }

// HexLiteral returns b as a 0x hex literal (an empty quoted string when empty): the bytes
// themselves, whatever the character set of the session that reads them.
func HexLiteral(b []byte) string { return string(appendHex(nil, b)) }

// CommentSafe returns s for use inside a `--` comment line: unchanged when it is made of
// printable ASCII, else as 0x-hex. A raw name in a comment could end the comment with a newline
// and start a client command (`\!` runs a shell command in the stock client).
func CommentSafe(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '\\' {
			return "0x" + hex.EncodeToString([]byte(s))
		}
	}
	return s
}

// ValueKind says how a column's text-protocol bytes are written back.
type ValueKind uint8

const (
	// KindNumber: integers, DECIMAL, DOUBLE, YEAR: written unquoted as returned.
	KindNumber ValueKind = iota
	// KindString: text, temporal, ENUM, SET, JSON, UUID, INET: quoted raw bytes.
	KindString
	// KindHex: binary strings, BLOBs, BIT and spatial values: hex literal.
	KindHex
	// KindFloat: FLOAT, selected widened to DOUBLE so that the text protocol does not round
	// it to 6 digits; written unquoted, it rounds back to the identical float on insert.
	KindFloat
	// KindTyped: UUID, INET4, INET6: their text form, marked as text with an introducer. In the
	// data section's SET NAMES binary a plain literal is a binary string, which these types read
	// as their packed binary form (and turn into NULL).
	KindTyped
	// KindEnum: ENUM, selected as its index (col+0) and written as that number: the error
	// value (index 0) and a member '' both print as '', only the index tells them apart.
	KindEnum
)

// KindOf maps information_schema.COLUMNS.DATA_TYPE to how its values are written.
func KindOf(dataType string) ValueKind {
	switch strings.ToLower(dataType) {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint",
		"decimal", "numeric", "double", "double precision", "real", "year":
		return KindNumber
	case "float":
		return KindFloat
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "bit",
		"geometry", "point", "linestring", "polygon", "multipoint", "multilinestring",
		"multipolygon", "geometrycollection":
		return KindHex
	case "uuid", "inet4", "inet6":
		return KindTyped
	case "enum":
		return KindEnum
	}
	return KindString
}

// AppendValue appends one column value read through the text protocol; nil is SQL NULL.
func AppendValue(dst, v []byte, k ValueKind) []byte {
	if v == nil {
		return append(dst, "NULL"...)
	}
	switch k {
	case KindNumber, KindFloat, KindEnum:
		if len(v) == 0 {
			return append(dst, '\'', '\'') // never expected; keeps the statement valid
		}
		return append(dst, v...)
	case KindHex:
		return appendHex(dst, v)
	case KindTyped:
		dst = append(dst, "_utf8mb4"...)
	}
	return appendQuoted(dst, v)
}

// HexInvalidLiterals rewrites the quoted strings of a SHOW CREATE TABLE statement whose bytes
// are not UTF-8 as hex literals. The server prints a binary column's default (or partition
// value) as raw bytes inside otherwise UTF-8 text; as hex, the schema section stays valid UTF-8
// that any tool can carry, and the value no longer depends on how a utf8mb4 literal with
// invalid bytes is treated. Valid UTF-8 literals stay as they are.
func HexInvalidLiterals(stmt string) string {
	if utf8.ValidString(stmt) {
		return stmt
	}
	var out []byte
	last := 0
	for i := 0; i < len(stmt); i++ {
		switch stmt[i] {
		case '`':
			j := i + 1
			for j < len(stmt) && (stmt[j] != '`' || (j+1 < len(stmt) && stmt[j+1] == '`')) {
				if stmt[j] == '`' {
					j++ // a doubled backtick
				}
				j++
			}
			i = j
		case '\'':
			val, end := unquoteLiteral(stmt, i)
			if !utf8.Valid(val) {
				out = append(out, stmt[last:i]...)
				out = appendHex(out, val)
				last = end
			}
			i = end - 1
		}
	}
	if out == nil {
		return stmt
	}
	return string(append(out, stmt[last:]...))
}

// unquoteLiteral decodes the single-quoted literal starting at s[i] with MariaDB's escapes and
// returns its bytes and the index just past its closing quote.
func unquoteLiteral(s string, i int) ([]byte, int) {
	var b []byte
	for j := i + 1; j < len(s); j++ {
		c := s[j]
		switch {
		case c == '\'' && j+1 < len(s) && s[j+1] == '\'':
			b = append(b, '\'')
			j++
		case c == '\'':
			return b, j + 1
		case c == '\\' && j+1 < len(s):
			j++
			b = appendUnescaped(b, s[j])
		default:
			b = append(b, c)
		}
	}
	return b, len(s)
}

// ExecuteImmediate returns stmt, in character set cs, as a statement that no client-side
// parsing can cut or change: EXECUTE IMMEDIATE of its bytes as a hex literal converted to cs.
// The server runs the bytes exactly, whatever the session's sql_mode and the reader's
// character set, delimiter or client commands.
func ExecuteImmediate(stmt []byte, cs string) string {
	if !plainName(cs) {
		cs = "utf8mb4"
	}
	b := make([]byte, 0, len(stmt)*2+len(cs)+40)
	b = append(b, "EXECUTE IMMEDIATE CONVERT("...)
	b = appendHex(b, stmt)
	b = append(b, " USING "...)
	b = append(b, cs...)
	return string(append(b, ')'))
}

// ParseExecuteImmediate returns the statement bytes and character set of a statement written by
// ExecuteImmediate; ok is false for anything else.
func ParseExecuteImmediate(q string) (stmt []byte, cs string, ok bool) {
	const pre = "EXECUTE IMMEDIATE CONVERT(0x"
	if len(q) < len(pre) || !strings.EqualFold(q[:len(pre)], pre) {
		return nil, "", false
	}
	rest := q[len(pre):]
	i := strings.IndexByte(rest, ' ')
	if i < 0 {
		return nil, "", false
	}
	stmt, err := hex.DecodeString(rest[:i])
	if err != nil {
		return nil, "", false
	}
	rest = rest[i:]
	if !strings.HasPrefix(strings.ToUpper(rest), " USING ") || !strings.HasSuffix(rest, ")") {
		return nil, "", false
	}
	cs = rest[len(" USING ") : len(rest)-1]
	if !plainName(cs) {
		return nil, "", false
	}
	return stmt, cs, true
}

// plainName reports whether s is a character set or collation name: letters, digits, _.
func plainName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			return false
		}
	}
	return true
}
