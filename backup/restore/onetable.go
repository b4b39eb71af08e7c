package restore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/backupctl/backupctl/backup/sqltext"
)

// A --table restore brings back tables without the rest of their database, so what their
// definitions point at may be missing: a foreign key to a table that is not restored makes the
// next INSERT fail (error 1452), a trigger that writes another table fails the statement that
// fires it. Before it changes anything, such a restore reads the definitions it will apply (the
// tables' schema sections and the post sections that hold their triggers), finds what they refer
// to outside the selection, and looks on the target for it.
//
// --without-foreign-keys leaves out the foreign keys that refer outside the selection, and only
// those: the keys between restored tables hold (their rows come from one snapshot), so dropping
// them would weaken the restored schema for nothing. --without-triggers leaves out every
// trigger of the restored tables.

// foreignKey is a foreign key of a restored table.
type foreignKey struct {
	db    *dbPlan
	table string // the restored table, its name in the backup
	name  string
	// ref is the referenced table as the backup names it, and target as the restore creates
	// or finds it: under --into, a table of the same database is looked for in the new one.
	ref, target tableName
	onTarget    bool
}

// tableName is a qualified table name.
type tableName struct{ db, table string }

func (n tableName) String() string { return n.db + "." + n.table }

// triggerDef is a trigger of a restored table and the tables its body uses outside the selection.
type triggerDef struct {
	db          *dbPlan
	name, table string
	outside     []tableUse
	namesSource bool // its body qualifies names with the source database (--into rewrites them)
}

// tableUse is a table a trigger body reads or writes.
type tableUse struct {
	verb        string // "writes" or "reads"
	ref, target tableName
	onTarget    bool
}

// definitions is what a --table restore learned from its definitions before applying.
type definitions struct {
	fks      []*foreignKey
	triggers []*triggerDef
	// drop holds, per restored table, the foreign keys left out of its CREATE TABLE.
	drop map[tableKeyOf]map[string]bool
	// read marks the sections already read (and checked) here, which verifying first skips.
	read map[tableKeyOf]bool
}

// tableKeyOf identifies a section's table: its database plan and name; post sections use "".
type tableKeyOf struct {
	db    *dbPlan
	table string
}

// selected says whether the backup's table n is restored.
func (p *plan) selected(n tableName) bool {
	for _, dp := range p.dbs {
		if dp.src.Name != n.db {
			continue
		}
		for _, t := range dp.tables {
			if t.Name == n.table {
				return true
			}
		}
	}
	return false
}

// targetOf is where the restore puts (or finds) the backup's table n: a database the restore
// renames is looked for under its new name.
func (p *plan) targetOf(n tableName) tableName {
	for _, dp := range p.dbs {
		if dp.src.Name == n.db {
			return tableName{dp.target, n.table}
		}
	}
	return n
}

