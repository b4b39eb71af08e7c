package restore

import (
	"strings"

	"github.com/backupctl/backupctl/backup/sqltext"
)

// Secondary indexes after the rows: a large table is created without its plain secondary
// indexes (KEY), loaded, then given them back with one ALTER TABLE ... ADD KEY, ...; InnoDB
// builds an index added to a filled table by sorting, while rows inserted into a table with the
// index go into its tree at random places, which costs a read per row once the index outgrows
// the buffer pool. mydumper's --innodb-optimize-keys does the same. The table ends with the
// definition SHOW CREATE TABLE printed at dump time: MariaDB keeps its plain keys in the order
// they were created, after the unique ones, so adding them in their order gives them back
// where they were.

// deferMinBytes is the least raw data for which a table's indexes are deferred: a table of one
// job or less is loaded in one transaction, which MariaDB applies to an empty table as a bulk
// load that builds every index by sorting already.
var deferMinBytes int64 = jobBytes

// deferKeys splits the CREATE TABLE q, lexed under m, into the statement without its plain
// secondary indexes and the ADD clauses that add them back, in order. ok is false, and the
// table keeps every index in its CREATE, unless the table is InnoDB, has at least one plain
// key, and has none of what would make the result differ or the load unsafe: a foreign key
// (its index would be created in the key's stead), a FULLTEXT or SPATIAL index (ordered
// with the plain keys or rebuilt by the ALTER), partitions, system versioning, or a plain key
// that starts with the AUTO_INCREMENT column (which needs an index from the start).
func deferKeys(q string, m sqltext.Mode) (create string, adds []string, ok bool) {
	toks := sqltext.Tokens(q, m, 0)
	if len(toks) < 4 || !toks[0].Is("CREATE") || !toks[1].Is("TABLE") {
		return "", nil, false
	}
	open := 2
	for open < len(toks) && !(toks[open].Kind == sqltext.Punct && toks[open].Text == "(") {
		open++
	}
	type element struct{ first, end int } // token indexes: [first, end), end is the , or )
	var elems []element
	depth, first, closing := 0, open+1, -1
	for i := open; i < len(toks) && closing < 0; i++ {
		t := toks[i]
		if t.Kind != sqltext.Punct {
			continue
		}
		switch t.Text {
		case "(":
			depth++
		case ")":
			if depth--; depth == 0 {
				elems = append(elems, element{first, i})
				closing = i
			}
		case ",":
			if depth == 1 {
				elems = append(elems, element{first, i})
				first = i + 1
			}
		}
	}
	if closing < 0 {
		return "", nil, false
	}
	innodb := false
	for i := closing + 1; i < len(toks); i++ {
		t := toks[i]
		if t.Is("PARTITION") || t.Is("VERSIONING") {
			return "", nil, false
		}
		if t.Is("ENGINE") && i+2 < len(toks) && toks[i+1].Text == "=" && toks[i+2].Is("InnoDB") {
			innodb = true
		}
	}
	if !innodb {
		return "", nil, false
	}
	var autoCol string
	var keys []element
	for _, e := range elems {
		if e.first >= e.end {
			return "", nil, false
		}
		head := toks[e.first]
		switch {
		case head.Is("KEY") || head.Is("INDEX"):
			keys = append(keys, e)
		case head.Is("FULLTEXT") || head.Is("SPATIAL") || head.Is("FOREIGN"):
			return "", nil, false
		case head.Is("PRIMARY") || head.Is("UNIQUE") || head.Is("CONSTRAINT") || head.Is("PERIOD") || head.Is("CHECK"):
			for _, t := range toks[e.first:e.end] {
				if t.Is("FOREIGN") || t.Is("REFERENCES") {
					return "", nil, false
				}
			}
		default: // a column
			for _, t := range toks[e.first:e.end] {
				if t.Is("VERSIONING") || t.Is("REFERENCES") {
					return "", nil, false
				}
				if t.Is("AUTO_INCREMENT") {
					autoCol = head.Text
				}
			}
		}
	}
	if len(keys) == 0 {
		return "", nil, false
	}
	var b strings.Builder
	at := 0
	for _, k := range keys {
		for i := k.first; i < k.end; i++ { // the key's first column
			if toks[i].Kind == sqltext.Punct && toks[i].Text == "(" {
				if i+1 < k.end && autoCol != "" && toks[i+1].Text == autoCol {
					return "", nil, false
				}
				break
			}
		}
		sep := toks[k.first-1] // the , before the key, cut with it
		if sep.Text != "," {
			return "", nil, false
		}
		b.WriteString(q[at:sep.Pos])
		at = len(strings.TrimRight(q[:toks[k.end].Pos], " \t\r\n")) // the key's end, before what follows it
		adds = append(adds, "ADD "+q[toks[k.first].Pos:at])
	}
	b.WriteString(q[at:])
	return b.String(), adds, true
}

// addKeysSQL is the ALTER TABLE that gives table db.name back the keys deferKeys took out.
func addKeysSQL(db, name string, adds []string) string {
	return "ALTER TABLE " + sqltext.QuoteIdent(db) + "." + sqltext.QuoteIdent(name) + " " + strings.Join(adds, ", ")
}
