package dump

import (
	"context"
	"fmt"
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
	for i, db := range d.dbs {
		if err := d.planDatabase(ctx, p, db, &m.Databases[i]); err != nil {
			return err
		}
	}
	return p.section(ctx, &m.Footer, format.Footer(d.id))
}

func (d *dumper) planDatabase(ctx context.Context, p *pipe, db *dbInfo, md *format.Database) error {
	*md = format.Database{Name: db.Name, Charset: db.Charset, Collation: db.Collation}
	if err := p.section(ctx, &md.Create, fmt.Sprintf("%s;\nUSE %s;\n", db.Create, sqltext.QuoteIdent(db.Name))); err != nil {
		return err
	}
	md.Tables = make([]format.Table, len(db.Tables))
	for i, t := range db.Tables {
		md.Tables[i] = format.Table{Name: t.Name, Kind: t.Kind}
		if err := p.section(ctx, &md.Tables[i].Schema, t.Create+";\n"); err != nil {
			return err
		}
	}
	for i, t := range db.Tables {
		mt := &md.Tables[i]
		if t.SkipData {
			done := func(ow *objectWriter) { d.prog.tableDone(d.log, ow, t, 0) }
			if err := p.sectionThen(ctx, &mt.Data, "", done); err != nil {
				return err
			}
			continue
		}
		if err := d.planData(ctx, p, t, mt); err != nil {
			return fmt.Errorf("dump %s.%s: %w", sqltext.QuoteIdent(t.DB), sqltext.QuoteIdent(t.Name), err)
		}
	}
	for _, o := range db.Routines {
		md.Routines = append(md.Routines, o.Name)
	}
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
	for _, group := range [][]*objInfo{db.Routines, db.Views, db.Triggers, db.Events} {
		for _, o := range group {
			writeObject(&post, o, db.Collation)
		}
	}
	return p.section(ctx, &md.Post, post.String())
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
}

func (p *progress) start(dbs []*dbInfo) {
	for _, d := range dbs {
		p.tablesTotal += len(d.Tables)
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
		"bytes", ow.raw, "stored_bytes", ow.size(), "mb_per_s", float64(int(rate*10))/10)
}