// readDefinitions reads, for a --table restore, the schema sections of the selected tables and
// the post sections with their triggers; it notes what they refer to outside the selection,
// whether the target has it, and what the flags leave out. It returns the warnings, and the
// refusal when a foreign key would point at a table that is neither restored nor on the target.
func (s *session) readDefinitions(ctx context.Context) (refusal error, err error) {
	p := s.p
	if p.full || !p.tableRestore() {
		return nil, nil
	}
	defs := &definitions{drop: map[tableKeyOf]map[string]bool{}, read: map[tableKeyOf]bool{}}
	var secs []*section
	for _, sec := range p.sections() {
		if sec.kind == kindSchema || sec.kind == kindPost {
			secs = append(secs, sec)
		}
	}
	collect := func(_ context.Context, st sqltext.Statement, sec *section) error {
		// These ranges are not read again before applying: confine them here.
		if err := confine(sec, st); err != nil {
			return err
		}
		switch sec.kind {
		case kindSchema:
			for _, fk := range foreignKeys(st.SQL) {
				ref := tableName{fk.refDB, fk.refTable}
				if ref.db == "" {
					ref.db = sec.db.src.Name
				}
				if p.selected(ref) {
					continue
				}
				defs.fks = append(defs.fks, &foreignKey{db: sec.db, table: sec.table.Name, name: fk.name, ref: ref, target: p.targetOf(ref)})
			}
		case kindPost:
			body, mode, ok := postObject(st)
			if !ok {
				return nil
			}
			table, ok := triggerTable(body, mode)
			if !ok || !p.selected(tableName{sec.db.src.Name, table}) {
				return nil
			}
			td := &triggerDef{db: sec.db, name: triggerName(body), table: table}
			td.namesSource = p.rename && rewriteQualifier(body, sec.db.src.Name, sec.db.target) != body
			for _, u := range triggerUses(body) {
				ref := tableName{u.db, u.table}
				if ref.db == "" {
					ref.db = sec.db.src.Name
				}
				if !p.selected(ref) && !hasUse(td.outside, u.verb, ref) {
					td.outside = append(td.outside, tableUse{verb: u.verb, ref: ref, target: p.targetOf(ref)})
				}
			}
			defs.triggers = append(defs.triggers, td)
		}
		return nil
	}
	for _, sp := range spans(secs) {
		if _, err := streamSpan(ctx, s.b, s.m, sp, collect); err != nil {
			return nil, fmt.Errorf("read the definitions of the selected tables from object %s; nothing was applied: %w", s.m.Object.Key, err)
		}
	}
	for _, sec := range secs {
		defs.read[sectionKey(sec)] = true
	}
	for _, fk := range defs.fks {
		ok, err := tableExists(ctx, s.conn, fk.target)
		if err != nil {
			return nil, err
		}
		fk.onTarget = ok
	}
	for _, td := range defs.triggers {
		for i := range td.outside {
			ok, err := tableExists(ctx, s.conn, td.outside[i].target)
			if err != nil {
				return nil, err
			}
			td.outside[i].onTarget = ok
		}
	}
	p.defs = defs
	warnings, refusal := defs.judge(s.opts)
	for _, w := range warnings {
		s.log.Warn(w)
	}
	s.rep.Warnings = append(s.rep.Warnings, warnings...)
	return refusal, nil
}

// judge decides what the flags leave out and words the warnings and the refusal.
func (d *definitions) judge(opts Options) ([]string, error) {
	var warnings, missing []string
	for _, fk := range d.fks {
		w := fmt.Sprintf("%s.%s: foreign key %s references %s, which is not restored", fk.db.target, fk.table, fk.name, fk.target)
		if fk.target != fk.ref {
			w = fmt.Sprintf("%s.%s: foreign key %s references %s (%s in the backup), which is not restored", fk.db.target, fk.table, fk.name, fk.target, fk.ref)
		}
		switch {
		case opts.WithoutForeignKeys:
			k := tableKeyOf{fk.db, fk.table}
			if d.drop[k] == nil {
				d.drop[k] = map[string]bool{}
			}
			d.drop[k][fk.name] = true
			w += "; left out (--without-foreign-keys)"
		case fk.onTarget:
			w += "; kept: the target has " + fk.target.String() + " (the restored rows are not checked against it)"
		default:
			missing = append(missing, fmt.Sprintf("%s.%s: foreign key %s references %s, which is neither restored nor on the target", fk.db.target, fk.table, fk.name, fk.target))
		}
		warnings = append(warnings, w)
	}
	for _, td := range d.triggers {
		if opts.WithoutTriggers {
			warnings = append(warnings, fmt.Sprintf("trigger %s on %s.%s: left out (--without-triggers)", td.name, td.db.target, td.table))
			continue
		}
		for _, u := range td.outside {
			w := fmt.Sprintf("trigger %s on %s.%s %s %s, which is not restored", td.name, td.db.target, td.table, u.verb, u.target)
			if u.onTarget {
				w += "; the target's " + u.target.String() + " is used"
			} else {
				w += "; the target has no such table, so the statements that fire the trigger fail (pass --without-triggers to leave it out)"
			}
			warnings = append(warnings, w)
		}
		if td.namesSource {
			warnings = append(warnings, fmt.Sprintf("trigger %s on %s.%s names database %s in its body; restored under --into, those names refer to %s", td.name, td.db.target, td.table, td.db.src.Name, td.db.target))
		}
	}
	if len(missing) == 0 {
		return warnings, nil
	}
	return warnings, referenceError{fmt.Errorf("%s; pass --without-foreign-keys to restore without them, or restore the referenced tables too (another --table); nothing was changed", strings.Join(missing, "; "))}
}

