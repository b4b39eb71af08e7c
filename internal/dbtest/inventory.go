package dbtest

import (
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// keepRowsUpTo is the largest table whose rows are kept one by one, so a difference can be
// shown row by row; larger tables are compared by their hashes only.
const keepRowsUpTo = 200_000

// Inventory is everything Compare looks at in one database.
type Inventory struct {
	Label     string // server and database, for messages
	Database  string
	Create    string            // SHOW CREATE DATABASE: default charset, collation, comment
	Tables    map[string]*Table // base tables, system-versioned ones included
	Views     map[string]Object
	Routines  map[string]Object // keyed "PROCEDURE name", "FUNCTION name"
	Triggers  map[string]Object
	Events    map[string]Object
	Sequences map[string]Object // SHOW CREATE SEQUENCE plus the state ("state")
}

// Table is one base table's definition and the fingerprints of its content.
type Table struct {
	Name        string
	Type        string // BASE TABLE or SYSTEM VERSIONED
	Engine      string
	Create      string // SHOW CREATE TABLE, AUTO_INCREMENT included
	Rows        int64  // COUNT(*): current rows
	Checksum    string // CHECKSUM TABLE ... EXTENDED, unless the table has generated columns
	RowHash     string // order-independent hash of every column of every current row, as raw bytes
	HistoryRows int64  // system-versioned only: rows FOR SYSTEM_TIME ALL
	HistoryHash string // system-versioned only: the same hash over all rows, row_start/row_end included

	rows, history *rowSet
}

// Object is a view, routine, trigger, event or sequence: the columns of its SHOW CREATE.
type Object struct {
	Name   string
	Fields map[string]string
}

// rowSet is a multiset of rows, by hash, with a rendering of each for messages.
type rowSet struct {
	n      int64
	sum    [4]uint64
	counts map[[32]byte]int
	text   map[[32]byte]string
}

// InventoryOf reads everything Compare looks at in database db on s.
func InventoryOf(t testing.TB, s *Server, db string) *Inventory {
	t.Helper()
	// Results unconverted (raw stored bytes), UTC for TIMESTAMP, a fixed sql_mode so
	// SHOW CREATE quotes the same way on every server.
	conn := s.open(t, "", map[string]string{"character_set_results": "NULL", "sql_mode": "''"})
	inv := &Inventory{
		Label:     s.Name + "." + strconv.Quote(db),
		Database:  db,
		Tables:    map[string]*Table{},
		Views:     map[string]Object{},
		Routines:  map[string]Object{},
		Triggers:  map[string]Object{},
		Events:    map[string]Object{},
		Sequences: map[string]Object{},
	}
	q := &querier{t: t, db: conn, dbName: db}
	qdb := QuoteIdent(db)

	if n := q.int(`SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?`, db); n == 0 {
		t.Fatalf("%s: database %q does not exist", s.Name, db)
	}
	inv.Create = strings.Replace(q.show("SHOW CREATE DATABASE " + qdb).Fields["Create Database"],
		"CREATE DATABASE "+qdb, "CREATE DATABASE `<db>`", 1)

	for _, r := range q.strings(`SELECT TABLE_NAME, TABLE_TYPE, COALESCE(ENGINE, '') FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME`, db) {
		name, typ, engine := r[0], r[1], r[2]
		qt := qdb + "." + QuoteIdent(name)
		switch typ {
		case "VIEW":
			o := q.show("SHOW CREATE VIEW " + qt)
			o.Name = name
			inv.Views[name] = o
		case "SEQUENCE":
			o := q.show("SHOW CREATE SEQUENCE " + qt)
			o.Name = name
			o.Fields["state"] = q.render("SELECT * FROM " + qt)
			inv.Sequences[name] = o
		default:
			inv.Tables[name] = q.table(name, typ, engine)
		}
	}
	for _, r := range q.strings(`SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES
		WHERE ROUTINE_SCHEMA = ? ORDER BY ROUTINE_TYPE, ROUTINE_NAME`, db) {
		o := q.show("SHOW CREATE " + r[0] + " " + qdb + "." + QuoteIdent(r[1]))
		o.Name = r[1]
		inv.Routines[r[0]+" "+r[1]] = o
	}
	for _, r := range q.strings(`SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER
		FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY TRIGGER_NAME`, db) {
		o := q.show("SHOW CREATE TRIGGER " + qdb + "." + QuoteIdent(r[0]))
		o.Name = r[0]
		delete(o.Fields, "Created") // when it was loaded, not what it is
		o.Fields["order"] = fmt.Sprintf("%s %s ON %s, position %s", r[2], r[3], strconv.Quote(r[1]), r[4])
		inv.Triggers[r[0]] = o
	}
	for _, r := range q.strings(`SELECT EVENT_NAME, STATUS FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? ORDER BY EVENT_NAME`, db) {
		o := q.show("SHOW CREATE EVENT " + qdb + "." + QuoteIdent(r[0]))
		o.Name = r[0]
		o.Fields["status"] = r[1]
		inv.Events[r[0]] = o
	}
	return inv
}

// querier runs the inventory's queries and fails the test on errors.
type querier struct {
	t      testing.TB
	db     *sql.DB
	dbName string
}

// normalise hides the database's own name, so two databases under different names compare
// equal; a reference to any other database stays visible.
func (q *querier) normalise(s string) string {
	return strings.ReplaceAll(s, QuoteIdent(q.dbName)+".", "`<db>`.")
}

func (q *querier) int(query string, args ...any) int64 {
	q.t.Helper()
	var n int64
	if err := q.db.QueryRowContext(q.t.Context(), query, args...).Scan(&n); err != nil {
		q.t.Fatalf("%s: %v", query, err)
	}
	return n
}

// strings returns every row as strings (NULL as "NULL").
func (q *querier) strings(query string, args ...any) [][]string {
	q.t.Helper()
	var out [][]string
	q.each(query, args, func(_ []string, vals []sql.RawBytes) {
		row := make([]string, len(vals))
		for i, v := range vals {
			if v == nil {
				row[i] = "NULL"
			} else {
				row[i] = string(v)
			}
		}
		out = append(out, row)
	})
	return out
}

// show runs a SHOW CREATE and returns its one row by column name, normalised.
func (q *querier) show(query string) Object {
	q.t.Helper()
	o := Object{Fields: map[string]string{}}
	rows := 0
	q.each(query, nil, func(cols []string, vals []sql.RawBytes) {
		rows++
		for i, c := range cols {
			v := "NULL"
			if vals[i] != nil {
				v = q.normalise(string(vals[i]))
			}
			o.Fields[c] = v
		}
	})
	if rows != 1 {
		q.t.Fatalf("%s: %d rows, want 1", query, rows)
	}
	return o
}

// render returns all rows of a query as "col=value" text, for small state tables.
func (q *querier) render(query string) string {
	q.t.Helper()
	var b strings.Builder
	q.each(query, nil, func(cols []string, vals []sql.RawBytes) {
		for i, c := range cols {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(c + "=" + renderValue(vals[i]))
		}
		b.WriteString("\n")
	})
	return b.String()
}

// each runs query and calls fn for every row; vals are only valid during the call.
func (q *querier) each(query string, args []any, fn func(cols []string, vals []sql.RawBytes)) {
	q.t.Helper()
	rows, err := q.db.QueryContext(q.t.Context(), query, args...)
	if err != nil {
		q.t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		q.t.Fatalf("%s: %v", query, err)
	}
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			q.t.Fatalf("%s: %v", query, err)
		}
		fn(cols, vals)
	}
	if err := rows.Err(); err != nil {
		q.t.Fatalf("%s: %v", query, err)
	}
}

