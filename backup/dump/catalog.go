package dump

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/backupctl/backupctl/backup/sqltext"
	"github.com/go-sql-driver/mysql"
)

// systemSchemas are left out of a dump unless asked for by name.
var systemSchemas = map[string]bool{
	"information_schema": true, "performance_schema": true, "mysql": true, "sys": true,
}

// dbInfo is one database as read from the catalog.
type dbInfo struct {
	Name, Charset, Collation string
	// Create is SHOW CREATE DATABASE: charset, collation and comment.
	Create string
	// Tables in dump order: sequences, then non-transactional tables (their locks are released
	// once they are dumped), then the rest, each group by name.
	Tables []*tableInfo
	// Objects in creation order: routines (in the create section: a view of any database may
	// call them), then views in dependency order, then triggers, then events (the post section).
	Routines, Views, Triggers, Events []*objInfo
	// viewDefs are the stored view definitions, fully qualified, to find views that read
	// other databases (see orderDatabases).
	viewDefs []string
}

// tableInfo is one base table, system-versioned table or sequence.
type tableInfo struct {
	DB, Name string
	Kind     string // "table", "sequence", "versioned"
	Engine   string
	// Locked: a non-transactional table whose data is read under LOCK TABLES ... READ taken
	// while commits were blocked, so it matches the snapshot.
	Locked bool
	// SkipData: engines whose rows are not theirs (MERGE, FEDERATED, ...) or that hold none.
	SkipData bool
	Create   string
	Columns  []colInfo
	// DataLength is the server's estimate of the data size; ChunkKey is the single integer
	// primary key column by whose ranges the data may be read in parallel, or "".
	DataLength int64
	ChunkKey   string
	// IndexLength is the server's estimate of the index size (MEMORY tables: see heapSize).
	IndexLength int64
	// TrxHistory: a system-versioned table whose row start and end are transaction ids. The
	// server sets those itself and refuses them in an INSERT, so only its current rows can be
	// dumped: its history cannot come back (see format.Table.NoHistory).
	TrxHistory bool
	// Settings are the session settings its CREATE needs on the target, each "name = value",
	// set before the CREATE and put back to the default after it (see tableSettings).
	Settings []string
	// rowBytes is a rough upper bound of an InnoDB row, to pick the tables worth probing for
	// innodb_strict_mode (see probeStrict).
	rowBytes int64
}

// colInfo is one column written in INSERTs.
type colInfo struct {
	Name string
	Kind sqltext.ValueKind
}

// objInfo is a view, routine, trigger or event with the session it was created in.
type objInfo struct {
	Type string // VIEW, FUNCTION, PROCEDURE, PACKAGE, PACKAGE BODY, TRIGGER, EVENT
	Name string
	// Create is the statement's bytes as the server holds them, in CharsetClient.
	Create                                  []byte
	SQLMode, CharsetClient, Collation, Zone string
	// DBCollation is the database collation a routine was created under: it gives parameters
	// and variables declared without a character set theirs.
	DBCollation string
	// deps are the names of same-database views this view reads (views only).
	deps []string
	// columns are a view's column names, for its stand-in (see writeStandIn).
	columns []string
}

// row is one catalog result row keyed by lower-case column name. A NULL column is absent.
type row map[string][]byte

func (r row) str(k string) string { return string(r[k]) }

// queryRows runs a catalog query and copies every row; catalogs are small.
func queryRows(ctx context.Context, c *sql.Conn, q string) ([]row, error) {
	rs, err := c.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		return nil, err
	}
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var out []row
	for rs.Next() {
		if err := rs.Scan(ptrs...); err != nil {
			return nil, err
		}
		r := make(row, len(cols))
		for i, v := range vals {
			if v != nil {
				r[strings.ToLower(cols[i])] = append([]byte{}, v...)
			}
		}
		out = append(out, r)
	}
	return out, rs.Err()
}

// inSchema keeps the rows whose column s is exactly db. information_schema compares names
// with a case-insensitive collation, and `Foo` and `foo` are two databases on most servers.
func inSchema(rs []row, db string) []row {
	out := rs[:0]
	for _, r := range rs {
		if r.str("s") == db {
			out = append(out, r)
		}
	}
	return out
}