// referenceError is the refusal of a --table restore whose foreign keys point at tables that
// are neither restored nor on the target: the selection is what must change.
type referenceError struct{ error }

// Unwrap returns the message.
func (e referenceError) Unwrap() error { return e.error }

// Is makes the error ErrBadSelection.
func (referenceError) Is(target error) bool { return target == ErrBadSelection }

func hasUse(us []tableUse, verb string, n tableName) bool {
	for _, u := range us {
		if u.verb == verb && u.ref == n {
			return true
		}
	}
	return false
}

func sectionKey(sec *section) tableKeyOf {
	k := tableKeyOf{db: sec.db}
	if sec.table != nil {
		k.table = sec.table.Name
	}
	return k
}

// tableExists looks, read-only, for a table on the target.
func tableExists(ctx context.Context, conn *sql.Conn, n tableName) (bool, error) {
	var one int
	err := conn.QueryRowContext(ctx, "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", n.db, n.table).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("look up table %s on the target: %w", n, err)
	}
	return true, nil
}

// tableRestore says whether the plan restores tables rather than whole databases.
func (p *plan) tableRestore() bool {
	for _, dp := range p.dbs {
		if !dp.whole {
			return true
		}
	}
	return false
}

// edit returns a definition of a --table restore as the flags want it: a CREATE TABLE without
// the foreign keys left out, or "" for a trigger left out. Other statements pass unchanged.
func (p *plan) edit(sec *section, q string) string {
	if p.defs == nil || sec.db == nil || sec.db.whole {
		return q
	}
	switch sec.kind {
	case kindSchema:
		if drop := p.defs.drop[sectionKey(sec)]; len(drop) > 0 {
			return withoutForeignKeys(q, drop)
		}
	case kindPost:
		if p.withoutTriggers {
			if body, mode, ok := postObject(sqltext.Statement{SQL: q}); ok {
				if _, ok := triggerTable(body, mode); ok {
					return ""
				}
			}
		}
	}
	return q
}

// plannedTriggers lists the triggers a --table restore creates (or leaves out), for --dry-run.
func (p *plan) plannedTriggers(dp *dbPlan) []PlannedObject {
	if p.defs == nil {
		return nil
	}
	var out []PlannedObject
	for _, td := range p.defs.triggers {
		if td.db != dp {
			continue
		}
		o := PlannedObject{Kind: "trigger", Database: dp.target, Name: td.name}
		if p.withoutTriggers {
			o.Action = "left out: --without-triggers"
		}
		out = append(out, o)
	}
	return out
}

// fkClause is a foreign key as a CREATE TABLE defines it.
type fkClause struct {
	name             string
	refDB, refTable  string // refDB is "" for the table's own database
	start, end       int    // the element's bytes in the statement
	prevEnd, nextBeg int    // where the elements before and after it end and begin (-1: none)
}

