package backup

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// maxInsert bounds one INSERT statement; a single larger row gets a statement of its own.
const maxInsert = 1 << 20

// headerSQL is the session every later section relies on. The sql_mode is permissive (zero
// dates, NO_AUTO_VALUE_ON_ZERO so a 0 in an AUTO_INCREMENT column stays 0) and has no
// NO_BACKSLASH_ESCAPES, which the string escaping needs. Version-gated comments keep the object
// replayable on older servers.
const headerSQL = `SET NAMES utf8mb4;
SET TIME_ZONE = '+00:00';
SET SQL_MODE = 'NO_AUTO_VALUE_ON_ZERO';
SET FOREIGN_KEY_CHECKS = 0;
SET UNIQUE_CHECKS = 0;
SET SQL_NOTES = 0;
/*M!100201 SET CHECK_CONSTRAINT_CHECKS = 0 */;
/*M!101100 SET SYSTEM_VERSIONING_INSERT_HISTORY = 1 */;
`

// restoreSession puts back the header's session after an object that changed it.
const restoreSession = "SET NAMES utf8mb4;\nSET SQL_MODE = 'NO_AUTO_VALUE_ON_ZERO';\nSET TIME_ZONE = '+00:00';\n"

// Footer returns the end-of-dump marker line of a backup: the exact last bytes of its stream.
func Footer(id string) string { return "-- backupctl dump completed " + id + "\n" }

// write produces the whole dump into sw and fills m's ranges.
func (d *dumper) write(ctx context.Context, sw *sectionWriter, m *Manifest) error {
	d.prog.start(d.dbs)
	var err error
	m.Header, _, err = sw.section(func() error {
		_, err := fmt.Fprintf(sw, "-- %s %s dump %s\n-- server %s\n-- started %s\n%s",
			ToolName, commentSafe(Version), d.id, commentSafe(d.server), d.started.UTC().Format(time.RFC3339), headerSQL)
		return err
	})
	if err != nil {
		return err
	}
	for _, db := range d.dbs {
		md, err := d.writeDatabase(ctx, sw, db)
		if err != nil {
			return err
		}
		m.Databases = append(m.Databases, md)
	}
	m.Footer, _, err = sw.section(func() error {
		_, err := sw.WriteString(Footer(d.id))
		return err
	})
	if err != nil {
		return err
	}
	d.prog.report(d.log, sw, "dump written")
	return nil
}

func (d *dumper) writeDatabase(ctx context.Context, sw *sectionWriter, db *dbInfo) (Database, error) {
	md := Database{Name: db.Name, Charset: db.Charset, Collation: db.Collation}
	var err error
	md.Create, _, err = sw.section(func() error {
		_, err := fmt.Fprintf(sw, "%s;\nUSE %s;\n", db.Create, QuoteIdent(db.Name))
		return err
	})
	if err != nil {
		return md, err
	}
	md.Tables = make([]Table, len(db.Tables))
	for i, t := range db.Tables {
		md.Tables[i] = Table{Name: t.Name, Kind: t.Kind}
		md.Tables[i].Schema, _, err = sw.section(func() error {
			_, err := fmt.Fprintf(sw, "%s;\n", t.Create)
			return err
		})
		if err != nil {
			return md, err
		}
	}
	for i, t := range db.Tables {
		mt := &md.Tables[i]
		if t.SkipData {
			mt.Data = sw.empty()
			d.prog.tableDone(d.log, sw, t, 0)
			continue
		}
		mt.Data, mt.DataSHA256, err = sw.section(func() error {
			var err error
			mt.Rows, err = d.writeData(ctx, sw, t)
			return err
		})
		if err != nil {
			return md, fmt.Errorf("dump %s.%s: %w", QuoteIdent(t.DB), QuoteIdent(t.Name), err)
		}
		d.prog.tableDone(d.log, sw, t, mt.Rows)
		if t.Locked {
			if err := d.unlockOne(ctx); err != nil {
				return md, err
			}
		}
	}
	if len(db.Routines)+len(db.Views)+len(db.Triggers)+len(db.Events) == 0 {
		md.Post = sw.empty()
		return md, nil
	}
	md.Post, _, err = sw.section(func() error {
		for _, group := range [][]*objInfo{db.Routines, db.Views, db.Triggers, db.Events} {
			for _, o := range group {
				if err := writeObject(sw, o, db.Collation); err != nil {
					return err
				}
			}
		}
		return nil
	})
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
	return md, err
}

// writeObject writes a view, routine, trigger or event in the session it was created in, so
// that its string literals, its sql_mode-dependent syntax and (for events) its time zone mean
// what they meant. Routines, triggers and events go between DELIMITER lines, as the stock
// client needs for bodies with semicolons. A routine created when the database had another
// collation is created under that one again (ALTER DATABASE without a name: the current one,
// so the section does not name its database).
func writeObject(sw *sectionWriter, o *objInfo, dbCollation string) error {
	var b strings.Builder
	alterDB := o.Type != "VIEW" && o.DBCollation != "" && o.DBCollation != dbCollation
	if alterDB {
		fmt.Fprintf(&b, "ALTER DATABASE COLLATE %s;\n", QuoteString(o.DBCollation))
	}
	if o.Type != "VIEW" {
		fmt.Fprintf(&b, "SET SQL_MODE = %s;\n", QuoteString(o.SQLMode))
	}
	if o.Zone != "" {
		fmt.Fprintf(&b, "SET TIME_ZONE = %s;\n", QuoteString(o.Zone))
	}
	if o.CharsetClient != "" {
		fmt.Fprintf(&b, "SET CHARACTER_SET_CLIENT = %s;\nSET CHARACTER_SET_RESULTS = %s;\n", QuoteString(o.CharsetClient), QuoteString(o.CharsetClient))
	}
	if o.Collation != "" {
		fmt.Fprintf(&b, "SET COLLATION_CONNECTION = %s;\n", QuoteString(o.Collation))
	}
	if o.Type == "VIEW" {
		b.Write(o.Create)
		b.WriteString(";\n")
	} else {
		b.WriteString("DELIMITER ;;\n")
		b.Write(o.Create)
		b.WriteString(";;\nDELIMITER ;\n")
	}
	b.WriteString(restoreSession)
	if alterDB {
		fmt.Fprintf(&b, "ALTER DATABASE COLLATE %s;\n", QuoteString(dbCollation))
	}
	_, err := sw.WriteString(b.String())
	return err
}