// queryOne runs a query that must return exactly one row.
func queryOne(ctx context.Context, c *sql.Conn, q string) (row, error) {
	rs, err := queryRows(ctx, c, q)
	if err != nil {
		return nil, err
	}
	if len(rs) != 1 {
		return nil, fmt.Errorf("%d rows, expected one", len(rs))
	}
	return rs[0], nil
}

// listDatabases returns the databases to dump, in order: the named ones (each must exist), or
// every database but the system schemas.
func listDatabases(ctx context.Context, c *sql.Conn, want []string) ([]*dbInfo, error) {
	rs, err := queryRows(ctx, c, "SELECT SCHEMA_NAME, DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME")
	if err != nil {
		return nil, fmt.Errorf("list databases: %w", err)
	}
	all := map[string]*dbInfo{}
	var names []string
	for _, r := range rs {
		d := &dbInfo{Name: r.str("schema_name"), Charset: r.str("default_character_set_name"), Collation: r.str("default_collation_name")}
		all[d.Name] = d
		names = append(names, d.Name)
	}
	var out []*dbInfo
	if len(want) == 0 {
		for _, n := range names {
			if !systemSchemas[strings.ToLower(n)] {
				out = append(out, all[n])
			}
		}
		return out, nil
	}
	seen := map[string]bool{}
	var missing []string
	for _, n := range want {
		if seen[n] {
			continue
		}
		seen[n] = true
		d, ok := all[n]
		if !ok {
			missing = append(missing, sqltext.QuoteIdent(n))
			continue
		}
		out = append(out, d)
	}
	if len(missing) > 0 {
		return nil, &unknownDatabaseError{names: missing}
	}
	return out, nil
}

// nonTransactional reports whether rows of engine can change outside a transaction snapshot.
func nonTransactional(engine string) bool {
	return !strings.EqualFold(engine, "InnoDB")
}

// noDataEngines hold no rows of their own: dumping MERGE or FEDERATED rows would duplicate
// another table's data on restore.
var noDataEngines = map[string]bool{
	"MRG_MYISAM": true, "FEDERATED": true, "BLACKHOLE": true, "CONNECT": true, "SPIDER": true,
}

