package binlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	gmysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
)

// errPurged is the server's answer when the binlog the archive needs is gone (ER_MASTER_FATAL_
// ERROR_READING_BINLOG).
const errPurged = 1236

// shutdownGrace is how long a stopping archiver waits for the rest of an open transaction.
const shutdownGrace = 30 * time.Second

// stream is one replication connection: it reads events from the archive's position and
// stores segments until ctx ends (nil) or something fails. progressed says whether a segment
// was stored.
func (a *archiver) stream(ctx context.Context) (progressed bool, err error) {
	syncer, err := a.syncer()
	if err != nil {
		return false, err
	}
	defer syncer.Close()
	var st *replication.BinlogStreamer
	if a.pending != nil {
		a.pending.Before = "" // found again in this stream
		st, err = a.startAfterPurge(ctx, syncer)
	} else {
		st, err = syncer.StartSyncGTID(mariaState(a.state))
	}
	if err != nil {
		return false, fmt.Errorf("start replication from %s: %w", a.state, err)
	}
	r := &reader{a: a, st: st, state: a.state.Clone()}
	defer r.abort()
	a.o.Stats.setStreaming(true)
	err = r.run(ctx)
	a.o.Stats.setStreaming(false)
	if errors.Is(err, errStopped) {
		err = nil
	}
	var me *gmysql.MyError
	if errors.As(err, &me) && me.Code == errPurged && a.pending == nil {
		a.pending = &Gap{After: a.state.String(), Reason: "binlog purged on the server before it was archived: " + oneLine(me)}
		a.o.Log.Error("gap in the binlog archive: the server no longer has the binlog after the last archived transaction; archiving resumes at the oldest binlog it has",
			"archive", a.archive, "after", a.state.String(), "error", oneLine(me))
	}
	return r.stored > 0, err
}

// errStopped ends a stream whose context was cancelled after its open segment was stored.
var errStopped = errors.New("archiver stopped")

// mariaState converts a State for go-mysql's GTID dump.
func mariaState(s State) gmysql.GTIDSet {
	set, _ := gmysql.ParseMariadbGTIDSet(s.String())
	return set
}

// syncer is a replication client for the archive's server.
func (a *archiver) syncer() (*replication.BinlogSyncer, error) {
	mc, err := a.db.MySQLConfig()
	if err != nil {
		return nil, err
	}
	cfg := replication.BinlogSyncerConfig{
		ServerID: a.o.ServerID, Flavor: gmysql.MariaDBFlavor,
		User: a.db.User, Password: string(a.db.Password), TLSConfig: mc.TLS,
		RawModeEnabled: true, DisableRetrySync: true, EventCacheCount: 16,
		HeartbeatPeriod: 5 * time.Second, ReadTimeout: 30 * time.Second,
		DumpCommandFlag: replication.BINLOG_SEND_ANNOTATE_ROWS_EVENT,
		Logger:          slog.New(slog.DiscardHandler),
	}
	if a.db.Socket != "" {
		cfg.Host = a.db.Socket
	} else {
		cfg.Host, cfg.Port = a.db.Host, uint16(a.db.Port)
	}
	return replication.NewBinlogSyncer(cfg), nil
}

// startAfterPurge starts at the oldest binlog the server still has, by file and position.
func (a *archiver) startAfterPurge(ctx context.Context, syncer *replication.BinlogSyncer) (*replication.BinlogStreamer, error) {
	conn, err := openDB(a.db)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var name, size string
	if err := conn.QueryRowContext(ctx, "SHOW BINARY LOGS").Scan(&name, &size); err != nil {
		return nil, fmt.Errorf("find the oldest binlog: %w", err)
	}
	return syncer.StartSync(gmysql.Position{Name: name, Pos: 4})
}

// reader turns the event stream into segments.
type reader struct {
	a      *archiver
	st     *replication.BinlogStreamer
	fd     *formatDesc
	file   string // the server's binlog file being read
	seg    *segment
	state  State // after the last whole transaction read
	group  *gtidEvent
	stored int

	// Once stopping: the server's position then, the time to be done by, and the context the
	// last events and segments are handled in.
	stopAt     State
	stopBy     time.Time
	stopCtx    context.Context
	stopCancel context.CancelFunc
}

