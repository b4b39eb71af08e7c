package restore

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/backupctl/backupctl/backup/format"
)

// Section kinds of the dump stream, as named in docs/FORMAT.md.
const (
	kindHeader = "header"
	kindCreate = "create"
	kindSchema = "schema"
	kindData   = "data"
	kindPost   = "post"
	kindFooter = "footer"
)

// section is one section of the object that a restore reads.
type section struct {
	kind  string
	db    *dbPlan       // nil for header and footer
	table *format.Table // schema and data sections only
	r     format.Range
	// sha is the expected SHA-256 of the raw bytes, where the manifest records one.
	sha string
}

// what names the object a section holds, for messages.
func (s *section) what() string {
	switch {
	case s.db == nil:
		return s.kind
	case s.table != nil:
		return fmt.Sprintf("database %s, table %s", s.db.target, s.table.Name)
	case s.kind == kindPost && !s.db.whole:
		return fmt.Sprintf("database %s, triggers", s.db.target)
	case s.kind == kindPost:
		return fmt.Sprintf("database %s, views, routines, triggers and events", s.db.target)
	}
	return "database " + s.db.target
}

// span is a run of sections that are contiguous in the object and in the raw stream, read with
// one request and decompressed as one stream.
type span struct {
	offset, length       int64
	rawOffset, rawLength int64
	sections             []*section
}

// dbPlan is one database to restore.
type dbPlan struct {
	src    *format.Database
	target string
	// tables are the tables to restore: all of them for a database restore.
	tables []*format.Table
	// whole is a database restore (create, every table, post); otherwise a --table restore.
	whole bool
}

// plan is what a restore will do, decided from the manifest and the options alone.
type plan struct {
	m   *format.Manifest
	dbs []*dbPlan
	// rename is true when --into gives the database a new name.
	rename bool
	// full reads the whole object in one request: every section is restored.
	full bool
	// accounts, with Options.Users, applies the accounts section.
	accounts *accountsPlan
	// withoutTriggers leaves out the triggers of a --table restore.
	withoutTriggers bool
	// defs, for a --table restore, is what its definitions refer to (see readDefinitions).
	defs *definitions
}

// makePlan validates the options against the manifest and decides what to read and apply.
// Errors are one line and say what to do.
func makePlan(m *format.Manifest, opts Options) (*plan, error) {
	p := &plan{m: m, withoutTriggers: opts.WithoutTriggers}
	if len(m.Databases) == 0 {
		return nil, fmt.Errorf("backup %s holds no database: nothing to restore", m.ID)
	}
	if len(opts.Tables) > 0 && len(opts.Databases) > 0 {
		return nil, fmt.Errorf("--table and --database cannot be combined: --table db.table already names its database")
	}
	if len(opts.Tables) == 0 && (opts.WithoutForeignKeys || opts.WithoutTriggers) {
		return nil, fmt.Errorf("--without-foreign-keys and --without-triggers work with --table only: a database restore brings back what they refer to")
	}
	switch {
	case len(opts.Tables) > 0:
		byDB := map[string]*dbPlan{}
		for _, spec := range opts.Tables {
			d, t, err := findTable(m, spec)
			if err != nil {
				return nil, err
			}
			dp := byDB[d.Name]
			if dp == nil {
				dp = &dbPlan{src: d, target: d.Name}
				byDB[d.Name] = dp
				p.dbs = append(p.dbs, dp)
			}
			if !slices.Contains(dp.tables, t) {
				dp.tables = append(dp.tables, t)
			}
		}
	case len(opts.Databases) > 0:
		seen := map[string]bool{}
		for _, name := range opts.Databases {
			d := findDB(m, name)
			if d == nil {
				return nil, fmt.Errorf("--database %s is not in backup %s; it holds: %s", name, m.ID, listNames(m.DatabaseNames()))
			}
			if seen[name] {
				continue
			}
			seen[name] = true
			p.dbs = append(p.dbs, wholeDB(d))
		}
	default:
		for i := range m.Databases {
			p.dbs = append(p.dbs, wholeDB(&m.Databases[i]))
		}
	}
	if opts.Into != "" {
		if len(p.dbs) != 1 {
			return nil, fmt.Errorf("--into needs exactly one database but %d are selected (%s); choose one with --database, or tables of one database with --table", len(p.dbs), listNames(p.sourceNames()))
		}
		if err := checkDBName(opts.Into); err != nil {
			return nil, fmt.Errorf("--into %q: %w", opts.Into, err)
		}
		p.dbs[0].target = opts.Into
		p.rename = opts.Into != p.dbs[0].src.Name
	}
	p.full = len(opts.Tables) == 0 && len(p.dbs) == len(m.Databases) && !p.rename
	return p, nil
}

func wholeDB(d *format.Database) *dbPlan {
	dp := &dbPlan{src: d, target: d.Name, whole: true}
	for i := range d.Tables {
		dp.tables = append(dp.tables, &d.Tables[i])
	}
	return dp
}

func (p *plan) sourceNames() []string {
	s := make([]string, len(p.dbs))
	for i, d := range p.dbs {
		s[i] = d.src.Name
	}
	return s
}

func (p *plan) targetNames() []string {
	s := make([]string, len(p.dbs))
	for i, d := range p.dbs {
		s[i] = d.target
	}
	return s
}