// readCatalog fills d with every object of the database. Run it while DDL is blocked, so that
// the schema matches the snapshot taken right after.
func readCatalog(ctx context.Context, c *sql.Conn, d *dbInfo) error {
	qdb := sqltext.QuoteString(d.Name)
	// With the database current, SHOW CREATE leaves same-database names unqualified (views,
	// NEXTVAL defaults), as the format wants: the dump's USE decides where they go.
	if _, err := c.ExecContext(ctx, "USE "+sqltext.QuoteIdent(d.Name)); err != nil {
		return fmt.Errorf("use %s: %w", sqltext.QuoteIdent(d.Name), err)
	}
	// Definitions are read as the bytes the server sends, unconverted. SHOW CREATE TABLE prints
	// in utf8mb3 whatever the table's character set (see exactStrings for what that loses).
	if _, err := c.ExecContext(ctx, "SET character_set_results = binary"); err != nil {
		return err
	}
	r, err := queryOne(ctx, c, "SHOW CREATE DATABASE "+sqltext.QuoteIdent(d.Name))
	if err != nil {
		return fmt.Errorf("show create database %s: %w", sqltext.QuoteIdent(d.Name), err)
	}
	d.Create = r.str("create database")

	tabs, err := queryRows(ctx, c, "SELECT TABLE_SCHEMA AS s, TABLE_NAME, TABLE_TYPE, ENGINE, DATA_LENGTH, INDEX_LENGTH, CREATE_OPTIONS FROM information_schema.TABLES WHERE TABLE_SCHEMA = "+qdb+" ORDER BY TABLE_NAME")
	if err != nil {
		return fmt.Errorf("list tables of %s: %w", sqltext.QuoteIdent(d.Name), err)
	}
	cols, err := readColumns(ctx, c, d.Name)
	if err != nil {
		return err
	}
	var seqs, locked, rest []*tableInfo
	var views []string
	for _, r := range inSchema(tabs, d.Name) {
		name, typ := r.str("table_name"), r.str("table_type")
		t := &tableInfo{DB: d.Name, Name: name, Engine: r.str("engine")}
		t.DataLength, _ = strconv.ParseInt(r.str("data_length"), 10, 64) // an estimate, used only to plan chunks
		t.IndexLength, _ = strconv.ParseInt(r.str("index_length"), 10, 64)
		switch typ {
		case "VIEW":
			views = append(views, name)
			continue
		case "SEQUENCE":
			t.Kind = "sequence"
		case "SYSTEM VERSIONED":
			t.Kind = "versioned"
		case "BASE TABLE":
			t.Kind = "table"
		default:
			continue // temporary and system views are not dumped
		}
		stmt := "SHOW CREATE TABLE "
		if t.Kind == "sequence" {
			stmt = "SHOW CREATE SEQUENCE "
		}
		cr, err := queryOne(ctx, c, stmt+sqltext.QuoteIdent(d.Name)+"."+sqltext.QuoteIdent(name))
		if err != nil {
			return fmt.Errorf("show create of %s.%s: %w", sqltext.QuoteIdent(d.Name), sqltext.QuoteIdent(name), err)
		}
		t.Create = sqltext.HexInvalidLiterals(cr.str("create table"))
		if t.Kind == "sequence" {
			seqs = append(seqs, t)
			continue
		}
		if t.Create, err = exactStrings(ctx, c, sqltext.QuoteIdent(d.Name)+"."+sqltext.QuoteIdent(name), t.Create, cols[name]); err != nil {
			return fmt.Errorf("read the string values of %s.%s: %w", sqltext.QuoteIdent(d.Name), sqltext.QuoteIdent(name), err)
		}
		t.SkipData = noDataEngines[strings.ToUpper(t.Engine)] ||
			(strings.EqualFold(d.Name, "mysql") && (name == "general_log" || name == "slow_log"))
		t.Columns, t.TrxHistory = dumpColumns(cols[name], t.Kind == "versioned")
		t.rowBytes = rowBytes(cols[name])
		if size := heapSize(t); size > 0 {
			t.Settings = append(t.Settings, "max_heap_table_size = "+strconv.FormatInt(size, 10))
		}
		if ignoredBlockSize(t.Engine, r.str("create_options")) {
			t.Settings = append(t.Settings, strictOff)
		}
		if t.Kind == "table" {
			t.ChunkKey = chunkKey(cols[name])
		}
		if nonTransactional(t.Engine) && !t.SkipData {
			t.Locked = true
			locked = append(locked, t)
		} else {
			rest = append(rest, t)
		}
	}
	d.Tables = slices.Concat(seqs, locked, rest)

	// The statements of views, routines, triggers and events are read as raw bytes
	// (character_set_results=binary) and replayed under the character_set_client they were
	// written in, as mysqldump does: converting them would change their string literals.
	if _, err := c.ExecContext(ctx, "SET character_set_results = binary"); err != nil {
		return err
	}
	defer c.ExecContext(ctx, "SET character_set_results = utf8mb4") //nolint:errcheck // checked by the next query on c
	if d.Routines, err = readRoutines(ctx, c, d.Name); err != nil {
		return err
	}
	if d.Views, d.viewDefs, err = readViews(ctx, c, d.Name, views); err != nil {
		return err
	}
	for _, v := range d.Views {
		for _, col := range cols[v.Name] {
			v.columns = append(v.columns, col.name)
		}
	}
	if d.Triggers, err = readObjects(ctx, c, d.Name, "TRIGGER",
		"SELECT TRIGGER_SCHEMA AS s, TRIGGER_NAME AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = "+qdb+
			" ORDER BY EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER"); err != nil {
		return err
	}
	if d.Events, err = readObjects(ctx, c, d.Name, "EVENT",
		"SELECT EVENT_SCHEMA AS s, EVENT_NAME AS n FROM information_schema.EVENTS WHERE EVENT_SCHEMA = "+qdb+" ORDER BY EVENT_NAME"); err != nil {
		return err
	}
	return nil
}

// column is a row of information_schema.COLUMNS.
type column struct {
	name, dataType, generated, expr, key string
	charset                              string // CHARACTER_SET_NAME, "" when not a string
	octets                               int64  // CHARACTER_OCTET_LENGTH, 0 when not a string
}