// writeData writes a table's rows as INSERT statements, or a sequence's state, and returns the
// number of rows. The section switches to SET NAMES binary: values are the column's bytes as
// the server holds them (read with character_set_results=binary), whatever the column's
// character set, and must reach it unconverted.
func (d *dumper) writeData(ctx context.Context, sw *sectionWriter, t *tableInfo) (int64, error) {
	from := QuoteIdent(t.DB) + "." + QuoteIdent(t.Name)
	if t.Kind == "sequence" {
		r, err := queryOne(ctx, d.conn, "SELECT next_not_cached_value AS n, cycle_count AS c FROM "+from)
		if err != nil {
			return 0, err
		}
		// The state a restart would resume from: the next value not handed out by the cache.
		_, err = fmt.Fprintf(sw, "DO SETVAL(%s, %s, 0, %s);\n", QuoteIdent(t.Name), r.str("n"), r.str("c"))
		return 0, err // a state, not a row: Rows counts inserted rows
	}
	if len(t.Columns) == 0 {
		return 0, nil
	}
	var sel, list strings.Builder
	for i, c := range t.Columns {
		if i > 0 {
			sel.WriteString(", ")
			list.WriteString(",")
		}
		q := QuoteIdent(c.Name)
		switch c.Kind {
		case kindFloat:
			// The text protocol prints FLOAT with 6 digits; widened to DOUBLE it prints the
			// exact value, which rounds back to the same float on insert.
			q = "CAST(" + q + " AS DOUBLE)"
		case kindEnum:
			q = "(" + q + " + 0)"
		}
		sel.WriteString(q)
		list.WriteString(QuoteIdent(c.Name))
	}
	query := "SELECT " + sel.String() + " FROM " + from
	if t.Kind == "versioned" {
		query += " FOR SYSTEM_TIME ALL"
	}
	rs, err := d.conn.QueryContext(ctx, query)
	if err != nil {
		return 0, err
	}
	defer rs.Close()

	prefix := "INSERT INTO " + QuoteIdent(t.Name) + " (" + list.String() + ") VALUES\n"
	vals := make([]sql.RawBytes, len(t.Columns))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	stmt := make([]byte, 0, maxInsert+maxInsert/8)
	var tuple []byte
	var rows int64
	inStmt := false
	flush := func() error {
		if !inStmt {
			return nil
		}
		stmt = append(stmt, ";\n"...)
		_, err := sw.Write(stmt)
		stmt, inStmt = stmt[:0], false
		if cap(stmt) > 4*maxInsert {
			stmt = make([]byte, 0, maxInsert+maxInsert/8) // a huge row's buffer is not kept
		}
		return err
	}
	if _, err := sw.WriteString("SET NAMES binary;\n"); err != nil {
		return 0, err
	}
	for rs.Next() {
		if err := rs.Scan(ptrs...); err != nil {
			return rows, err
		}
		tuple = append(tuple[:0], '(')
		for i, v := range vals {
			if i > 0 {
				tuple = append(tuple, ',')
			}
			tuple = appendValue(tuple, v, t.Columns[i].Kind)
		}
		tuple = append(tuple, ')')
		if inStmt && len(stmt)+len(tuple)+3 > maxInsert {
			if err := flush(); err != nil {
				return rows, err
			}
		}
		if !inStmt {
			stmt = append(stmt, prefix...)
			inStmt = true
		} else {
			stmt = append(stmt, ",\n"...)
		}
		stmt = append(stmt, tuple...)
		rows++
		if rows&63 == 0 {
			d.prog.rowsDone(d.log, sw, 64)
			if err := ctx.Err(); err != nil {
				return rows, err
			}
		}
	}
	if err := rs.Err(); err != nil {
		return rows, err
	}
	d.prog.rowsDone(d.log, sw, rows&63)
	if err := flush(); err != nil {
		return rows, err
	}
	_, err = sw.WriteString("SET NAMES utf8mb4;\n")
	return rows, err
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

func (p *progress) rowsDone(log interface{ Info(string, ...any) }, sw *sectionWriter, n int64) {
	p.rows += n
	if time.Since(p.last) >= 5*time.Second {
		p.report(log, sw, "dump progress")
	}
}

func (p *progress) tableDone(log interface{ Info(string, ...any) }, sw *sectionWriter, t *tableInfo, rows int64) {
	p.tablesDone++
	log.Info("table dumped", "database", t.DB, "table", t.Name, "rows", rows)
	p.report(log, sw, "dump progress")
}

func (p *progress) report(log interface{ Info(string, ...any) }, sw *sectionWriter, msg string) {
	p.last = time.Now()
	secs := p.last.Sub(p.begun).Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(sw.raw) / secs / 1e6
	}
	log.Info(msg, "tables_done", p.tablesDone, "tables_total", p.tablesTotal, "rows", p.rows,
		"bytes", sw.raw, "stored_bytes", sw.size(), "mb_per_s", float64(int(rate*10))/10)
}
