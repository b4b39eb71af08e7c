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
func rewriteQualifier(stmt, old, new string) string {
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
		case c == '\'' || c == '"':
			i = skipQuoted(stmt, i, c)
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
		case c == '`' || identByte(c):
			start := i
			var name string
			if c == '`' {
				i = skipQuoted(stmt, i, '`')
				name = strings.ReplaceAll(stmt[start+1:max(start+1, i-1)], "``", "`")
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

// skipQuoted returns the index just past the quoted token starting at i.
func skipQuoted(s string, i int, q byte) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			if q != '`' {
				j++
			}
		case q:
			if j+1 < len(s) && s[j+1] == q {
				j++ // doubled quote
				continue
			}
			return j + 1
		}
	}
	return len(s)
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

// token is a word of a statement: an identifier (bare or backquoted, unquoted here), or
// one punctuation byte. String literals and comments are dropped.
type token struct {
	text   string
	quoted bool
}

// tokens returns the first limit tokens of stmt; executable comments are read as code.
func tokens(stmt string, limit int) []token {
	var out []token
	for i := 0; i < len(stmt) && len(out) < limit; {
		c := stmt[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '\'' || c == '"':
			i = skipQuoted(stmt, i, c)
		case c == '#' || (c == '-' && strings.HasPrefix(stmt[i:], "--") && (i+2 >= len(stmt) || stmt[i+2] <= ' ')):
			if j := strings.IndexByte(stmt[i:], '\n'); j >= 0 {
				i += j + 1
			} else {
				i = len(stmt)
			}
		case strings.HasPrefix(stmt[i:], "/*!") || strings.HasPrefix(stmt[i:], "/*M!"):
			i += strings.IndexByte(stmt[i:], '!') + 1
			for i < len(stmt) && stmt[i] >= '0' && stmt[i] <= '9' {
				i++ // the version number
			}
		case strings.HasPrefix(stmt[i:], "*/"):
			i += 2 // end of an executable comment
		case strings.HasPrefix(stmt[i:], "/*"):
			if j := strings.Index(stmt[i+2:], "*/"); j >= 0 {
				i += 2 + j + 2
			} else {
				i = len(stmt)
			}
		case c == '`':
			j := skipQuoted(stmt, i, '`')
			out = append(out, token{text: strings.ReplaceAll(stmt[i+1:max(i+1, j-1)], "``", "`"), quoted: true})
			i = j
		case identByte(c):
			j := i
			for j < len(stmt) && identByte(stmt[j]) {
				j++
			}
			out = append(out, token{text: stmt[i:j]})
			i = j
		default:
			out = append(out, token{text: stmt[i : i+1]})
			i++
		}
	}
	return out
}

// triggerTable returns the table a CREATE TRIGGER statement (as SHOW CREATE TRIGGER
// writes it) is defined on, or false for any other statement.
func triggerTable(stmt string) (string, bool) {
	toks := tokens(stmt, 64)
	kw := func(i int, words ...string) bool { return keyword(toks, i, words...) }
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
	if i < len(toks) && toks[i].text == "." && !toks[i].quoted {
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
	table := toks[i].text
	if i+2 < len(toks) && toks[i+1].text == "." && !toks[i+1].quoted {
		table = toks[i+2].text
	}
	return table, true
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
