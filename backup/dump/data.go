package dump

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/backup/sqltext"
	"github.com/backupctl/backupctl/version"
)

// maxInsert bounds one INSERT statement; a single larger row gets a statement of its own.
const maxInsert = 1 << 20

// restoreSession puts back the header's session after an object that changed it.
const restoreSession = "SET NAMES utf8mb4;\nSET SQL_MODE = 'NO_AUTO_VALUE_ON_ZERO';\nSET TIME_ZONE = '+00:00';\n"

// plan creates the dump's jobs in object order: small sections are produced here, data is
// left to the workers. It fills m's names; the writer fills the ranges.
//
// The order is by dependencies across every dumped database, never by name: first each
// database with its routines (a view in another database may call them) and stand-ins for
// the views another database's views read; then the sequences of every database (a column
// default may call NEXTVAL on another database's sequence), then the other tables; then the
// data in the same order; then each database's views, triggers and events. A section whose
// database is not the one the stream last switched to starts with USE, so each database's
// sections stay addressable and a stock replay runs in the right database.
func (d *dumper) plan(ctx context.Context, p *pipe, m *format.Manifest) error {
	d.prog.start(d.dbs)
	// The first line turns the stock client's sandbox mode on, as mariadb-dump's does: a
	// replay through `mariadb` then refuses client commands (\! runs a shell command).
	header := fmt.Sprintf("%s\n-- %s %s dump %s\n-- server %s\n-- started %s\n%s",
		sqltext.SandboxLine, format.ToolName, sqltext.CommentSafe(version.Version), d.id, sqltext.CommentSafe(d.server), d.started.UTC().Format(time.RFC3339), format.HeaderSQL)
	if err := p.section(ctx, &m.Header, header); err != nil {
		return err
	}
	m.Databases = make([]format.Database, len(d.dbs))
	standIns := readByOthers(d.dbs)
	cur := "" // the database of the stream's last USE
	for i, db := range d.dbs {
		md := &m.Databases[i]
		*md = format.Database{Name: db.Name, Charset: db.Charset, Collation: db.Collation}
		md.Tables = make([]format.Table, len(db.Tables))
		for j, t := range db.Tables {
			md.Tables[j] = format.Table{Name: t.Name, Kind: t.Kind, NoHistory: t.TrxHistory}
			if t.TrxHistory {
				d.log.Warn("system-versioned by transaction id: only the current rows are dumped, the server cannot take back its history",
					"database", t.DB, "table", t.Name)
			}
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%s;\nUSE %s;\n", db.Create, sqltext.QuoteIdent(db.Name))
		for _, o := range db.Routines {
			md.Routines = append(md.Routines, o.Name)
			writeObject(&b, o, db.Collation)
		}
		for _, o := range db.Views {
			if standIns[o] {
				writeStandIn(&b, o)
			}
		}
		if err := p.section(ctx, &md.Create, b.String()); err != nil {
			return err
		}
		cur = db.Name
	}
	order := tableOrder(d.dbs, m)
	for _, o := range order {
		if err := p.section(ctx, &o.mt.Schema, useFor(&cur, o.t.DB)+tableSchema(o.t)); err != nil {
			return err
		}
	}
	for _, o := range order {
		t, mt := o.t, o.mt
		if t.SkipData {
			done := func(ow *objectWriter) { d.prog.tableDone(d.log, ow, t, 0) }
			if err := p.sectionThen(ctx, &mt.Data, "", done); err != nil {
				return err
			}
			continue
		}
		if err := d.planData(ctx, p, t, mt, useFor(&cur, t.DB)); err != nil {
			return fmt.Errorf("dump %s.%s: %w", sqltext.QuoteIdent(t.DB), sqltext.QuoteIdent(t.Name), err)
		}
	}
	for i, db := range d.dbs {
		if err := d.planPost(ctx, p, db, &m.Databases[i], standIns); err != nil {
			return err
		}
	}
	if d.opts.Users {
		m.Accounts = manifestAccounts(d.accts)
		if err := p.section(ctx, &m.Accounts.Range, accountsSQL(d.accts)); err != nil {
			return err
		}
	}
	return p.section(ctx, &m.Footer, format.Footer(d.id))
}

// useFor returns the USE that switches the stream to db, or "" when it is there already.
func useFor(cur *string, db string) string {
	if *cur == db {
		return ""
	}
	*cur = db
	return "USE " + sqltext.QuoteIdent(db) + ";\n"
}

// planned is one table with its manifest entry.
type planned struct {
	t  *tableInfo
	mt *format.Table
}

// tableOrder lists every table of every database: the sequences first, then the rest, each
// database's in its own order.
func tableOrder(dbs []*dbInfo, m *format.Manifest) []planned {
	var seqs, rest []planned
	for i, db := range dbs {
		for j, t := range db.Tables {
			o := planned{t, &m.Databases[i].Tables[j]}
			if t.Kind == "sequence" {
				seqs = append(seqs, o)
			} else {
				rest = append(rest, o)
			}
		}
	}
	return append(seqs, rest...)
}

// tableSchema is a table's CREATE, inside the session settings it needs (see
// tableInfo.Settings), each put back to the server's default after it.
func tableSchema(t *tableInfo) string {
	var b strings.Builder
	for _, s := range t.Settings {
		fmt.Fprintf(&b, "SET SESSION %s;\n", s)
	}
	b.WriteString(t.Create + ";\n")
	for _, s := range t.Settings {
		name, _, _ := strings.Cut(s, " = ")
		fmt.Fprintf(&b, "SET SESSION %s = DEFAULT;\n", name)
	}
	return b.String()
}

// writeStandIn writes a view that stands in for o until its post section replaces it: a view
// with o's column names, so that a view of another database that reads o can be created
// before o's own definition, whatever the order of the databases.
func writeStandIn(b *strings.Builder, o *objInfo) {
	b.WriteString("CREATE VIEW " + sqltext.QuoteIdent(o.Name) + " AS SELECT ")
	for i, c := range o.columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("1 AS " + sqltext.QuoteIdent(c))
	}
	b.WriteString(";\n")
}