func readColumns(ctx context.Context, c *sql.Conn, db string) (map[string][]column, error) {
	rs, err := queryRows(ctx, c, "SELECT TABLE_SCHEMA AS s, TABLE_NAME, COLUMN_NAME, DATA_TYPE, IS_GENERATED, GENERATION_EXPRESSION, COLUMN_KEY, CHARACTER_OCTET_LENGTH, CHARACTER_SET_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "+sqltext.QuoteString(db)+" ORDER BY TABLE_NAME, ORDINAL_POSITION")
	if err != nil {
		return nil, fmt.Errorf("list columns of %s: %w", sqltext.QuoteIdent(db), err)
	}
	out := map[string][]column{}
	for _, r := range inSchema(rs, db) {
		t := r.str("table_name")
		octets, _ := strconv.ParseInt(r.str("character_octet_length"), 10, 64)
		out[t] = append(out[t], column{r.str("column_name"), r.str("data_type"), r.str("is_generated"), r.str("generation_expression"), r.str("column_key"), r.str("character_set_name"), octets})
	}
	return out, nil
}

// dumpColumns returns the columns written in INSERTs: all but generated ones (the server
// computes them), invisible ones included. A system-versioned table also gets its row start and
// row end, implicit (ROW_START, ROW_END) or named, so that its history can be inserted. When
// they are transaction ids (BIGINT UNSIGNED), which no INSERT may set, they are left out and
// trx is true: only the current rows can be dumped.
func dumpColumns(cols []column, versioned bool) (out []colInfo, trx bool) {
	isPeriod := func(c column) bool {
		return strings.EqualFold(c.expr, "ROW START") || strings.EqualFold(c.expr, "ROW END")
	}
	explicitPeriod := false
	for _, c := range cols {
		if isPeriod(c) {
			explicitPeriod = true
			trx = trx || strings.EqualFold(c.dataType, "bigint")
		}
	}
	for _, c := range cols {
		if c.generated == "ALWAYS" && !(versioned && !trx && isPeriod(c)) {
			continue
		}
		out = append(out, colInfo{Name: c.name, Kind: sqltext.KindOf(c.dataType)})
	}
	if versioned && !explicitPeriod {
		out = append(out, colInfo{"ROW_START", sqltext.KindString}, colInfo{"ROW_END", sqltext.KindString})
	}
	return out, trx
}

// rowBytes is a rough upper bound of a row's size in InnoDB's row-size check: strings at their
// longest (BLOB and TEXT at the 768-byte prefix that COMPACT keeps in the row), anything else
// at 8 bytes; enough to tell a table that might be over the limit from one that cannot be.
func rowBytes(cols []column) int64 {
	var n int64
	for _, c := range cols {
		switch {
		case strings.HasSuffix(strings.ToLower(c.dataType), "blob") || strings.HasSuffix(strings.ToLower(c.dataType), "text"):
			n += 768
		case c.octets > 0:
			n += c.octets
		default:
			n += 8
		}
	}
	return n
}

// heapSize is the max_heap_table_size a MEMORY table's CREATE needs on the target to hold the
// source's rows, or 0 when the smallest default will do. A MEMORY table keeps the limit in
// force when it was created, so a table filled under a raised limit can exceed the target's
// default: twice what it holds, rounded up to a MiB, leaves room for the restore's own
// allocation pattern.
func heapSize(t *tableInfo) int64 {
	const mib = 1 << 20
	need := t.DataLength + t.IndexLength
	if !strings.EqualFold(t.Engine, "MEMORY") || need < mib {
		return 0
	}
	return max((2*need+mib-1)/mib*mib, 16*mib)
}

// showCreate reads one object's SHOW CREATE row; col names the statement's column.
func showCreate(ctx context.Context, c *sql.Conn, db, typ, name, col string) (*objInfo, error) {
	r, err := queryOne(ctx, c, "SHOW CREATE "+typ+" "+sqltext.QuoteIdent(db)+"."+sqltext.QuoteIdent(name))
	if err != nil {
		return nil, fmt.Errorf("show create %s %s.%s: %w", strings.ToLower(typ), sqltext.QuoteIdent(db), sqltext.QuoteIdent(name), err)
	}
	stmt, ok := r[col]
	if !ok {
		return nil, fmt.Errorf("show create %s %s.%s returned no statement: the user needs the privileges to read it (SELECT on mysql.proc, SHOW VIEW, TRIGGER, EVENT)", strings.ToLower(typ), sqltext.QuoteIdent(db), sqltext.QuoteIdent(name))
	}
	return &objInfo{
		Type: typ, Name: name, Create: stmt,
		SQLMode: r.str("sql_mode"), CharsetClient: r.str("character_set_client"),
		Collation: r.str("collation_connection"), Zone: r.str("time_zone"),
		DBCollation: r.str("database collation"),
	}, nil
}

