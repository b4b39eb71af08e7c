package restore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/backup/sqltext"
	"github.com/backupctl/backupctl/storage"
)

// applyFunc executes one statement of a section; streamSpan calls it in stream order.
type applyFunc func(ctx context.Context, st sqltext.Statement, sec *section) error

// streamSpan reads one span of the object, decompresses it, checks every section's raw length
// and recorded SHA-256 as the bytes pass, and hands each statement to apply (nil only checks).
// It returns the number of object bytes read. Any mismatch wraps ErrVerify.
func streamSpan(ctx context.Context, b storage.Bucket, m *format.Manifest, sp *span, apply applyFunc) (int64, error) {
	key := m.Object.Key
	whole := sp.offset == 0 && sp.length == m.Object.Size
	var rc io.ReadCloser
	var err error
	if whole {
		rc, err = b.Get(ctx, key)
	} else {
		rc, err = b.GetRange(ctx, key, sp.offset, sp.length)
	}
	if err != nil {
		return 0, fmt.Errorf("read object %s: %w", key, err)
	}
	defer rc.Close()
	stored := &counter{r: rc}
	if whole {
		stored.h = sha256.New()
	}
	dec, err := format.NewDecompressor(stored, m.Object.Compression)
	if err != nil {
		if stored.err != nil {
			return stored.n, fmt.Errorf("read object %s: %w", key, stored.err)
		}
		return stored.n, fmt.Errorf("%w: object %s at offset %d: %v", format.ErrVerify, key, sp.offset, err)
	}
	defer dec.Close()
	raw := newSectionReader(dec, stored, key, sp)

	if apply == nil {
		_, err = io.Copy(io.Discard, raw)
	} else {
		err = splitApply(ctx, raw, sp, apply)
	}
	if err != nil {
		return stored.n, err
	}
	// Whatever the decompressor did not need still counts: trailing bytes are damage too.
	if _, err := io.Copy(io.Discard, stored); err != nil {
		return stored.n, fmt.Errorf("read object %s: %w", key, err)
	}
	if stored.n != sp.length {
		return stored.n, fmt.Errorf("%w: object %s: read %d bytes at offset %d, the manifest says %d", format.ErrVerify, key, stored.n, sp.offset, sp.length)
	}
	if whole {
		if sum := hex.EncodeToString(stored.h.Sum(nil)); sum != m.Object.SHA256 {
			return stored.n, fmt.Errorf("%w: object %s: SHA-256 %s, the manifest says %s", format.ErrVerify, key, sum, m.Object.SHA256)
		}
	}
	return stored.n, nil
}

// splitApply splits the raw stream while the previous statements execute, so decompression
// overlaps the server's work; at most a few statements wait in between.
func splitApply(ctx context.Context, raw io.Reader, sp *span, apply applyFunc) error {
	type item struct {
		st  sqltext.Statement
		sec *section
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan item, 4)
	failed := make(chan struct{}) // closed when the producer fails: queued statements are dropped
	var perr error
	go func() {
		defer close(ch)
		s := sqltext.NewSplitter(raw, sp.rawOffset)
		i := 0
		for {
			st, err := s.Next()
			if errors.Is(err, io.EOF) {
				// Every section ends in the default session (see confine).
				if s.Mode != (sqltext.Mode{}) && len(sp.sections) > 0 {
					perr = sessionError(sp.sections[min(i, len(sp.sections)-1)], sp.rawOffset+sp.rawLength)
					close(failed)
				}
				return
			}
			if err != nil {
				perr = err
				close(failed)
				return
			}
			prev := i
			for i < len(sp.sections) && st.Offset >= sp.sections[i].r.RawOffset+sp.sections[i].r.RawLength {
				i++
			}
			if i != prev && st.Mode != (sqltext.Mode{}) {
				perr = sessionError(sp.sections[prev], st.Offset)
				close(failed)
				return
			}
			if i == len(sp.sections) {
				perr = fmt.Errorf("%w: statement at raw offset %d is outside every section of the manifest", format.ErrVerify, st.Offset)
				close(failed)
				return
			}
			select {
			case ch <- item{st, sp.sections[i]}:
			case <-ctx.Done():
				return
			}
		}
	}()
	var aerr error
	for it := range ch {
		if aerr != nil {
			continue // drain so the producer ends
		}
		select {
		case <-failed:
			aerr = errStream
			cancel()
			continue
		default:
		}
		if aerr = apply(ctx, it.st, it.sec); aerr != nil {
			cancel()
		}
	}
	if perr != nil {
		return perr
	}
	return aerr
}

