package dump

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/backupctl/backupctl/backup/sqltext"
)

// unicodeCharsets print in SHOW CREATE TABLE as they are, but for the characters outside
// utf8mb3, which become '?'. latin1, ascii and binary are left out of exactStrings: every latin1
// or ascii string prints as itself, and binary strings are hex already (see
// sqltext.HexInvalidLiterals).
var unicodeCharsets = map[string]bool{
	"utf8mb3": true, "utf8mb4": true, "utf8": true, "ucs2": true, "utf16": true, "utf16le": true, "utf32": true,
}

// stringsProbe is the temporary table exactStrings reads a column's strings from.
const stringsProbe = "backupctl_strings_probe"

// exactStrings gives create (the SHOW CREATE TABLE of table, qualified) the exact bytes of the
// ENUM and SET members and string defaults that would not come back from their printed form.
// SHOW CREATE TABLE prints every definition in utf8mb3, whatever character_set_results says:
// characters outside it become '?', and character sets that encode one character twice (cp932
// and eucjpms: the NEC and IBM extensions, 0x8790 and 0x81E0 are both U+2252) print two
// distinct ENUM members as one, which a replay gives the same bytes. So for the columns of the
// other multi-byte character sets, and the Unicode ones whose literals print a '?', the strings
// are read as bytes from a temporary copy of the column (CREATE ... SELECT keeps the members
// and the default as the server stores them), compared with what their printed form gives
// under the schema section's SET NAMES utf8mb4, and where one differs, written as 0x hex
// literals, which the server stores as they are in the column's character set. Everything else
// in create stays as printed.
func exactStrings(ctx context.Context, c *sql.Conn, table, create string, cols []column) (string, error) {
	quiet := false
	for _, col := range cols {
		cs := strings.ToLower(col.charset)
		if cs == "" || cs == "latin1" || cs == "ascii" || cs == "binary" {
			continue
		}
		def, ok := findColumn(create, col.name)
		if !ok || len(def.spans) == 0 {
			continue
		}
		printed := make([][]byte, len(def.spans))
		unsure := !unicodeCharsets[cs]
		for i, sp := range def.spans {
			printed[i], _ = sqltext.UnquoteLiteral(create, sp[0])
			unsure = unsure || strings.Contains(string(printed[i]), "?")
		}
		if !unsure {
			continue
		}
		if !quiet { // the temporary copies are kept out of the binary log where the user may do so
			_, _ = c.ExecContext(ctx, "SET SESSION sql_log_bin = 0") // needs a privilege the dump does not ask for
			quiet = true
		}
		stored, back, err := readStrings(ctx, c, table, col, def, printed)
		if err != nil {
			return "", err
		}
		create = def.rewrite(create, stored, back)
	}
	return create, nil
}

// columnDef locates the literals of one column's line of a SHOW CREATE TABLE: spans are the
// [start, end) of its quoted ENUM or SET members, then of its DEFAULT when it has one.
type columnDef struct {
	set     bool
	members int // how many of spans are members
	hasDflt bool
	spans   [][2]int
}

// findColumn finds the line of column name in create: SHOW CREATE TABLE writes each column on
// a line of its own, "  `name` type ...", and escapes newlines inside literals.
func findColumn(create, name string) (columnDef, bool) {
	var def columnDef
	head := "\n  " + sqltext.QuoteIdent(name) + " "
	i := strings.Index(create, head)
	if i < 0 {
		return def, false
	}
	i += len(head)
	list := ""
	switch rest := create[i:]; {
	case strings.HasPrefix(rest, "enum("):
		list = "enum("
	case strings.HasPrefix(rest, "set("):
		def.set, list = true, "set("
	}
	if list != "" { // the member list: 'a','b',...)
		i += len(list)
		for i < len(create) && create[i] == '\'' {
			_, end := sqltext.UnquoteLiteral(create, i)
			def.spans = append(def.spans, [2]int{i, end})
			i = end
			if i < len(create) && create[i] == ',' {
				i++
			}
		}
		if i >= len(create) || create[i] != ')' {
			return def, false
		}
		def.members = len(def.spans)
	}
	// The rest of the line: a top-level DEFAULT '...' literal (an expression default is
	// written in parentheses or as a function call and stays as printed).
	for i < len(create) && create[i] != '\n' {
		switch {
		case create[i] == '\'':
			_, i = sqltext.UnquoteLiteral(create, i)
		case strings.HasPrefix(create[i:], " DEFAULT '"):
			start := i + len(" DEFAULT ")
			_, end := sqltext.UnquoteLiteral(create, start)
			def.spans = append(def.spans, [2]int{start, end})
			i = end
		default:
			i++
		}
	}
	return def, true
}