// readObjects reads the objects named by q (one column n) with SHOW CREATE typ.
func readObjects(ctx context.Context, c *sql.Conn, db, typ, q string) ([]*objInfo, error) {
	rs, err := queryRows(ctx, c, q)
	if err != nil {
		return nil, fmt.Errorf("list %ss of %s: %w", strings.ToLower(typ), sqltext.QuoteIdent(db), err)
	}
	col := map[string]string{"TRIGGER": "sql original statement", "EVENT": "create event"}[typ]
	var out []*objInfo
	for _, r := range inSchema(rs, db) {
		o, err := showCreate(ctx, c, db, typ, r.str("n"), col)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// readRoutines reads functions, procedures, packages and package bodies, in that order:
// a package body needs its package.
func readRoutines(ctx context.Context, c *sql.Conn, db string) ([]*objInfo, error) {
	rs, err := queryRows(ctx, c, "SELECT ROUTINE_SCHEMA AS s, ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = "+sqltext.QuoteString(db))
	if err != nil {
		return nil, fmt.Errorf("list routines of %s: %w", sqltext.QuoteIdent(db), err)
	}
	rs = inSchema(rs, db)
	rank := map[string]int{"FUNCTION": 0, "PROCEDURE": 1, "PACKAGE": 2, "PACKAGE BODY": 3}
	sort.SliceStable(rs, func(i, j int) bool {
		a, b := rs[i], rs[j]
		if ra, rb := rank[a.str("routine_type")], rank[b.str("routine_type")]; ra != rb {
			return ra < rb
		}
		return a.str("routine_name") < b.str("routine_name")
	})
	var out []*objInfo
	for _, r := range rs {
		typ := r.str("routine_type")
		if _, ok := rank[typ]; !ok {
			continue
		}
		o, err := showCreate(ctx, c, db, typ, r.str("routine_name"), "create "+strings.ToLower(typ))
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// readViews reads the views and orders them so that each comes after the views it reads.
// MariaDB 10.11 has no VIEW_TABLE_USAGE, so dependencies come from the stored definitions,
// where every table reference is written `db`.`name`.
func readViews(ctx context.Context, c *sql.Conn, db string, names []string) ([]*objInfo, []string, error) {
	if len(names) == 0 {
		return nil, nil, nil
	}
	defs, err := queryRows(ctx, c, "SELECT TABLE_SCHEMA AS s, TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = "+sqltext.QuoteString(db))
	if err != nil {
		return nil, nil, fmt.Errorf("list views of %s: %w", sqltext.QuoteIdent(db), err)
	}
	body := map[string]string{}
	var all []string
	for _, r := range inSchema(defs, db) {
		body[r.str("table_name")] = r.str("view_definition")
		all = append(all, r.str("view_definition"))
	}
	var views []*objInfo
	for _, n := range names {
		o, err := showCreate(ctx, c, db, "VIEW", n, "create view")
		if err != nil {
			return nil, nil, err
		}
		def, ref := body[n], sqltext.QuoteIdent(db)+"."
		if def == "" {
			def, ref = string(o.Create), "" // SHOW CREATE VIEW leaves same-database names bare
		}
		for _, m := range names {
			if m != n && strings.Contains(def, ref+sqltext.QuoteIdent(m)) {
				o.deps = append(o.deps, m)
			}
		}
		views = append(views, o)
	}
	return orderViews(views), all, nil
}

// orderDatabases puts a database whose views read another dumped database after that one, so
// that its post section comes after the other's. Independent databases keep their order; a cycle
// is broken in the given order, where the stand-ins of the views read across databases (see
// writeStandIn) let each view be created all the same.
func orderDatabases(dbs []*dbInfo) []*dbInfo {
	views := make([]*objInfo, len(dbs))
	byName := map[string]*dbInfo{}
	for i, d := range dbs {
		v := &objInfo{Name: d.Name}
		for _, other := range dbs {
			if other == d {
				continue
			}
			for _, def := range d.viewDefs {
				if strings.Contains(def, sqltext.QuoteIdent(other.Name)+".") {
					v.deps = append(v.deps, other.Name)
					break
				}
			}
		}
		views[i] = v
		byName[d.Name] = d
	}
	out := make([]*dbInfo, 0, len(dbs))
	for _, v := range orderViews(views) {
		out = append(out, byName[v.Name])
	}
	return out
}

// orderViews sorts views topologically, keeping name order among independent ones. A cycle
// (only possible through a false dependency, such as a name inside a string) is broken in name
// order.
func orderViews(views []*objInfo) []*objInfo {
	done := map[string]bool{}
	var out []*objInfo
	for len(out) < len(views) {
		progress := false
		for _, v := range views {
			if done[v.Name] {
				continue
			}
			ready := true
			for _, d := range v.deps {
				if !done[d] {
					ready = false
					break
				}
			}
			if ready {
				done[v.Name] = true
				out = append(out, v)
				progress = true
			}
		}
		if !progress {
			for _, v := range views {
				if !done[v.Name] {
					done[v.Name] = true
					out = append(out, v)
					break
				}
			}
		}
	}
	return out
}

// unknownDatabaseError names the --database values the server does not have; it is
// ErrUnknownDatabase.
type unknownDatabaseError struct{ names []string }

// Error lists the missing databases.
func (e *unknownDatabaseError) Error() string {
	what := "database " + e.names[0] + " does"
	if len(e.names) > 1 {
		what = "databases " + strings.Join(e.names, ", ") + " do"
	}
	return "--database: " + what + " not exist on the server; `SHOW DATABASES` lists them (names are case-sensitive)"
}

// Unwrap makes the error ErrUnknownDatabase.
func (e *unknownDatabaseError) Unwrap() error { return ErrUnknownDatabase }

// strictOff is the setting of a table that exists only with innodb_strict_mode off.
const strictOff = "innodb_strict_mode = 0"

// ignoredBlockSize reports an InnoDB table whose KEY_BLOCK_SIZE goes with a ROW_FORMAT other
// than COMPRESSED: InnoDB ignores it (with a warning) only when innodb_strict_mode is off, and
// strict mode refuses the CREATE ("Wrong create options").
func ignoredBlockSize(engine, options string) bool {
	o := strings.ToLower(options)
	return strings.EqualFold(engine, "InnoDB") && strings.Contains(o, "key_block_size=") &&
		strings.Contains(o, "row_format=") && !strings.Contains(o, "row_format=compressed")
}

// probeStrict finds the InnoDB tables that exist only because innodb_strict_mode was off when
// they were created (a row over the row-size limit: ER_TOO_BIG_ROWSIZE under strict mode) and
// gives their CREATE the setting it needs. Only tables whose rough row size could be over
// the limit are probed: by creating a temporary copy under strict mode on c, a connection of
// the dump's own, kept out of the binary log where the user may do so. A copy the server
// refuses for another reason (a temporary table cannot have foreign keys or partitions) leaves
// the table as it is.
func probeStrict(ctx context.Context, c *sql.Conn, dbs []*dbInfo) error {
	r, err := queryOne(ctx, c, "SELECT @@innodb_page_size AS p")
	if err != nil {
		return nil // no InnoDB: nothing to probe
	}
	page, _ := strconv.ParseInt(r.str("p"), 10, 64)
	_, _ = c.ExecContext(ctx, "SET SESSION sql_log_bin = 0") // needs a privilege the dump does not ask for
	if _, err := c.ExecContext(ctx, "SET SESSION innodb_strict_mode = 1"); err != nil {
		return fmt.Errorf("probe row sizes: %w", err)
	}
	const probe = "backupctl_row_size_probe"
	for _, d := range dbs {
		for _, t := range d.Tables {
			if t.Kind != "table" || !strings.EqualFold(t.Engine, "InnoDB") || t.rowBytes < page/2-200 || slices.Contains(t.Settings, strictOff) {
				continue
			}
			head := "CREATE TABLE " + sqltext.QuoteIdent(t.Name)
			if !strings.HasPrefix(t.Create, head) {
				continue
			}
			tmp := sqltext.QuoteIdent(d.Name) + "." + sqltext.QuoteIdent(probe)
			_, err := c.ExecContext(ctx, "CREATE TEMPORARY TABLE "+tmp+t.Create[len(head):])
			var me *mysql.MySQLError
			switch {
			case err == nil:
				if _, err := c.ExecContext(ctx, "DROP TEMPORARY TABLE "+tmp); err != nil {
					return fmt.Errorf("probe row size of %s.%s: %w", sqltext.QuoteIdent(d.Name), sqltext.QuoteIdent(t.Name), err)
				}
			case errors.As(err, &me) && me.Number == 1118:
				t.Settings = append(t.Settings, strictOff)
			}
		}
	}
	return nil
}