// table reads one base table.
func (q *querier) table(name, typ, engine string) *Table {
	q.t.Helper()
	qt := QuoteIdent(q.dbName) + "." + QuoteIdent(name)
	tb := &Table{Name: name, Type: typ, Engine: engine}
	tb.Create = q.show("SHOW CREATE TABLE " + qt).Fields["Create Table"]
	tb.Rows = q.int("SELECT COUNT(*) FROM " + qt)
	tb.Checksum = q.strings("CHECKSUM TABLE " + qt + " EXTENDED")[0][1]
	if q.int(`SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
		AND IS_GENERATED = 'ALWAYS'`, q.dbName, name) > 0 {
		// MariaDB 10.11's CHECKSUM TABLE differs between two tables with the same rows when one
		// has a generated column; RowHash below covers every column's stored bytes instead.
		tb.Checksum = "not compared: the table has generated columns"
	}

	// Every column, INVISIBLE ones included (SELECT * skips them). The text protocol prints
	// FLOAT with 6 digits, so FLOAT goes through DOUBLE; ENUM and SET also give their index,
	// which tells the error value '' (index 0) from a member ''.
	var exprs []string
	for _, c := range q.strings(`SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`, q.dbName, name) {
		col := QuoteIdent(c[0])
		switch c[1] {
		case "float":
			exprs = append(exprs, "CAST("+col+" AS DOUBLE)")
		case "enum", "set":
			exprs = append(exprs, col, col+"+0")
		default:
			exprs = append(exprs, col)
		}
	}
	keep := tb.Rows <= keepRowsUpTo
	tb.rows = q.hashRows("SELECT "+strings.Join(exprs, ", ")+" FROM "+qt, keep)
	tb.RowHash = tb.rows.hash()
	if tb.rows.n != tb.Rows {
		q.t.Fatalf("%s: COUNT(*) = %d but SELECT returned %d rows", qt, tb.Rows, tb.rows.n)
	}
	if typ == "SYSTEM VERSIONED" {
		// Implicit period columns are not in information_schema.COLUMNS; explicit ones are.
		if !strings.Contains(tb.Create, "PERIOD FOR SYSTEM_TIME") {
			exprs = append(exprs, "ROW_START", "ROW_END")
		}
		tb.history = q.hashRows("SELECT "+strings.Join(exprs, ", ")+" FROM "+qt+" FOR SYSTEM_TIME ALL", keep)
		tb.HistoryRows = tb.history.n
		tb.HistoryHash = tb.history.hash()
	}
	return tb
}