func findDB(m *format.Manifest, name string) *format.Database {
	for i := range m.Databases {
		if m.Databases[i].Name == name {
			return &m.Databases[i]
		}
	}
	return nil
}

// findTable resolves "db.table". Names may themselves hold dots, so every split is tried.
func findTable(m *format.Manifest, spec string) (*format.Database, *format.Table, error) {
	if !strings.Contains(spec, ".") || strings.HasPrefix(spec, ".") || strings.HasSuffix(spec, ".") {
		return nil, nil, fmt.Errorf("--table %q is not of the form database.table", spec)
	}
	var db *format.Database
	for i := 0; i < len(spec); i++ {
		if spec[i] != '.' {
			continue
		}
		d := findDB(m, spec[:i])
		if d == nil {
			continue
		}
		db = d
		for j := range d.Tables {
			if d.Tables[j].Name == spec[i+1:] {
				return d, &d.Tables[j], nil
			}
		}
	}
	if db == nil {
		return nil, nil, fmt.Errorf("--table %s: no such database in backup %s; it holds: %s", spec, m.ID, listNames(m.DatabaseNames()))
	}
	names := make([]string, len(db.Tables))
	for i, t := range db.Tables {
		names[i] = t.Name
	}
	return nil, nil, fmt.Errorf("--table %s: no such table in backup %s; database %s holds: %s", spec, m.ID, db.Name, listNames(names))
}

// checkDBName rejects names the server would refuse, before anything is touched.
func checkDBName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty database name")
	case len([]rune(name)) > 64:
		return fmt.Errorf("database names are at most 64 characters")
	case strings.HasSuffix(name, " "):
		return fmt.Errorf("database names cannot end with a space")
	case strings.ContainsRune(name, 0):
		return fmt.Errorf("database names cannot contain NUL")
	}
	return nil
}

// listNames joins names for a message, eliding a long list.
func listNames(names []string) string {
	if len(names) == 0 {
		return "(none)"
	}
	const most = 20
	if len(names) > most {
		return strings.Join(names[:most], ", ") + fmt.Sprintf(", ... (%d more)", len(names)-most)
	}
	return strings.Join(names, ", ")
}

// sections lists what the restore reads, in object order.
func (p *plan) sections() []*section {
	var out []*section
	add := func(kind string, db *dbPlan, t *format.Table, r format.Range, sha string) {
		if r.Length == 0 && r.RawLength == 0 {
			return // an empty section (a table without rows, a database without views)
		}
		out = append(out, &section{kind: kind, db: db, table: t, r: r, sha: sha})
	}
	add(kindHeader, nil, nil, p.m.Header, "")
	for _, dp := range p.dbs {
		// Under --into and for --table, the restore creates the database itself; under --into
		// the create section is still read for the routines and stand-ins it holds.
		if dp.whole {
			add(kindCreate, dp, nil, dp.src.Create, "")
		}
		for _, t := range dp.tables {
			add(kindSchema, dp, t, t.Schema, "")
			add(kindData, dp, t, t.Data, t.DataSHA256)
		}
		// For --table the post section is read for the table's triggers only.
		if dp.whole || len(dp.src.Triggers) > 0 {
			add(kindPost, dp, nil, dp.src.Post, "")
		}
	}
	if p.accounts != nil {
		add(kindAccounts, nil, nil, p.accounts.src.Range, "")
	}
	if p.full {
		add(kindFooter, nil, nil, p.m.Footer, "")
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].r.Offset < out[j].r.Offset })
	return out
}

// spans groups sections that follow each other in the object, so a database restore costs one
// request per run rather than one per table.
func spans(secs []*section) []*span {
	var out []*span
	for _, s := range secs {
		if n := len(out); n > 0 {
			last := out[n-1]
			if last.offset+last.length == s.r.Offset && last.rawOffset+last.rawLength == s.r.RawOffset {
				last.length += s.r.Length
				last.rawLength += s.r.RawLength
				last.sections = append(last.sections, s)
				continue
			}
		}
		out = append(out, &span{offset: s.r.Offset, length: s.r.Length, rawOffset: s.r.RawOffset, rawLength: s.r.RawLength, sections: []*section{s}})
	}
	return out
}

// plannedObjects lists what the restore creates, for --dry-run.
func (p *plan) plannedObjects() []PlannedObject {
	var out []PlannedObject
	for _, dp := range p.dbs {
		if dp.whole {
			out = append(out, PlannedObject{Kind: "database", Database: dp.target, Name: dp.target})
		}
		for _, t := range dp.tables {
			kind := t.Kind
			if kind == "" || kind == "versioned" {
				kind = "table"
			}
			out = append(out, PlannedObject{Kind: kind, Database: dp.target, Name: t.Name, Rows: t.Rows})
		}
		if !dp.whole {
			out = append(out, p.plannedTriggers(dp)...)
			continue
		}
		for _, o := range []struct {
			kind  string
			names []string
		}{{"view", dp.src.Views}, {"routine", dp.src.Routines}, {"trigger", dp.src.Triggers}, {"event", dp.src.Events}} {
			for _, n := range o.names {
				out = append(out, PlannedObject{Kind: o.kind, Database: dp.target, Name: n})
			}
		}
	}
	return out
}
