package binlog

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/backupctl/backupctl/backup/sqltext"
)

// execer runs statements on the replay connection (a *sql.Conn).
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// maxBatch bounds the row events sent in one BINLOG statement; a statement's events are split
// past it (the server keeps the statement's table maps until its last event).
const maxBatch = 8 << 20

// rowsStmtEnd is the rows event flag that ends a statement (STMT_END_F).
const rowsStmtEnd = 0x0001

// stopRule says where replay ends.
type stopRule struct {
	// last, when set, is the last transaction to apply; replay ends after it.
	last *GTID
	// time, when set (a scan), is the latest commit time to apply.
	time *time.Time
}

// Counts is what a replay applied (or a scan found to apply).
type Counts struct {
	Transactions int64 `json:"transactions"`
	Events       int64 `json:"events"`
	Statements   int64 `json:"statements"`
	// Skipped is transactions already in the base backup or of other databases only.
	Skipped int64 `json:"skipped"`
	// SkippedAccounts is statements on accounts and privileges (GRANT, CREATE USER...), which
	// a restore of databases does not replay.
	SkippedAccounts int64 `json:"skipped_account_statements,omitempty"`
}

// applier replays transaction groups through a session on the target (exec), or only checks
// and counts them (exec nil: a scan).
type applier struct {
	exec execer
	// dbs are the databases replayed; nil replays all.
	dbs  map[string]bool
	from State // transactions it contains are in the base backup
	stop stopRule

	fd     *formatDesc
	fdSent []byte // the format description the session has, as sent

	group    *gtidEvent
	groupEv  int64
	skip     bool
	began    bool
	tables   map[uint64]bool
	batch    []byte
	maps     []byte   // the replayed table maps of the current statement
	pending  []string // Intvar and Rand assignments for the next statement
	sess     session
	sessSet  bool
	db       string
	threadID uint32
	done     bool
	// collations caches collation id -> "_charset ... COLLATE name" for user variables.
	collations map[uint32][2]string

	// Results: the last transaction applied and its commit time.
	counts   Counts
	lastGTID *GTID
	lastTime time.Time
	// scan only: a transaction of the base backup committed after the target time.
	lateInBase *GTID
}

// run is one statement; a scan runs nothing.
func (a *applier) run(ctx context.Context, q string) error {
	a.counts.Statements++
	if a.exec == nil {
		return nil
	}
	if _, err := a.exec.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("replay %s: %w", describe(q), err)
	}
	return nil
}

// describe shortens a statement for an error message (BINLOG payloads are not shown).
func describe(q string) string {
	if strings.HasPrefix(q, "BINLOG '") {
		return "row events"
	}
	if len(q) > 200 {
		q = q[:200] + "..."
	}
	return strings.Join(strings.Fields(q), " ")
}

// event applies one event of a segment. It refuses any kind replay does not expect.
func (a *applier) event(ctx context.Context, ev event) error {
	if a.done {
		return nil
	}
	if err := ev.checkHeader(); err != nil {
		return err
	}
	if ev.typ() == typeFormat {
		fd, err := parseFormat(ev)
		if err != nil {
			return err
		}
		if a.group != nil {
			return fmt.Errorf("format description inside transaction %s", a.group.GTID)
		}
		a.fd = &fd
		return nil
	}
	if a.fd == nil {
		return fmt.Errorf("binlog event of type %d before the format description", ev.typ())
	}
	if a.fd.crc {
		if err := ev.checkCRC(); err != nil {
			return err
		}
	}
	if ev.typ() == typeGTID {
		return a.begin(ctx, ev)
	}
	if a.group == nil {
		return fmt.Errorf("binlog event of type %d outside a transaction", ev.typ())
	}
	a.groupEv++
	switch t := ev.typ(); {
	case t == typeAnnotateRows:
		return nil
	case t == typeTableMap:
		return a.tableMap(ev)
	case isRows(t):
		return a.rows(ctx, ev)
	case t == typeIntvar:
		return a.intvar(ev)
	case t == typeRand:
		return a.rand(ev)
	case t == typeUserVar:
		return a.userVar(ctx, ev)
	case t == typeQuery:
		return a.query(ctx, ev)
	case t == typeXID:
		return a.end(ctx, ev, "COMMIT")
	}
	return fmt.Errorf("binlog event of type %d in transaction %s is not one replay applies (use the stock path: mariadb-binlog | mariadb)", ev.typ(), a.group.GTID)
}

// isRows is a row event replay sends through BINLOG: v1 and MariaDB's compressed ones.
func isRows(t byte) bool {
	return (t >= typeWriteRowsV1 && t <= typeDeleteRowsV1) || (t >= 166 && t <= 171)
}

// begin starts a transaction group.
func (a *applier) begin(ctx context.Context, ev event) error {
	if a.group != nil {
		return fmt.Errorf("GTID event inside transaction %s", a.group.GTID)
	}
	g, err := parseGTID(ev, a.fd.crc)
	if err != nil {
		return err
	}
	a.group, a.groupEv, a.began, a.pending = &g, 1, false, nil
	a.tables = map[uint64]bool{}
	a.batch, a.maps = a.batch[:0], a.maps[:0]
	a.skip = a.from.Contains(g.GTID)
	return nil
}