// foreignKeys lists the foreign keys a CREATE TABLE statement defines (none for any other
// statement).
func foreignKeys(stmt string) []fkClause {
	var out []fkClause
	elems := tableElements(stmt)
	for i, e := range elems {
		toks := tokens(stmt[e[0]:e[1]], 64)
		j := 0
		kw := func(w string) bool { return keyword(toks, j, w) }
		var fk fkClause
		if kw("CONSTRAINT") {
			j++
			if j < len(toks) && !kw("FOREIGN") {
				fk.name = toks[j].text
				j++
			}
		}
		if !kw("FOREIGN") {
			continue
		}
		j++
		for j < len(toks) && !kw("REFERENCES") {
			j++
		}
		if j+1 >= len(toks) {
			continue
		}
		j++
		fk.refTable = toks[j].text
		if j+2 < len(toks) && toks[j+1].text == "." && !toks[j+1].quoted {
			fk.refDB, fk.refTable = fk.refTable, toks[j+2].text
		}
		fk.start, fk.end, fk.prevEnd, fk.nextBeg = e[0], e[1], -1, -1
		if i > 0 {
			fk.prevEnd = elems[i-1][1]
		}
		if i+1 < len(elems) {
			fk.nextBeg = elems[i+1][0]
		}
		out = append(out, fk)
	}
	return out
}

// withoutForeignKeys returns the CREATE TABLE stmt without the named foreign keys, each with
// the comma that separates it from its neighbour.
func withoutForeignKeys(stmt string, drop map[string]bool) string {
	var b strings.Builder
	last := 0
	for _, fk := range foreignKeys(stmt) {
		if !drop[fk.name] {
			continue
		}
		from, to := fk.start, fk.end
		switch {
		case fk.prevEnd >= last:
			from = fk.prevEnd // ",\n  CONSTRAINT ..." after the element before
		case fk.nextBeg >= 0:
			to = fk.nextBeg // the first element: "CONSTRAINT ..., " up to the next
		}
		b.WriteString(stmt[last:from])
		last = to
	}
	b.WriteString(stmt[last:])
	return b.String()
}

// tableElements returns the [start, end) of each element (column, key, constraint) of a CREATE
// TABLE statement's parenthesised list, trimmed of spaces; nil for any other statement.
func tableElements(stmt string) [][2]int {
	toks := tokens(stmt, 16)
	i := 0
	kw := func(ws ...string) bool { return keyword(toks, i, ws...) }
	if !kw("CREATE") {
		return nil
	}
	for i++; kw("OR", "REPLACE", "TEMPORARY"); i++ {
	}
	if !kw("TABLE") {
		return nil
	}
	var out [][2]int
	depth, start := 0, -1
	for k := 0; k < len(stmt); {
		c := stmt[k]
		switch {
		case c == '\'' || c == '"' || c == '`':
			if depth == 1 && start < 0 {
				start = k
			}
			k = sqltext.QuotedEnd(stmt, k, sqltext.Mode{})
			continue
		case c == '#' || (c == '-' && strings.HasPrefix(stmt[k:], "-- ")):
			j := strings.IndexByte(stmt[k:], '\n')
			if j < 0 {
				return out
			}
			k += j
			continue
		case c == '/' && strings.HasPrefix(stmt[k:], "/*") && !strings.HasPrefix(stmt[k:], "/*!") && !strings.HasPrefix(stmt[k:], "/*M!"):
			j := strings.Index(stmt[k+2:], "*/")
			if j < 0 {
				return out
			}
			k += j + 4
			continue
		case c == '(':
			depth++
			if depth == 1 {
				k++
				continue
			}
		case c == ')':
			depth--
			if depth == 0 {
				if start >= 0 {
					out = append(out, [2]int{start, trimEnd(stmt, k)})
				}
				return out
			}
		case c == ',' && depth == 1:
			if start >= 0 {
				out = append(out, [2]int{start, trimEnd(stmt, k)})
			}
			start = -1
			k++
			continue
		}
		if depth >= 1 && start < 0 && c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			start = k
		}
		k++
	}
	return out
}

// trimEnd moves end back over spaces.
func trimEnd(s string, end int) int {
	for end > 0 && strings.ContainsRune(" \t\r\n", rune(s[end-1])) {
		end--
	}
	return end
}