// errStream stands for the producer's error, which splitAndApply returns instead.
var errStream = errors.New("stream failed")

// counter counts (and optionally hashes) the stored bytes and keeps the read error, to
// tell a failing bucket from a damaged object.
type counter struct {
	r   io.Reader
	n   int64
	h   hash.Hash
	err error
}

// Read reads from the object, counting the bytes.
func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.h != nil {
		c.h.Write(p[:n])
	}
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

// sectionReader passes the raw stream through, checking each section's length and, where the
// manifest has one, its SHA-256.
type sectionReader struct {
	r      io.Reader
	stored *counter
	key    string
	secs   []*section
	i      int
	pos    int64
	end    int64
	h      hash.Hash
	err    error
}

func newSectionReader(r io.Reader, stored *counter, key string, sp *span) *sectionReader {
	s := &sectionReader{r: r, stored: stored, key: key, secs: sp.sections, pos: sp.rawOffset, end: sp.rawOffset + sp.rawLength}
	s.start()
	s.err = s.closeEnded()
	return s
}

func (s *sectionReader) start() {
	s.h = nil
	if s.i < len(s.secs) && s.secs[s.i].sha != "" {
		s.h = sha256.New()
	}
}

// closeEnded checks every section that ends at the current position.
func (s *sectionReader) closeEnded() error {
	for s.i < len(s.secs) {
		sec := s.secs[s.i]
		if s.pos < sec.r.RawOffset+sec.r.RawLength {
			return nil
		}
		if s.h != nil {
			if sum := hex.EncodeToString(s.h.Sum(nil)); sum != sec.sha {
				return fmt.Errorf("%w: object %s, %s: SHA-256 of the %s section is %s, the manifest says %s", format.ErrVerify, s.key, sec.what(), sec.kind, sum, sec.sha)
			}
		}
		s.i++
		s.start()
	}
	return nil
}

// Read reads the stream, checking each section as it ends.
func (s *sectionReader) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.r.Read(p)
	for b := p[:n]; len(b) > 0; {
		if s.i >= len(s.secs) {
			s.err = fmt.Errorf("%w: object %s holds more than the %d bytes the manifest says at raw offset %d", format.ErrVerify, s.key, s.end-s.secs[0].r.RawOffset, s.secs[0].r.RawOffset)
			return 0, s.err
		}
		sec := s.secs[s.i]
		k := int(min(int64(len(b)), sec.r.RawOffset+sec.r.RawLength-s.pos))
		if s.h != nil {
			s.h.Write(b[:k])
		}
		s.pos += int64(k)
		b = b[k:]
		if s.err = s.closeEnded(); s.err != nil {
			return 0, s.err
		}
	}
	switch {
	case err == io.EOF:
		if s.pos != s.end {
			s.err = fmt.Errorf("%w: object %s ends at raw offset %d, the manifest says %d: it is truncated", format.ErrVerify, s.key, s.pos, s.end)
			return n, s.err
		}
	case err != nil:
		if s.stored.err != nil {
			s.err = fmt.Errorf("read object %s: %w", s.key, s.stored.err)
		} else {
			s.err = fmt.Errorf("%w: object %s cannot be decompressed at raw offset %d: %v", format.ErrVerify, s.key, s.pos, err)
		}
		return n, s.err
	}
	return n, err
}

// applier executes statements on the restore connection and keeps the report.
type applier struct {
	conn   *sql.Conn
	plan   *plan
	log    *slog.Logger
	rep    *Report
	checks *targetState

	cur      *section
	curSet   bool // the current section has run a SET (a schema section's table settings)
	curDB    *dbPlan
	header   []string // the header's statements, which every data connection replays
	touched  []string
	touchSet map[string]bool
	// accountsTouched: the accounts section changed an account.
	accountsTouched bool
	// deferred holds, per table created without its plain secondary indexes, the ALTER TABLE
	// that adds them once its rows are in (see deferKeys).
	deferred map[*format.Table]string
}