// startTx opens the transaction on the target before its first applied statement, with the
// source's GTID so the target's binlog (if any) records the same one.
func (a *applier) startTx(ctx context.Context) error {
	if a.began {
		return nil
	}
	a.began = true
	g := a.group
	if err := a.run(ctx, fmt.Sprintf("SET @@session.gtid_domain_id=%d, @@session.server_id=%d, @@session.gtid_seq_no=%d", g.Domain, g.Server, g.Seq)); err != nil {
		return err
	}
	if g.standalone {
		return nil
	}
	return a.run(ctx, "START TRANSACTION")
}

// tableMap keeps a table map for the next BINLOG statement when its database is replayed.
func (a *applier) tableMap(ev event) error {
	b := ev.body(a.fd.crc)
	if len(b) < 9 || len(b) < 9+int(b[8])+1 {
		return fmt.Errorf("table map event of transaction %s too short", a.group.GTID)
	}
	id := le48(b)
	db := string(b[9 : 9+int(b[8])])
	in := a.dbs == nil || a.dbs[db]
	a.tables[id] = in
	if in && !a.skip {
		a.batch = append(a.batch, ev...)
		a.maps = append(a.maps, ev...)
	}
	return nil
}

// rows adds a row event to the BINLOG batch and sends the batch at the statement's end.
func (a *applier) rows(ctx context.Context, ev event) error {
	b := ev.body(a.fd.crc)
	if len(b) < 8 {
		return fmt.Errorf("row event of transaction %s too short", a.group.GTID)
	}
	id := le48(b)
	in, ok := a.tables[id]
	if !ok {
		return fmt.Errorf("row event of transaction %s for table id %d without its table map", a.group.GTID, id)
	}
	if in && !a.skip {
		a.batch = append(a.batch, ev...)
	}
	end := binary.LittleEndian.Uint16(b[6:])&rowsStmtEnd != 0
	if end || len(a.batch) >= maxBatch {
		if err := a.flushRows(ctx); err != nil {
			return err
		}
	}
	if end {
		clear(a.tables)
		a.maps = a.maps[:0]
	} else if len(a.batch) == 0 {
		// Split inside a statement: the next BINLOG statement maps its tables again, or the
		// server would not know the table ids of its row events.
		a.batch = append(a.batch, a.maps...)
	}
	return nil
}

// flushRows sends the batched row events as one BINLOG statement, after the format
// description they need (once per session and format).
func (a *applier) flushRows(ctx context.Context) error {
	if len(a.batch) == 0 {
		return nil
	}
	if err := a.startTx(ctx); err != nil {
		return err
	}
	if !bytes.Equal(a.fdSent, a.fd.raw) {
		if err := a.run(ctx, binlogStmt(a.fd.raw)); err != nil {
			return err
		}
		a.fdSent = bytes.Clone(a.fd.raw)
	}
	err := a.run(ctx, binlogStmt(a.batch))
	a.batch = a.batch[:0]
	return err
}

// binlogStmt is the BINLOG statement that applies raw events, as mariadb-binlog writes it.
func binlogStmt(events []byte) string {
	return "BINLOG '" + base64.StdEncoding.EncodeToString(events) + "'"
}

// intvar keeps SET INSERT_ID / LAST_INSERT_ID for the next statement.
func (a *applier) intvar(ev event) error {
	b := ev.body(a.fd.crc)
	if len(b) < 9 {
		return fmt.Errorf("intvar event of transaction %s too short", a.group.GTID)
	}
	v := le64(b[1:])
	switch b[0] {
	case 1:
		a.pending = append(a.pending, fmt.Sprintf("LAST_INSERT_ID=%d", v))
	case 2:
		a.pending = append(a.pending, fmt.Sprintf("INSERT_ID=%d", v))
	default:
		return fmt.Errorf("intvar event of type %d in transaction %s", b[0], a.group.GTID)
	}
	return nil
}

// rand keeps the RAND() seeds for the next statement.
func (a *applier) rand(ev event) error {
	b := ev.body(a.fd.crc)
	if len(b) < 16 {
		return fmt.Errorf("rand event of transaction %s too short", a.group.GTID)
	}
	a.pending = append(a.pending, fmt.Sprintf("@@RAND_SEED1=%d, @@RAND_SEED2=%d", le64(b), le64(b[8:])))
	return nil
}

