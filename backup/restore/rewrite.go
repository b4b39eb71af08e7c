package restore

import (
	"strings"

	"github.com/backupctl/backupctl/backup/sqltext"
)

// rewriteQualifier returns stmt with every use of database old as a qualifier (old.x, `old`.`x`,
// and the name after USE) replaced by `new`. String literals and comments are left alone, so
// data that merely mentions the name is not changed; executable comments are code and are
// rewritten. A name preceded by a dot is a table or column that happens to share the name, and
// stays.
func rewriteQualifier(stmt, old, new string) string { return rewriteIn(stmt, old, new, sqltext.Mode{}) }

// rewriteStatement rewrites st's qualifiers as rewriteQualifier does, lexing it under the mode it
// runs in; an object written as EXECUTE IMMEDIATE has its statement rewritten and written back.
func rewriteStatement(st sqltext.Statement, old, new string) string {
	if b, cs, ok := sqltext.ParseExecuteImmediate(st.SQL); ok {
		m := st.Mode
		m.SetCharset(cs)
		r := rewriteIn(string(b), old, new, m)
		if r == string(b) {
			return st.SQL
		}
		return sqltext.ExecuteImmediate([]byte(r), cs)
	}
	return rewriteIn(st.SQL, old, new, st.Mode)
}

// rewriteIn is rewriteQualifier for a statement lexed under m.
func rewriteIn(stmt, old, new string, m sqltext.Mode) string {
	if old == new || !strings.Contains(stmt, strings.ReplaceAll(old, "`", "``")) && !strings.Contains(stmt, old) {
		return stmt
	}
	var b strings.Builder
	b.Grow(len(stmt) + 16)
	last := 0        // stmt[last:] not yet copied into b
	prevDot := false // the previous token was '.'
	firstWord := ""  // the statement's first keyword, to recognise USE
	afterUse := false
	for i := 0; i < len(stmt); {
		c := stmt[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '\'' || (c == '"' && !m.ANSIQuotes):
			i = sqltext.QuotedEnd(stmt, i, m)
			prevDot, afterUse = false, false
		case c == '#' || (c == '-' && strings.HasPrefix(stmt[i:], "--") && (i+2 >= len(stmt) || stmt[i+2] <= ' ')):
			if j := strings.IndexByte(stmt[i:], '\n'); j >= 0 {
				i += j + 1
			} else {
				i = len(stmt)
			}
		case c == '/' && strings.HasPrefix(stmt[i:], "/*"):
			if strings.HasPrefix(stmt[i:], "/*!") {
				i += 3 // executable: its body is code; the version digits read as a number token
			} else if strings.HasPrefix(stmt[i:], "/*M!") {
				i += 4
			} else if j := strings.Index(stmt[i+2:], "*/"); j >= 0 {
				i += 2 + j + 2
			} else {
				i = len(stmt)
			}
		case c == '`' || c == '"' || identByte(c):
			start := i
			var name string
			if c == '`' || c == '"' {
				i = sqltext.QuotedEnd(stmt, i, m)
				name = strings.ReplaceAll(stmt[start+1:max(start+1, i-1)], string([]byte{c, c}), string(c))
			} else {
				for i < len(stmt) && identByte(stmt[i]) {
					i++
				}
				name = stmt[start:i]
				if firstWord == "" {
					firstWord = strings.ToUpper(name)
					afterUse = firstWord == "USE"
					prevDot = false
					continue
				}
			}
			if name == old && !prevDot && (afterUse || nextIsDot(stmt, i)) {
				b.WriteString(stmt[last:start])
				b.WriteString(sqltext.QuoteIdent(new))
				last = i
			}
			prevDot, afterUse = false, false
		default:
			prevDot = c == '.'
			afterUse = false
			i++
		}
	}
	if last == 0 {
		return stmt
	}
	b.WriteString(stmt[last:])
	return b.String()
}

func nextIsDot(s string, i int) bool {
	for ; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\r', '\n':
		case '.':
			return true
		default:
			return false
		}
	}
	return false
}

// identByte reports whether c may appear in an unquoted identifier (multibyte UTF-8 included).
func identByte(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// triggerTable returns the table a CREATE TRIGGER statement (as SHOW CREATE TRIGGER
// writes it) is defined on, or false for any other statement.
func triggerTable(stmt string, m sqltext.Mode) (string, bool) {
	toks := sqltext.Tokens(stmt, m, 64)
	kw := func(i int, words ...string) bool {
		if i >= len(toks) {
			return false
		}
		for _, w := range words {
			if toks[i].Is(w) {
				return true
			}
		}
		return false
	}
	dot := func(i int) bool { return i < len(toks) && toks[i].Kind == sqltext.Punct && toks[i].Text == "." }
	if !kw(0, "CREATE") {
		return "", false
	}
	// Skip OR REPLACE and DEFINER=user@host up to the object keyword.
	i := 1
	for ; i < len(toks); i++ {
		if kw(i, "TRIGGER") {
			break
		}
		if kw(i, "TABLE", "VIEW", "PROCEDURE", "FUNCTION", "EVENT", "DATABASE", "SEQUENCE", "INDEX", "PACKAGE") {
			return "", false
		}
	}
	i++ // past TRIGGER
	if kw(i, "IF") {
		i += 3 // IF NOT EXISTS
	}
	i++ // the trigger's name
	if dot(i) {
		i += 2 // db.name
	}
	if !kw(i, "BEFORE", "AFTER") {
		return "", false
	}
	i++
	for i < len(toks) && kw(i, "INSERT", "UPDATE", "DELETE", "OR") {
		i++
	}
	if !kw(i, "ON") || i+1 >= len(toks) {
		return "", false
	}
	i++
	table := toks[i].Text
	if i+2 < len(toks) && dot(i+1) {
		table = toks[i+2].Text
	}
	return table, true
}

// token is a word, a quoted identifier (quoted, unquoted in text) or one byte of punctuation of
// a statement, lexed by sqltext under the default sql_mode; string literals are left out.
type token struct {
	text   string
	quoted bool
}

// tokens returns the first limit tokens of stmt (string literals not counted).
func tokens(stmt string, limit int) []token {
	var out []token
	for _, t := range sqltext.Tokens(stmt, sqltext.Mode{}, 0) {
		if len(out) >= limit {
			break
		}
		switch t.Kind {
		case sqltext.String:
		case sqltext.Ident:
			out = append(out, token{text: t.Text, quoted: true})
		default:
			out = append(out, token{text: t.Text})
		}
	}
	return out
}

// keyword reports whether toks[i] is one of words, unquoted.
func keyword(toks []token, i int, words ...string) bool {
	if i < 0 || i >= len(toks) || toks[i].quoted {
		return false
	}
	for _, w := range words {
		if strings.EqualFold(toks[i].text, w) {
			return true
		}
	}
	return false
}