// readByOthers returns the views with columns that a view of another dumped database reads:
// those get a stand-in (see writeStandIn).
func readByOthers(dbs []*dbInfo) map[*objInfo]bool {
	out := map[*objInfo]bool{}
	for _, d := range dbs {
		for _, v := range d.Views {
			if len(v.columns) == 0 {
				continue
			}
			ref := sqltext.QuoteIdent(d.Name) + "." + sqltext.QuoteIdent(v.Name)
			for _, other := range dbs {
				if other != d && slices.ContainsFunc(other.viewDefs, func(def string) bool { return strings.Contains(def, ref) }) {
					out[v] = true
				}
			}
		}
	}
	return out
}

// planPost adds a database's post section: its views (a view with a stand-in replaces it),
// triggers and events, after a USE: the data before it was loaded in whatever database.
func (d *dumper) planPost(ctx context.Context, p *pipe, db *dbInfo, md *format.Database, standIns map[*objInfo]bool) error {
	for _, o := range db.Views {
		md.Views = append(md.Views, o.Name)
	}
	for _, o := range db.Triggers {
		md.Triggers = append(md.Triggers, o.Name)
	}
	for _, o := range db.Events {
		md.Events = append(md.Events, o.Name)
	}
	var post strings.Builder
	for _, group := range [][]*objInfo{db.Views, db.Triggers, db.Events} {
		for _, o := range group {
			if standIns[o] {
				o = orReplace(o)
			}
			writeObject(&post, o, db.Collation)
		}
	}
	text := post.String()
	if text != "" {
		text = "USE " + sqltext.QuoteIdent(db.Name) + ";\n" + text
	}
	return p.section(ctx, &md.Post, text)
}

// orReplace returns the view o as CREATE OR REPLACE, which replaces its stand-in.
func orReplace(o *objInfo) *objInfo {
	c := *o
	c.Create = append([]byte("CREATE OR REPLACE "), bytes.TrimPrefix(o.Create, []byte("CREATE "))...)
	return &c
}