// run reads events until ctx ends or something fails.
func (r *reader) run(ctx context.Context) error {
	defer func() {
		if r.stopCancel != nil {
			r.stopCancel()
		}
	}()
	for {
		ev, err := r.next(ctx)
		if err != nil {
			return err
		}
		if ev == nil {
			continue // a deadline to close the open segment
		}
		hctx := ctx
		if r.stopCtx != nil {
			hctx = r.stopCtx // stopping: segments filled meanwhile are still stored
		}
		if err := r.handle(hctx, ev); err != nil {
			return err
		}
	}
}

// next waits for an event. It closes the open segment when its interval passes between
// transactions; once ctx ends it goes on as stopping says.
func (r *reader) next(ctx context.Context) (*replication.BinlogEvent, error) {
	if ctx.Err() != nil {
		return r.stopping(ctx)
	}
	wait := ctx
	if r.seg != nil && !r.seg.inGroup {
		var cancel context.CancelFunc
		wait, cancel = context.WithDeadline(ctx, r.seg.opened.Add(r.a.o.SegmentInterval))
		defer cancel()
	}
	ev, timedOut, err := r.event(wait)
	if !timedOut {
		return ev, err
	}
	if ctx.Err() != nil {
		return r.stopping(ctx)
	}
	if r.seg != nil && !r.seg.inGroup {
		if err := r.close(ctx); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// event waits for the next event; timedOut when wait ended first.
func (r *reader) event(wait context.Context) (ev *replication.BinlogEvent, timedOut bool, err error) {
	ev, err = r.st.GetEvent(wait)
	if err != nil && wait.Err() != nil {
		return nil, true, nil
	}
	return ev, false, err
}

// stopping is next once ctx has ended. A stopped archiver has stored everything the server had
// logged when the stop came: it reads on until the transaction under way has ended and its
// state covers the server's @@gtid_binlog_pos of that moment (events already sent may still be
// on their way, or in the client's queue), then stores the open segment and returns
// errStopped. All of it within shutdownGrace: past that, an unfinished transaction is an error
// (the next archiver reads it again), and a position not reached is logged and left to the next
// archiver, which resumes from the index; the server's binlog still has it.
func (r *reader) stopping(ctx context.Context) (*replication.BinlogEvent, error) {
	if r.stopCtx == nil {
		r.stopBy = time.Now().Add(shutdownGrace)
		r.stopCtx, r.stopCancel = context.WithTimeout(context.WithoutCancel(ctx), 2*shutdownGrace)
		r.stopAt = r.serverPos(r.stopCtx)
	}
	inGroup := r.seg != nil && r.seg.inGroup
	if inGroup || !r.state.Covers(r.stopAt) {
		wait, cancel := context.WithDeadline(r.stopCtx, r.stopBy)
		defer cancel()
		if ev, timedOut, err := r.event(wait); !timedOut {
			return ev, err
		}
		if inGroup {
			return nil, fmt.Errorf("stopping: the open transaction did not end within %s", shutdownGrace)
		}
		r.a.o.Log.Warn("stopping before the archive reached the server's position at the stop; the next archiver resumes from the archive's end",
			"archive", r.a.archive, "archived_to", r.state.String(), "server_at_stop", r.stopAt.String())
	}
	if r.seg != nil {
		// Stored, but not forever when the bucket is down.
		closeCtx, cancel := context.WithTimeout(r.stopCtx, shutdownGrace)
		defer cancel()
		stop := time.AfterFunc(shutdownGrace, r.seg.cancel)
		defer stop.Stop()
		if err := r.close(closeCtx); err != nil {
			return nil, err
		}
	}
	return nil, errStopped
}

// serverPos reads the server's @@gtid_binlog_pos; on failure (the server is what is stopping,
// say) it logs and returns an empty state, which every state covers.
func (r *reader) serverPos(ctx context.Context) State {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	db, err := openDB(r.a.db)
	if err == nil {
		defer db.Close()
		var pos string
		if err = db.QueryRowContext(ctx, "SELECT @@gtid_binlog_pos").Scan(&pos); err == nil {
			var st State
			if st, err = ParseState(pos); err == nil {
				return st
			}
		}
	}
	r.a.o.Log.Warn("stopping: cannot read the server's binlog position; storing what was read", "archive", r.a.archive, "error", oneLine(err))
	return State{}
}

// handle files one event.
func (r *reader) handle(ctx context.Context, be *replication.BinlogEvent) error {
	ev := event(be.RawData)
	if err := ev.checkHeader(); err != nil {
		return err
	}
	switch ev.typ() {
	case typeRotate:
		if rot, ok := be.Event.(*replication.RotateEvent); ok {
			return r.rotate(ctx, string(rot.NextLogName))
		}
		return nil
	case typeFormat:
		fd, err := parseFormat(ev)
		if err != nil {
			return err
		}
		return r.format(ctx, fd)
	case typeHeartbeat, typeStop, typeCheckpoint, typeStartEncryption:
		return nil
	case typeGTIDList:
		return r.gtidList(ev)
	}
	if ev.flags()&flagArtificial != 0 {
		return nil
	}
	if r.fd == nil {
		return fmt.Errorf("binlog event of type %d before any format description", ev.typ())
	}
	if r.fd.crc {
		if err := ev.checkCRC(); err != nil {
			return err
		}
	}
	return r.add(ctx, ev)
}

// rotate notes the server's binlog file. A real rotation closes the open segment, which never
// spans two files; the server's fake rotation at connect names the file it starts in.
func (r *reader) rotate(ctx context.Context, file string) error {
	if r.seg != nil && file != r.file && !r.seg.inGroup {
		if err := r.close(ctx); err != nil {
			return err
		}
	}
	r.file = file
	return nil
}

// format starts a new binlog file's events.
func (r *reader) format(ctx context.Context, fd formatDesc) error {
	if r.seg != nil && !r.seg.inGroup {
		if err := r.close(ctx); err != nil {
			return err
		}
	}
	r.fd = &fd
	return nil
}

// gtidList: after a purge, the first file's GTID list is where archiving resumes.
func (r *reader) gtidList(ev event) error {
	g := r.a.pending
	if g == nil || g.Before != "" || ev.flags()&flagArtificial != 0 {
		return nil
	}
	st, err := parseGTIDList(ev, r.fd != nil && r.fd.crc)
	if err != nil {
		return err
	}
	g.Before = st.String()
	r.state = st
	return nil
}

// add appends an event of the stream to the open segment, opening one at a transaction's start
// and closing it after a transaction when it is full or old.
func (r *reader) add(ctx context.Context, ev event) error {
	crc := r.fd.crc
	if ev.typ() == typeGTID {
		g, err := parseGTID(ev, crc)
		if err != nil {
			return err
		}
		if r.seg != nil && r.seg.inGroup {
			return fmt.Errorf("GTID %s starts inside transaction %s", g.GTID, r.group.GTID)
		}
		if r.a.pending != nil && r.a.pending.Before == "" {
			r.a.pending.Before = r.state.String() // no GTID list seen: resume here
		}
		if err := r.serverChange(ctx, g.GTID); err != nil {
			return err
		}
		if r.seg == nil {
			if err := r.open(ctx, ev); err != nil {
				return err
			}
		}
		r.group = &g
		r.seg.inGroup = true
		if r.seg.entry.FirstGTID == "" {
			r.seg.entry.FirstGTID = g.String()
		}
	} else if r.seg == nil || !r.seg.inGroup {
		return fmt.Errorf("binlog event of type %d at %s:%d outside a transaction group", ev.typ(), r.file, ev.logPos())
	}
	if err := r.seg.write(ev); err != nil {
		return err
	}
	e := &r.seg.entry
	e.Events++
	e.EndPos = ev.logPos()
	e.LastTime = time.Unix(int64(ev.timestamp()), 0).UTC()
	r.a.o.Stats.read(e.LastTime)
	ends, err := r.endsGroup(ev)
	if err != nil || !ends {
		return err
	}
	r.seg.inGroup = false
	r.state[r.group.Domain] = r.group.GTID
	e.LastGTID = r.group.String()
	e.EndState = r.state.String()
	e.Transactions++
	if r.seg.raw.N >= r.a.o.SegmentSize || r.a.o.Now().Sub(r.seg.opened) >= r.a.o.SegmentInterval {
		return r.close(ctx)
	}
	return nil
}

// serverChange notes a domain whose transactions now come from another server (a failover):
// the open segment closes, and the next one records the change as a gap, so that a restore
// does not cross it unnoticed.
func (r *reader) serverChange(ctx context.Context, g GTID) error {
	prev, ok := r.state[g.Domain]
	if !ok || prev.Server == g.Server || r.a.pending != nil {
		return nil
	}
	if r.seg != nil {
		if err := r.close(ctx); err != nil {
			return err
		}
	}
	st := r.state.String()
	r.a.changed = &Gap{After: st, Before: st, Reason: fmt.Sprintf("domain %d's transactions now come from server %d, not %d (a failover?): check that none were lost", g.Domain, g.Server, prev.Server)}
	r.a.o.Log.Error("gap in the binlog archive: the GTID server changed", "archive", r.a.archive, "domain", g.Domain,
		"from_server", prev.Server, "to_server", g.Server, "after", st)
	return nil
}

// endsGroup says whether ev is the last event of the current transaction group.
func (r *reader) endsGroup(ev event) (bool, error) {
	switch ev.typ() {
	case typeXID, typeXAPrepare:
		return true, nil
	case typeQuery:
		q, err := parseQuery(ev, r.fd.crc)
		if err != nil {
			return false, err
		}
		return r.group.standalone || q.endsGroup(), nil
	}
	return false, nil
}

// open starts a segment at the GTID event ev.
func (r *reader) open(ctx context.Context, ev event) error {
	e := Entry{
		Format: IndexFormat, Seq: r.a.next, Archive: r.a.archive, ServerID: ev.serverID(),
		StartState: r.state.String(), EndState: r.state.String(),
		FirstTime:  time.Unix(int64(ev.timestamp()), 0).UTC(),
		SourceFile: r.file, StartPos: ev.logPos() - ev.size(),
	}
	if g := r.a.pending; g != nil {
		e.Gap = g
	} else if g := r.a.changed; g != nil {
		e.Gap = g
	}
	seg, err := openSegment(ctx, r.a.b, e, *r.fd, r.a.o.Now(), r.a.o.Recipients)
	if err != nil {
		return err
	}
	r.seg = seg
	return nil
}

// close stores the open segment: upload, read back, index entry last.
func (r *reader) close(ctx context.Context) error {
	seg := r.seg
	r.seg = nil
	if err := seg.finish(); err != nil {
		return err
	}
	e := &seg.entry
	if err := seg.readBack(ctx, r.a.b); err != nil {
		return fmt.Errorf("read back segment %d: %w", e.Seq, err)
	}
	e.Written = r.a.o.Now().UTC()
	stored, err := seg.storedEntry()
	if err != nil {
		return err
	}
	if err := putEntry(ctx, r.a.b, stored); err != nil {
		return fmt.Errorf("write index entry %d: %w", e.Seq, err)
	}
	r.a.next = e.Seq + 1
	r.a.state = r.state.Clone()
	r.a.lastArchived = e.LastTime
	if e.Gap != nil {
		r.a.pending, r.a.changed = nil, nil
	}
	r.stored++
	r.a.o.Stats.stored(e, stored.Size)
	r.a.o.Log.Info("binlog segment stored", "archive", r.a.archive, "seq", e.Seq, "first_gtid", e.FirstGTID,
		"last_gtid", e.LastGTID, "transactions", e.Transactions, "bytes", e.RawSize, "stored_bytes", e.Size,
		"lag", r.a.lag().String())
	if r.a.o.OnSegment != nil {
		r.a.o.OnSegment(e)
	}
	return nil
}

// abort abandons an open segment (the stream failed): the next stream re-reads it.
func (r *reader) abort() {
	if r.seg != nil {
		r.seg.abort(errors.New("replication stream ended"))
		r.seg = nil
	}
}

// parseGTIDList reads a GTID list event: count (4, low 28 bits), then domain (4), server (4),
// sequence (8) per entry.
func parseGTIDList(ev event, crc bool) (State, error) {
	b := ev.body(crc)
	if len(b) < 4 {
		return nil, errors.New("GTID list event too short")
	}
	n := int(le32(b) & 0x0fffffff)
	if len(b) < 4+16*n {
		return nil, errors.New("GTID list event shorter than its count")
	}
	st := State{}
	for i := range n {
		p := b[4+16*i:]
		g := GTID{Domain: le32(p), Server: le32(p[4:]), Seq: le64(p[8:])}
		st[g.Domain] = g
	}
	return st, nil
}

// oneLine keeps a server message on one line.
func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }
