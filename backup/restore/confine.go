package restore

import (
	"fmt"
	"slices"
	"strings"

	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/backup/sqltext"
)

// A restore executes only the statements our dump writes, each in the section it writes them
// in (docs/FORMAT.md, "What a restore executes"). A manifest with every SHA-256 recomputed is
// as good as the backup's own: the checksums prove the bytes are the ones recorded, not that
// the recorded bytes came from a dump. confine lexes each statement as the server will (the
// Splitter's Mode: the statement's sql_mode and character set) and refuses anything else:
// another database's name, USE elsewhere, GRANT, CREATE USER, SET GLOBAL, INTO OUTFILE, LOAD
// DATA, client commands. The check runs over the whole selection before anything is applied
// (verify-first) and again on each statement as it is applied.

// confineError is a statement the dump does not write where it stands; it is format.ErrVerify.
func confineError(sec *section, st sqltext.Statement, why string) error {
	return fmt.Errorf("%w: %s section of %s, statement at offset %d (%s): %s; the backup was tampered with or was not written by backupctl, and a restore runs only what a dump writes",
		format.ErrVerify, sec.kind, sec.what(), st.Offset, leadingWords(st.SQL, st.Mode), why)
}

// confined is nil when why is empty, else the error confineError makes of it.
func confined(sec *section, st sqltext.Statement, why string) error {
	if why == "" {
		return nil
	}
	return confineError(sec, st, why)
}

// leadingWords names a statement by its first keywords, never its values.
func leadingWords(q string, m sqltext.Mode) string {
	var w []string
	sqltext.EachToken(q, m, func(t sqltext.Token) bool {
		if t.Kind != sqltext.Word {
			if len(w) == 0 {
				w = append(w, "a statement starting with "+sqltext.CommentSafe(t.Raw[:min(len(t.Raw), 2)]))
			}
			return false
		}
		w = append(w, strings.ToUpper(sqltext.CommentSafe(t.Text)))
		return len(w) < 3
	})
	if len(w) == 0 {
		return "an empty statement"
	}
	return strings.Join(w, " ") + " ..."
}

// sessionVars are the session variables a dump sets, and where.
var sessionVars = map[string]bool{
	"names": true, "sql_mode": true, "time_zone": true, "foreign_key_checks": true,
	"unique_checks": true, "sql_notes": true, "check_constraint_checks": true,
	"system_versioning_insert_history": true, "character_set_client": true,
	"character_set_results": true, "collation_connection": true,
}