// readStrings returns the column's members (in order) and then its default, as the server
// stores them (stored) and as their printed form gives them in the column's character set
// under SET NAMES utf8mb4 (back). The temporary copy is made on the catalog connection while
// DDL is blocked, so it has the definition that SHOW CREATE TABLE printed.
func readStrings(ctx context.Context, c *sql.Conn, table string, col column, def columnDef, printed [][]byte) (stored, back [][]byte, err error) {
	name := sqltext.QuoteIdent(col.name)
	tmp := sqltext.QuoteIdent(stringsProbe)
	if _, err := c.ExecContext(ctx, "CREATE TEMPORARY TABLE "+tmp+" SELECT 0 AS n, "+name+" AS v FROM "+table+" LIMIT 0"); err != nil {
		return nil, nil, fmt.Errorf("copy column %s to a temporary table (the user needs CREATE TEMPORARY TABLES): %w", name, err)
	}
	defer c.ExecContext(ctx, "DROP TEMPORARY TABLE IF EXISTS "+tmp) //nolint:errcheck // a leftover goes with the connection
	var vals, conv []string
	for i := range def.spans {
		switch {
		case i >= def.members:
			vals = append(vals, "("+strconv.Itoa(i)+", DEFAULT)")
		case def.set:
			vals = append(vals, "("+strconv.Itoa(i)+", "+strconv.FormatUint(1<<i, 10)+")") // a SET member by its bit
		default:
			vals = append(vals, "("+strconv.Itoa(i)+", "+strconv.Itoa(i+1)+")") // an ENUM member by its number
		}
		conv = append(conv, "HEX(CONVERT(_utf8mb4 "+sqltext.HexLiteral(printed[i])+" USING "+col.charset+"))")
	}
	if _, err := c.ExecContext(ctx, "INSERT INTO "+tmp+" (n, v) VALUES "+strings.Join(vals, ", ")); err != nil {
		return nil, nil, fmt.Errorf("column %s: %w", name, err)
	}
	rs, err := queryRows(ctx, c, "SELECT n, HEX(v) AS v FROM "+tmp+" WHERE v IS NOT NULL ORDER BY n")
	if err != nil {
		return nil, nil, fmt.Errorf("column %s: %w", name, err)
	}
	r, err := queryOne(ctx, c, "SELECT CONCAT_WS(',', "+strings.Join(conv, ", ")+") AS r")
	if err != nil {
		return nil, nil, fmt.Errorf("column %s: %w", name, err)
	}
	backHex := strings.Split(r.str("r"), ",")
	if len(rs) != len(def.spans) || len(backHex) != len(def.spans) {
		return nil, nil, fmt.Errorf("column %s: %d and %d of %d strings read", name, len(rs), len(backHex), len(def.spans))
	}
	for i, r := range rs {
		v, err1 := hex.DecodeString(r.str("v"))
		b, err2 := hex.DecodeString(backHex[i])
		if err1 != nil || err2 != nil || r.str("n") != strconv.Itoa(i) {
			return nil, nil, fmt.Errorf("column %s: unexpected string %q", name, r)
		}
		stored, back = append(stored, v), append(back, b)
	}
	return stored, back, nil
}

// rewrite writes the members in create as hex literals when any of them would not come back
// from its printed form (all of them: the list reads as one), and the default as a hex
// literal when it would not.
func (def columnDef) rewrite(create string, stored, back [][]byte) string {
	anyMember := false
	for i := range def.members {
		anyMember = anyMember || !bytes.Equal(stored[i], back[i])
	}
	var b strings.Builder
	last := 0
	for i, sp := range def.spans {
		if i < def.members && !anyMember || i >= def.members && bytes.Equal(stored[i], back[i]) {
			continue
		}
		b.WriteString(create[last:sp[0]])
		b.WriteString(sqltext.HexLiteral(stored[i]))
		last = sp[1]
	}
	if last == 0 {
		return create
	}
	b.WriteString(create[last:])
	return b.String()
}