// writeObject writes a view, routine, trigger or event in the session it was created in, so
// that its string literals, its sql_mode-dependent syntax and (for events) its time zone mean
// what they meant. The CREATE statement itself is written with sqltext.ExecuteImmediate: its
// bytes as a hex literal in its character_set_client, which neither our splitter nor the stock
// client can cut or change whatever its body holds (NO_BACKSLASH_ESCAPES or ANSI_QUOTES
// strings, multi-byte characters ending in 0x5C, delimiters, client commands), and which the
// server stores exactly as SHOW CREATE returned it. A routine created when the database had
// another collation is created under that one again (ALTER DATABASE without a name: the
// current one, so the section does not name its database).
func writeObject(b *strings.Builder, o *objInfo, dbCollation string) {
	alterDB := o.Type != "VIEW" && o.DBCollation != "" && o.DBCollation != dbCollation
	if alterDB {
		fmt.Fprintf(b, "ALTER DATABASE COLLATE %s;\n", sqltext.QuoteString(o.DBCollation))
	}
	if o.Type != "VIEW" {
		fmt.Fprintf(b, "SET SQL_MODE = %s;\n", sqltext.QuoteString(o.SQLMode))
	}
	if o.Zone != "" {
		fmt.Fprintf(b, "SET TIME_ZONE = %s;\n", sqltext.QuoteString(o.Zone))
	}
	if o.CharsetClient != "" {
		fmt.Fprintf(b, "SET CHARACTER_SET_CLIENT = %s;\nSET CHARACTER_SET_RESULTS = %s;\n", sqltext.QuoteString(o.CharsetClient), sqltext.QuoteString(o.CharsetClient))
	}
	if o.Collation != "" {
		fmt.Fprintf(b, "SET COLLATION_CONNECTION = %s;\n", sqltext.QuoteString(o.Collation))
	}
	cs := o.CharsetClient
	if cs == "" {
		cs = "utf8mb4"
	}
	b.WriteString(sqltext.ExecuteImmediate(o.Create, cs))
	b.WriteString(";\n")
	b.WriteString(restoreSession)
	if alterDB {
		fmt.Fprintf(b, "ALTER DATABASE COLLATE %s;\n", sqltext.QuoteString(dbCollation))
	}
}

// progress reports dump progress as slog events: every few seconds and after each table.
type progress struct {
	tablesTotal, tablesDone int
	rows                    int64
	begun, last             time.Time
	// estimate is the tables' size by information_schema (DATA_LENGTH): what a progress bar
	// takes as 100% until the dump is written; table is the table finished last.
	estimate int64
	table    string
}

func (p *progress) start(dbs []*dbInfo) {
	for _, d := range dbs {
		p.tablesTotal += len(d.Tables)
		for _, t := range d.Tables {
			p.estimate += t.DataLength
		}
	}
	p.begun = time.Now()
	p.last = p.begun
}

func (p *progress) rowsDone(log interface{ Info(string, ...any) }, ow *objectWriter, n int64) {
	p.rows += n
	if time.Since(p.last) >= 5*time.Second {
		p.report(log, ow, "dump progress")
	}
}

func (p *progress) tableDone(log interface{ Info(string, ...any) }, ow *objectWriter, t *tableInfo, rows int64) {
	p.tablesDone++
	p.table = t.DB + "." + t.Name
	log.Info("table dumped", "database", t.DB, "table", t.Name, "rows", rows)
	p.report(log, ow, "dump progress")
}

func (p *progress) report(log interface{ Info(string, ...any) }, ow *objectWriter, msg string) {
	p.last = time.Now()
	secs := p.last.Sub(p.begun).Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(ow.raw) / secs / 1e6
	}
	log.Info(msg, "tables_done", p.tablesDone, "tables_total", p.tablesTotal, "rows", p.rows,
		"bytes", ow.raw, "stored_bytes", ow.size(), "mb_per_s", float64(int(rate*10))/10,
		"estimated_bytes", p.estimate, "table", p.table)
}