// prepare sets the session up and clears the way: it drops what DropExisting allows to
// replace (or what is empty and would make CREATE fail) and creates databases the stream will
// not create itself.
func (a *applier) prepare(ctx context.Context) error {
	// Fast, order-independent loading; the header sets the rest. sql_log_bin is left alone:
	// a restore that replicas do not see must be asked for by the operator.
	for _, q := range []string{"SET SESSION foreign_key_checks = 0", "SET SESSION unique_checks = 0"} {
		if _, err := a.conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	for _, dp := range a.plan.dbs {
		if dp.whole {
			if a.checks.dbExists[dp.target] {
				// Refused earlier unless empty or DropExisting.
				a.log.Info("dropping existing database", "database", dp.target, "objects", a.checks.dbObjects[dp.target])
				if err := a.exec(ctx, "DROP DATABASE "+sqltext.QuoteIdent(dp.target)); err != nil {
					return fmt.Errorf("database %s: drop existing: %w", dp.target, err)
				}
				a.touch(dp.target)
			}
			if a.plan.rename {
				q := "CREATE DATABASE " + sqltext.QuoteIdent(dp.target) + dbOptions(dp.src)
				if err := a.exec(ctx, q); err != nil {
					return fmt.Errorf("database %s: %s: %w", dp.target, q, err)
				}
				a.touch(dp.target)
			}
			continue
		}
		if !a.checks.dbExists[dp.target] {
			q := "CREATE DATABASE IF NOT EXISTS " + sqltext.QuoteIdent(dp.target) + dbOptions(dp.src)
			if err := a.exec(ctx, q); err != nil {
				return fmt.Errorf("database %s: %s: %w", dp.target, q, err)
			}
			a.touch(dp.target)
		}
		for _, t := range dp.tables {
			ts, ok := a.checks.tables[tableKey(dp.target, t.Name)]
			if !ok {
				continue
			}
			drop := "DROP TABLE "
			if ts.kind == "VIEW" {
				drop = "DROP VIEW "
			}
			a.log.Info("dropping existing table", "database", dp.target, "table", t.Name, "had_rows", ts.hasRows)
			if err := a.exec(ctx, drop+sqltext.QuoteIdent(dp.target)+"."+sqltext.QuoteIdent(t.Name)); err != nil {
				return fmt.Errorf("database %s, table %s: drop existing: %w", dp.target, t.Name, err)
			}
			a.touch(dp.target)
		}
	}
	return nil
}

func dbOptions(d *format.Database) string {
	var s string
	if d.Charset != "" {
		s += " CHARACTER SET " + d.Charset
	}
	if d.Collation != "" {
		s += " COLLATE " + d.Collation
	}
	return s
}

func (a *applier) exec(ctx context.Context, q string) error {
	_, err := a.conn.ExecContext(ctx, q)
	return err
}

func (a *applier) touch(db string) {
	if a.touchSet == nil {
		a.touchSet = map[string]bool{}
	}
	if !a.touchSet[db] {
		a.touchSet[db] = true
		a.touched = append(a.touched, db)
	}
}

// apply executes one statement of a section other than data (which the workerPool loads); it is
// the applyFunc of the restore's main connection.
func (a *applier) apply(ctx context.Context, st sqltext.Statement, sec *section) error {
	if sec != a.cur {
		if err := a.enter(ctx, sec); err != nil {
			return err
		}
	}
	if err := confine(sec, st); err != nil {
		return err
	}
	if sec.kind == kindAccounts {
		return a.applyAccount(ctx, st)
	}
	q := st.SQL
	if sec.kind == kindPost && !sec.db.whole && !a.wantInTableRestore(sec.db, st) {
		return nil
	}
	if q = a.plan.edit(sec, q); q == "" {
		return nil // left out by --without-triggers
	}
	if a.plan.rename && sec.kind == kindCreate && isCreateDatabase(q) {
		return nil // created under its new name by prepare
	}
	if a.plan.rename && sec.db != nil {
		q = rewriteStatement(st, sec.db.src.Name, sec.db.target)
	}
	if sec.kind == kindHeader {
		a.header = append(a.header, q)
	}
	if sec.kind == kindSchema {
		q = a.deferIndexes(sec, st, q)
	}
	if _, err := a.conn.ExecContext(ctx, q); err != nil {
		return stmtError(sec, st, q, err)
	}
	if sec.db != nil {
		a.touch(sec.db.target)
	}
	return nil
}

// deferIndexes returns the schema section's statement q to execute: a large table's CREATE
// TABLE without its plain secondary indexes, whose ALTER it keeps for after the rows, or q.
// A table whose CREATE needs settings of its own (innodb_strict_mode off, say) keeps its
// indexes: the ALTER would run without them.
func (a *applier) deferIndexes(sec *section, st sqltext.Statement, q string) string {
	if first := sqltext.Tokens(q, st.Mode, 1); len(first) == 1 && first[0].Is("SET") {
		a.curSet = true
		return q
	}
	t := sec.table
	if a.curSet || (t.Kind != "table" && t.Kind != "") || t.Data.RawLength <= deferMinBytes {
		return q
	}
	create, adds, ok := deferKeys(q, st.Mode)
	if !ok {
		return q
	}
	if a.deferred == nil {
		a.deferred = map[*format.Table]string{}
	}
	a.deferred[t] = addKeysSQL(sec.db.target, t.Name, adds)
	a.log.Info("creating table without its secondary indexes, added after its rows", "database", sec.db.target, "table", t.Name, "indexes", len(adds))
	return create
}

// wantInTableRestore picks, from a post section, what a --table restore applies: the triggers
// of its tables, and every SET, which wraps each object in its session and restores the
// header's after it.
func (a *applier) wantInTableRestore(db *dbPlan, st sqltext.Statement) bool {
	q := st.SQL
	if len(q) > 4 && strings.EqualFold(q[:4], "SET ") {
		return true
	}
	body, m, ok := postObject(st)
	if !ok {
		return false
	}
	table, ok := triggerTable(body, m)
	if !ok {
		return false
	}
	for _, t := range db.tables {
		if t.Name == table {
			a.log.Info("restoring trigger", "database", db.target, "table", table)
			return true
		}
	}
	return false
}

// enter is called at a section's first statement.
func (a *applier) enter(ctx context.Context, sec *section) error {
	a.cur, a.curSet = sec, false
	if sec.db == nil || sec.db == a.curDB {
		return nil
	}
	a.curDB = sec.db
	a.log.Info("restoring database", "database", sec.db.target, "from", sec.db.src.Name, "tables", len(sec.db.tables))
	if sec.db.whole && !a.plan.rename {
		return nil // the stream's create section says USE
	}
	q := "USE " + sqltext.QuoteIdent(sec.db.target)
	if err := a.exec(ctx, q); err != nil {
		return fmt.Errorf("database %s: %s: %w", sec.db.target, q, err)
	}
	return nil
}

// tableDone reports a table whose data is loaded.
func (a *applier) tableDone(sec *section, rows int64, started time.Time) {
	t := sec.table
	if t.Kind == "sequence" {
		rows = t.Rows // its SETVAL inserts nothing, but the dump counts its state as a row
	}
	a.rep.Rows += rows
	a.log.Info("restored table", "database", sec.db.target, "table", t.Name, "rows", rows, "bytes", sec.r.RawLength, "seconds", time.Since(started).Seconds())
	if t.Kind == "table" && rows != t.Rows {
		a.rep.Warnings = append(a.rep.Warnings, fmt.Sprintf("table %s.%s: %d rows inserted, the manifest says %d", sec.db.target, t.Name, rows, t.Rows))
	}
}

// isCreateDatabase recognises the create section's CREATE DATABASE, as SHOW CREATE DATABASE
// prints it.
func isCreateDatabase(q string) bool {
	return len(q) > 16 && strings.EqualFold(q[:16], "CREATE DATABASE ")
}

func isUse(q string) bool {
	return len(q) > 4 && strings.EqualFold(q[:3], "USE") && (q[3] == ' ' || q[3] == '\t' || q[3] == '\n' || q[3] == '`')
}

// stmtPreview is the start of a statement for an error message: enough to recognise it, never
// its values. An INSERT is cut just after VALUES; a SET, a DO or an EXECUTE IMMEDIATE (whose
// hex is an object's text) after its first words; anything else after 120 bytes.
func stmtPreview(q string) string {
	const most = 120
	toks := sqltext.Tokens(q, sqltext.Mode{}, 64)
	if len(toks) > 0 {
		switch {
		case toks[0].Is("INSERT") || toks[0].Is("REPLACE"):
			for _, t := range toks {
				if t.Is("VALUES") || t.Is("VALUE") || t.Is("SELECT") || t.Is("SET") {
					return q[:t.Pos+len(t.Raw)] + " ..."
				}
			}
			return leadingWords(q, sqltext.Mode{})
		case toks[0].Is("DO") || toks[0].Is("EXECUTE") || toks[0].Is("SET") || toks[0].Is("CALL") || toks[0].Is("SELECT"):
			return leadingWords(q, sqltext.Mode{})
		}
	}
	if len(q) <= most {
		return q
	}
	cut := most
	for cut > 0 && !utf8.RuneStart(q[cut]) {
		cut--
	}
	return q[:cut] + " ..."
}