// confine returns nil when st is a statement a dump writes in sec.
func confine(sec *section, st sqltext.Statement) error {
	m := st.Mode
	toks := sqltext.Tokens(st.SQL, m, 8)
	if len(toks) == 0 {
		return confineError(sec, st, "it holds nothing but comments")
	}
	first := toks[0]
	if sec.kind == kindAccounts {
		// Which account each statement is for is checked against the manifest's list by the
		// accounts plan (accountsPlan.check), before and as the section is applied.
		if slices.Contains(accountStatementKinds, statementKind(st.SQL)) {
			return nil
		}
		return confineError(sec, st, "only CREATE USER IF NOT EXISTS, CREATE ROLE IF NOT EXISTS, GRANT and SET DEFAULT ROLE are written here")
	}
	if first.Is("SET") {
		if err := confineSet(sec, st); err != "" {
			return confineError(sec, st, err)
		}
		// Only a create or post section changes how later statements are lexed (around each
		// object, back at its end: see sessionError); the header, schema and data sections stay
		// in the default, so that a range read alone and a worker's connection lex alike.
		after := st.Mode
		after.Track(st.SQL)
		if sec.kind != kindPost && sec.kind != kindCreate && after != (sqltext.Mode{}) {
			return confineError(sec, st, "it changes the sql_mode's quoting or the client character set, which a dump does only around an object in a create or post section")
		}
		return nil
	}
	if first.Is("USE") && sec.db != nil && sec.kind != kindHeader && sec.kind != kindFooter {
		// Every section of a database may switch the stream to it (the dump writes USE where
		// the stream was last in another database), never elsewhere.
		if len(toks) != 2 || !isName(toks[1]) || toks[1].Text != sec.db.src.Name {
			return confineError(sec, st, "USE of another database than the section's "+sqltext.QuoteIdent(sec.db.src.Name))
		}
		return nil
	}
	switch sec.kind {
	case kindCreate:
		if first.Is("ALTER") {
			return confined(sec, st, confineAlterDatabase(st))
		}
		if first.Is("CREATE") && len(toks) > 2 && toks[1].Is("VIEW") {
			return confined(sec, st, confineStandIn(sec, st))
		}
		if !(first.Is("CREATE") && len(toks) > 2 && toks[1].Is("DATABASE")) {
			// A routine (a view in another database may call it), as EXECUTE IMMEDIATE.
			body, mode, ok := postObject(st)
			if !ok {
				break
			}
			return confined(sec, st, confineObject(sec, body, mode, routineKinds))
		}
		if len(toks) > 2 {
			i := 2
			if toks[i].Is("IF") {
				i += 3
			}
			if i < len(toks) && isName(toks[i]) && toks[i].Text == sec.db.src.Name && (i+1 == len(toks) || toks[i+1].Text != ".") {
				return nil
			}
			return confineError(sec, st, "it creates another database than "+sqltext.QuoteIdent(sec.db.src.Name))
		}
	case kindSchema:
		if first.Is("CREATE") {
			return confined(sec, st, confineTable(sec, st))
		}
	case kindData:
		switch {
		case first.Is("INSERT"):
			return confined(sec, st, confineInsert(sec, st))
		case first.Is("DO") || first.Is("SELECT"):
			return confined(sec, st, confineSetval(sec, st))
		}
	case kindPost:
		if first.Is("ALTER") {
			return confined(sec, st, confineAlterDatabase(st))
		}
		body, mode, ok := postObject(st)
		if !ok {
			break
		}
		// Routines too: backups written before they moved to the create section have them here.
		return confined(sec, st, confineObject(sec, body, mode, objectKinds))
	}
	return confineError(sec, st, "no dump writes this statement in a "+sec.kind+" section")
}

// postObject returns the CREATE statement of an object (a create section's routine, a post
// section's view, trigger or event) and the mode it is lexed in: the bytes of EXECUTE
// IMMEDIATE CONVERT(0x.. USING cs), in cs, or (as earlier dumps wrote them) the statement
// itself.
func postObject(st sqltext.Statement) (string, sqltext.Mode, bool) {
	if b, cs, ok := sqltext.ParseExecuteImmediate(st.SQL); ok {
		m := st.Mode
		m.SetCharset(cs)
		return string(b), m, true
	}
	if t := sqltext.Tokens(st.SQL, st.Mode, 1); len(t) == 1 && t[0].Is("CREATE") {
		return st.SQL, st.Mode, true
	}
	return "", st.Mode, false
}

// schemaVars are the session variables a schema section sets around its table's CREATE (the
// settings the table needs) and puts back to DEFAULT after it.
var schemaVars = map[string]bool{"innodb_strict_mode": true, "max_heap_table_size": true}

// confineAlterDatabase accepts ALTER DATABASE COLLATE 'x': the current database, named nowhere
// (around a routine created under another collation of its database).
func confineAlterDatabase(st sqltext.Statement) string {
	all := sqltext.Tokens(st.SQL, st.Mode, 0)
	if len(all) == 4 && all[1].Is("DATABASE") && all[2].Is("COLLATE") && all[3].Kind == sqltext.String {
		return ""
	}
	return "only ALTER DATABASE COLLATE '...' of the current database is written here"
}