// triggerName returns the name of the trigger a CREATE TRIGGER statement defines.
func triggerName(stmt string) string {
	toks := tokens(stmt, 64)
	for i, t := range toks {
		if !t.quoted && strings.EqualFold(t.text, "TRIGGER") && i+1 < len(toks) {
			i++
			if strings.EqualFold(toks[i].text, "IF") && !toks[i].quoted {
				i += 3
			}
			if i+2 < len(toks) && toks[i+1].text == "." && !toks[i+1].quoted {
				i += 2
			}
			if i < len(toks) {
				return toks[i].text
			}
		}
	}
	return ""
}

// nameUse is a table a trigger's body names after INSERT INTO, REPLACE, UPDATE or DELETE FROM
// (writes), or after FROM or JOIN (reads); db is "" when unqualified.
type nameUse struct{ verb, db, table string }

// triggerUses lists the tables a CREATE TRIGGER statement's body writes and reads. It reads the
// body's words, not its grammar: enough to name the tables for a warning.
func triggerUses(stmt string) []nameUse {
	toks := tokens(stmt, len(stmt))
	is := func(i int, ws ...string) bool { return keyword(toks, i, ws...) }
	// The body starts after FOR EACH ROW (and FOLLOWS/PRECEDES another trigger).
	body := 0
	for i := 0; i+2 < len(toks); i++ {
		if is(i, "FOR") && is(i+1, "EACH") && is(i+2, "ROW") {
			body = i + 3
			break
		}
	}
	name := func(i int) (string, string, bool) {
		if i >= len(toks) || (!toks[i].quoted && !identByte(toks[i].text[0])) {
			return "", "", false
		}
		if i+2 < len(toks) && toks[i+1].text == "." && !toks[i+1].quoted {
			return toks[i].text, toks[i+2].text, true
		}
		return "", toks[i].text, true
	}
	var out []nameUse
	var calls []string // the word before each open parenthesis: FROM inside EXTRACT(...) is no table
	for i := body; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.text == "(" && !t.quoted:
			prev := ""
			if i > 0 && !toks[i-1].quoted {
				prev = strings.ToUpper(toks[i-1].text)
			}
			calls = append(calls, prev)
			continue
		case t.text == ")" && !t.quoted:
			if len(calls) > 0 {
				calls = calls[:len(calls)-1]
			}
			continue
		}
		verb := ""
		j := i + 1
		switch {
		case is(i, "INSERT", "REPLACE"):
			for is(j, "LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY", "IGNORE", "INTO") {
				j++
			}
			verb = "writes"
		case is(i, "UPDATE") && !is(i-1, "KEY", "FOR"):
			for is(j, "LOW_PRIORITY", "IGNORE") {
				j++
			}
			verb = "writes"
		case is(i, "DELETE"):
			for is(j, "LOW_PRIORITY", "QUICK", "IGNORE", "FROM") {
				j++
			}
			verb = "writes"
		case is(i, "FROM", "JOIN"):
			if n := len(calls); n > 0 && strings.Contains(" EXTRACT TRIM SUBSTRING SUBSTR ", " "+calls[n-1]+" ") {
				continue
			}
			verb = "reads"
		default:
			continue
		}
		db, table, ok := name(j)
		if !ok || (db == "" && strings.EqualFold(table, "DUAL") && !toks[j].quoted) {
			continue
		}
		out = append(out, nameUse{verb: verb, db: db, table: table})
		if db != "" {
			i = j + 2
		} else {
			i = j
		}
	}
	return out
}

// unread drops from secs the definitions readDefinitions has read and checked already.
func (p *plan) unread(secs []*section) []*section {
	if p.defs == nil {
		return secs
	}
	var out []*section
	for _, sec := range secs {
		if (sec.kind == kindSchema || sec.kind == kindPost) && p.defs.read[sectionKey(sec)] {
			continue
		}
		out = append(out, sec)
	}
	return out
}