// hashRows reads every row as raw bytes into a multiset hash: each row's SHA-256 over
// (NULL flag, length, bytes) of each value, summed lane by lane, so order does not matter and
// duplicate rows count.
func (q *querier) hashRows(query string, keep bool) *rowSet {
	q.t.Helper()
	rs := &rowSet{}
	if keep {
		rs.counts = map[[32]byte]int{}
		rs.text = map[[32]byte]string{}
	}
	var lenBuf [binary.MaxVarintLen64]byte
	q.each(query, nil, func(_ []string, vals []sql.RawBytes) {
		h := sha256.New()
		for _, v := range vals {
			if v == nil {
				h.Write([]byte{0})
				continue
			}
			h.Write([]byte{1})
			h.Write(lenBuf[:binary.PutUvarint(lenBuf[:], uint64(len(v)))])
			h.Write(v)
		}
		var sum [32]byte
		h.Sum(sum[:0])
		for i := range rs.sum {
			rs.sum[i] += binary.LittleEndian.Uint64(sum[i*8:])
		}
		rs.n++
		if keep {
			rs.counts[sum]++
			if _, ok := rs.text[sum]; !ok {
				rs.text[sum] = renderRow(vals)
			}
		}
	})
	return rs
}

func (rs *rowSet) hash() string {
	var b [32]byte
	for i, v := range rs.sum {
		binary.LittleEndian.PutUint64(b[i*8:], v)
	}
	return hex.EncodeToString(b[:])
}

func renderRow(vals []sql.RawBytes) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = renderValue(v)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// renderValue shows a value unambiguously: NULL, or a Go-quoted string cut at 60 bytes.
func renderValue(v sql.RawBytes) string {
	if v == nil {
		return "NULL"
	}
	if len(v) > 60 {
		return fmt.Sprintf("%s…(%d bytes)", strconv.Quote(string(v[:60])), len(v))
	}
	return strconv.Quote(string(v))
}