// confineStandIn accepts a stand-in view of the section's database, exactly as the dump
// writes it: CREATE VIEW name AS SELECT 1 AS col, 1 AS col, ... and nothing else.
func confineStandIn(sec *section, st sqltext.Statement) string {
	toks := sqltext.Tokens(st.SQL, st.Mode, 0)
	const why = "only a stand-in view, CREATE VIEW name AS SELECT 1 AS column, ..., is written here"
	name, qual, i, ok := objectName(toks, 2)
	if !ok || (qual != "" && qual != sec.db.src.Name) || !slices.Contains(sec.db.src.Views, name) {
		return "a stand-in of another view than those of " + sqltext.QuoteIdent(sec.db.src.Name) + " (" + sqltext.CommentSafe(name) + ")"
	}
	if i+1 >= len(toks) || !toks[i].Is("AS") || !toks[i+1].Is("SELECT") {
		return why
	}
	i += 2
	for {
		if i+3 > len(toks) || toks[i].Kind != sqltext.Number || toks[i].Text != "1" || !toks[i+1].Is("AS") || !isName(toks[i+2]) {
			return why
		}
		i += 3
		if i == len(toks) {
			return ""
		}
		if toks[i].Kind != sqltext.Punct || toks[i].Text != "," {
			return why
		}
		i++
	}
}

// confineSet accepts SET of the session variables a dump sets in sec, each to a literal.
func confineSet(sec *section, st sqltext.Statement) string {
	as, ok := sqltext.ParseSet(st.SQL, st.Mode)
	if !ok || len(as) == 0 {
		return "not a SET of session variables"
	}
	for _, a := range as {
		if a.Scope != "session" || !(sessionVars[a.Name] || sec.kind == kindSchema && schemaVars[a.Name]) {
			return "it sets " + sqltext.CommentSafe(a.Scope+" variable "+a.Name) + ", which a dump never sets in a " + sec.kind + " section"
		}
		n := len(a.Value)
		if a.Name == "names" && n == 3 && a.Value[1].Is("COLLATE") {
			n = 1
		}
		if n != 1 || (a.Value[0].Kind != sqltext.String && a.Value[0].Kind != sqltext.Number && a.Value[0].Kind != sqltext.Word) {
			return "it sets " + a.Name + " to an expression, not a literal"
		}
	}
	return ""
}

// isName reports whether t can be an object name.
func isName(t sqltext.Token) bool { return t.Kind == sqltext.Word || t.Kind == sqltext.Ident }

// objectName reads a name, optionally db-qualified, at toks[i]; it returns the name, its
// qualifier ("" when none) and the index after it.
func objectName(toks []sqltext.Token, i int) (name, qual string, next int, ok bool) {
	if i >= len(toks) || !isName(toks[i]) {
		return "", "", i, false
	}
	if i+2 < len(toks) && toks[i+1].Kind == sqltext.Punct && toks[i+1].Text == "." && isName(toks[i+2]) {
		return toks[i+2].Text, toks[i].Text, i + 3, true
	}
	return toks[i].Text, "", i + 1, true
}

// confineTable accepts CREATE [OR REPLACE] TABLE|SEQUENCE [IF NOT EXISTS] name of the section's
// table, with no SELECT (CREATE ... SELECT reads other tables) and no LIKE.
func confineTable(sec *section, st sqltext.Statement) string {
	toks := sqltext.Tokens(st.SQL, st.Mode, 0)
	i := 1
	if i+1 < len(toks) && toks[i].Is("OR") && toks[i+1].Is("REPLACE") {
		i += 2
	}
	if i >= len(toks) || !(toks[i].Is("TABLE") || toks[i].Is("SEQUENCE")) {
		return "only CREATE TABLE and CREATE SEQUENCE are written here"
	}
	i++
	if i < len(toks) && toks[i].Is("IF") {
		i += 3
	}
	name, qual, next, ok := objectName(toks, i)
	if !ok || name != sec.table.Name || (qual != "" && qual != sec.db.src.Name) {
		return "it creates another table than the section's " + sqltext.QuoteIdent(sec.table.Name)
	}
	if next < len(toks) && toks[next].Is("LIKE") {
		return "CREATE TABLE ... LIKE is never written"
	}
	for _, t := range toks[next:] {
		if t.Is("SELECT") {
			return "CREATE TABLE ... SELECT is never written"
		}
	}
	return ""
}