// query applies a statement event with its session context, or ends the group on COMMIT or
// ROLLBACK.
func (a *applier) query(ctx context.Context, ev event) error {
	q, err := parseQuery(ev, a.fd.crc)
	if err != nil {
		return err
	}
	text := string(q.query)
	switch up := strings.ToUpper(strings.TrimSpace(text)); {
	case up == "BEGIN":
		return nil // the GTID event began the group
	case up == "COMMIT" || up == "ROLLBACK":
		return a.end(ctx, ev, up)
	case strings.HasPrefix(up, "XA "):
		return fmt.Errorf("transaction %s is an XA transaction, which replay does not apply (use the stock path)", a.group.GTID)
	}
	sess, err := parseSession(q.statusVars)
	if err != nil {
		return fmt.Errorf("transaction %s: %w", a.group.GTID, err)
	}
	pending := a.pending
	a.pending = nil
	if !a.skip && a.wants(q.db, text) {
		if err := a.statement(ctx, ev, q, sess, pending); err != nil {
			return err
		}
	}
	if a.group.standalone {
		return a.end(ctx, ev, "")
	}
	return nil
}

// statement runs one statement event on the target.
func (a *applier) statement(ctx context.Context, ev event, q queryEvent, sess session, pending []string) error {
	if err := a.startTx(ctx); err != nil {
		return err
	}
	sets := sess.sets(a.sess, !a.sessSet)
	a.sess, a.sessSet = sess, true
	ts := fmt.Sprintf("TIMESTAMP=%d", ev.timestamp())
	if sess.hasUsec {
		ts = fmt.Sprintf("TIMESTAMP=%d.%06d", ev.timestamp(), sess.usec)
	}
	sets = append([]string{ts}, sets...)
	if q.threadID != a.threadID {
		sets = append(sets, fmt.Sprintf("@@session.pseudo_thread_id=%d", q.threadID))
		a.threadID = q.threadID
	}
	sets = append(sets, pending...)
	if err := a.run(ctx, "SET "+strings.Join(sets, ", ")); err != nil {
		return err
	}
	if q.db != "" && q.db != a.db {
		if err := a.run(ctx, "USE "+sqltext.QuoteIdent(q.db)); err != nil {
			return err
		}
		a.db = q.db
	}
	return a.run(ctx, string(q.query))
}

// dbStatement finds the database of CREATE/ALTER/DROP DATABASE, which runs without one.
var dbStatement = regexp.MustCompile("(?is)^\\s*(?:CREATE|ALTER|DROP)\\s+(?:DATABASE|SCHEMA)\\s+(?:IF\\s+(?:NOT\\s+)?EXISTS\\s+)?(`(?:[^`]|``)+`|[A-Za-z0-9_$]+)")

// accountStatement matches the statements that change accounts and privileges: a restore of
// databases never replays them (a point-in-time restore refuses --users).
var accountStatement = regexp.MustCompile(`(?is)^\s*(?:/\*.*?\*/\s*)*(?:GRANT|REVOKE|(?:CREATE|ALTER|DROP|RENAME)\s+(?:USER|ROLE)|SET\s+(?:PASSWORD|DEFAULT\s+ROLE))\b`)

// wants says whether a statement belongs to the replayed databases: its default database is
// one, it creates, alters or drops one, or it names a table of one (db.table). Account
// statements never do.
func (a *applier) wants(db, text string) bool {
	if accountStatement.MatchString(text) {
		a.counts.SkippedAccounts++
		return false
	}
	if a.dbs == nil || a.dbs[db] {
		return true
	}
	if m := dbStatement.FindStringSubmatch(text); m != nil {
		name := m[1]
		if strings.HasPrefix(name, "`") {
			name = strings.ReplaceAll(name[1:len(name)-1], "``", "`")
		}
		return a.dbs[name]
	}
	lower := strings.ToLower(text)
	for d := range a.dbs {
		ld := strings.ToLower(d)
		if strings.Contains(lower, ld+".") || strings.Contains(lower, strings.ToLower(sqltext.QuoteIdent(d))+".") {
			return true
		}
	}
	return false
}

// end closes the group: COMMIT (or ROLLBACK) on the target when it began there.
func (a *applier) end(ctx context.Context, ev event, verb string) error {
	if err := a.flushRows(ctx); err != nil {
		return err
	}
	g := a.group
	commit := time.Unix(int64(ev.timestamp()), 0).UTC()
	if a.stop.time != nil && commit.After(*a.stop.time) {
		// A scan for a time target: the first transaction committed after it ends replay.
		if a.skip {
			if a.lateInBase == nil {
				a.lateInBase = &g.GTID
			}
		} else {
			a.done = true
			a.group = nil
			return nil
		}
	}
	if a.began && verb != "" {
		if err := a.run(ctx, verb); err != nil {
			return err
		}
	}
	switch {
	case a.skip:
		a.counts.Skipped++
	case !a.began: // nothing of the replayed databases
		a.counts.Skipped++
		a.lastGTID, a.lastTime = &g.GTID, commit
	default:
		a.counts.Transactions++
		a.counts.Events += a.groupEv
		a.lastGTID, a.lastTime = &g.GTID, commit
	}
	a.group = nil
	if a.stop.last != nil && g.GTID == *a.stop.last {
		a.done = true
	}
	return nil
}

func le48(b []byte) uint64 {
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 | uint64(b[4])<<32 | uint64(b[5])<<40
}