// confineInsert accepts INSERT INTO the section's table, a column list, and VALUES of
// literals only: numbers, strings (with a character set introducer), hex, NULL.
func confineInsert(sec *section, st sqltext.Statement) string {
	var why string
	state, depth, i := 0, 0, 0
	var name, qual string
	sqltext.EachToken(st.SQL, st.Mode, func(t sqltext.Token) bool {
		i++
		switch state {
		case 0: // INSERT INTO
			if i == 2 && !t.Is("INTO") {
				why = "only INSERT INTO is written here"
				return false
			}
			if i == 2 {
				state = 1
			}
		case 1: // the table's name
			if !isName(t) {
				why = "INSERT INTO needs the section's table"
				return false
			}
			name = identText(t)
			state = 2
		case 2: // a qualifier's dot, the column list or VALUES
			switch {
			case t.Kind == sqltext.Punct && t.Text == "." && qual == "":
				qual, state = name, 1
			case t.Kind == sqltext.Punct && t.Text == "(":
				state = 3
			case t.Is("VALUES"):
				state = 4
			default:
				why = "INSERT INTO " + sqltext.CommentSafe(name) + " is followed by something a dump never writes"
				return false
			}
		case 3: // column list
			switch {
			case isName(t), t.Kind == sqltext.Punct && t.Text == ",":
			case t.Kind == sqltext.Punct && t.Text == ")":
				state = 5
			default:
				why = "the column list holds something other than names"
				return false
			}
		case 5:
			if !t.Is("VALUES") {
				why = "the column list is followed by something other than VALUES"
				return false
			}
			state = 4
		case 4: // values: literals only
			switch t.Kind {
			case sqltext.Number, sqltext.String:
			case sqltext.Word:
				if !t.Is("NULL") && !strings.HasPrefix(t.Text, "_") {
					why = "a value is not a literal (" + sqltext.CommentSafe(strings.ToUpper(t.Text[:min(len(t.Text), 32)])) + ")"
					return false
				}
			case sqltext.Punct:
				switch t.Text {
				case "(":
					depth++
				case ")":
					depth--
				case ",", "-", "+":
				default:
					why = "the values hold an operator a dump never writes"
					return false
				}
				if depth < 0 || depth > 1 {
					why = "the values hold a nested expression"
					return false
				}
			default:
				why = "a value is not a literal"
				return false
			}
		}
		return true
	})
	if why != "" {
		return why
	}
	if state != 4 || depth != 0 {
		return "not an INSERT INTO ... VALUES of the section's table"
	}
	if name != sec.table.Name || (qual != "" && qual != sec.db.src.Name) {
		return "it inserts into another table than the section's " + sqltext.QuoteIdent(sec.table.Name)
	}
	return ""
}

// identText is a name token's name: a quoted identifier unquoted.
func identText(t sqltext.Token) string {
	if t.Kind == sqltext.Ident {
		q := t.Raw[0]
		return strings.ReplaceAll(t.Raw[1:max(1, len(t.Raw)-1)], string([]byte{q, q}), string(q))
	}
	return t.Text
}

// confineSetval accepts DO SETVAL(name, n, 0, n) of the section's sequence (SELECT SETVAL in
// backups of earlier versions, as mariadb-dump writes it).
func confineSetval(sec *section, st sqltext.Statement) string {
	toks := sqltext.Tokens(st.SQL, st.Mode, 0)
	if len(toks) < 4 || !toks[1].Is("SETVAL") || toks[2].Text != "(" {
		return "only INSERT INTO and DO SETVAL(...) of the section's table are written here"
	}
	name, qual, i, ok := objectName(toks, 3)
	if !ok || name != sec.table.Name || (qual != "" && qual != sec.db.src.Name) {
		return "SETVAL of another sequence than the section's"
	}
	for _, t := range toks[i:] {
		if t.Kind == sqltext.Word || t.Kind == sqltext.Ident || (t.Kind == sqltext.Punct && t.Text != "," && t.Text != ")" && t.Text != "-") {
			return "SETVAL's arguments are not literals"
		}
	}
	return ""
}

// routineKinds are the objects a create section creates; objectKinds those of a post section.
var (
	routineKinds = map[string]bool{"PROCEDURE": true, "FUNCTION": true, "PACKAGE": true}
	objectKinds  = map[string]bool{"VIEW": true, "PROCEDURE": true, "FUNCTION": true, "PACKAGE": true, "TRIGGER": true, "EVENT": true}
)

// objectWords may come between CREATE and the object's kind in SHOW CREATE's statements.
var objectWords = map[string]bool{
	"OR": true, "REPLACE": true, "ALGORITHM": true, "UNDEFINED": true, "MERGE": true,
	"TEMPTABLE": true, "DEFINER": true, "CURRENT_USER": true, "SQL": true, "SECURITY": true,
	"INVOKER": true, "AGGREGATE": true, "NONEDITIONABLE": true, "EDITIONABLE": true,
}

// confineObject accepts the CREATE statement of a view, routine, package, trigger or event of
// the section's database: its name and, for a trigger, its table unqualified or qualified
// with the section's database. What its body holds runs only when the object is used, with
// the privileges its definer has.
func confineObject(sec *section, stmt string, m sqltext.Mode, kinds map[string]bool) string {
	toks := sqltext.Tokens(stmt, m, 0)
	if len(toks) == 0 || !toks[0].Is("CREATE") {
		return "not the CREATE statement of a view, routine, trigger or event"
	}
	i := 1
	for ; i < len(toks); i++ {
		t := toks[i]
		if t.Kind == sqltext.Word && objectWords[strings.ToUpper(t.Text)] {
			continue
		}
		if t.Kind == sqltext.Ident || t.Kind == sqltext.String || (t.Kind == sqltext.Punct && strings.Contains("=@()", t.Text)) {
			continue
		}
		break
	}
	if i >= len(toks) {
		return "a CREATE statement without an object"
	}
	kind := strings.ToUpper(toks[i].Text)
	if !kinds[kind] {
		if kinds["VIEW"] {
			return "only views, routines, packages, triggers and events are created here"
		}
		return "only routines and packages are created here"
	}
	if kind == "PACKAGE" && i+1 < len(toks) && toks[i+1].Is("BODY") {
		i++
	}
	if toks[i].Kind != sqltext.Word {
		return "a CREATE statement without an object"
	}
	i++
	if i < len(toks) && toks[i].Is("IF") {
		i += 3
	}
	_, qual, next, ok := objectName(toks, i)
	if !ok {
		return "a CREATE " + kind + " without a name"
	}
	if qual != "" && qual != sec.db.src.Name {
		return "it creates a " + strings.ToLower(kind) + " in another database than " + sqltext.QuoteIdent(sec.db.src.Name)
	}
	switch kind {
	case "FUNCTION":
		for _, t := range toks[next:] {
			if t.Is("SONAME") {
				return "CREATE FUNCTION ... SONAME loads a server plugin; a dump never writes it"
			}
			if t.Is("BEGIN") || t.Is("RETURN") {
				break
			}
		}
	case "TRIGGER":
		j := next
		for j < len(toks) && !toks[j].Is("ON") {
			j++
		}
		_, tq, _, ok := objectName(toks, j+1)
		if !ok || (tq != "" && tq != sec.db.src.Name) {
			return "a trigger on a table of another database than " + sqltext.QuoteIdent(sec.db.src.Name)
		}
	}
	return ""
}

// sessionError is the error for a section that ends with the session changed (a sql_mode that
// changes quoting, or a multi-byte client character set): the next section, read alone or on
// another connection, would be lexed otherwise than the server lexes it.
func sessionError(sec *section, at int64) error {
	return fmt.Errorf("%w: %s section of %s ends at offset %d with its sql_mode or character set still changed; the backup was tampered with or was not written by backupctl",
		format.ErrVerify, sec.kind, sec.what(), at)
}
