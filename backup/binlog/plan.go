package binlog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/storage"
)

// ErrUnreachable marks a recovery target the archive cannot reach: beyond its last event, across
// a gap, or before the base backup.
var ErrUnreachable = errors.New("recovery target not reachable")

// Target is where a point-in-time restore stops: a time (every transaction committed at or
// before it), a GTID (up to and including that transaction), or the latest archived event.
type Target struct {
	Time   time.Time
	GTID   *GTID
	Latest bool
}

// String names the target as the flags do.
func (t Target) String() string {
	switch {
	case t.GTID != nil:
		return "--to-gtid " + t.GTID.String()
	case !t.Time.IsZero():
		return "--to-time " + t.Time.UTC().Format(time.RFC3339)
	}
	return "--to-latest"
}

// Window is the span a backup can be brought to with the archive: from its snapshot to the last
// archived event before a gap (or the end of the archive).
type Window struct {
	From     time.Time `json:"from"`
	FromGTID string    `json:"from_gtid"`
	To       time.Time `json:"to"`
	ToGTID   string    `json:"to_gtid"`
	// GapAfter says that a gap follows To: later events were not archived.
	GapAfter bool `json:"gap_after,omitempty"`
	// Reason, when the window is empty, says why.
	Reason string `json:"reason,omitempty"`
}

// Reachable finds the segments that carry backup m forward: from the first with transactions
// after its snapshot to the last before a gap. It returns them and the window.
func Reachable(m *format.Manifest, entries []*Entry) (Window, []*Entry) {
	w := Window{From: m.StartedAt.UTC(), To: m.StartedAt.UTC()}
	if m.Binlog == nil || m.Binlog.GTID == "" {
		w.Reason = "the backup recorded no binlog GTID (binary logging was off)"
		return w, nil
	}
	w.FromGTID, w.ToGTID = m.Binlog.GTID, m.Binlog.GTID
	base, err := ParseState(m.Binlog.GTID)
	if err != nil {
		w.Reason = err.Error()
		return w, nil
	}
	i := slices.IndexFunc(entries, func(e *Entry) bool { return !coversString(base, e.EndState) })
	if i < 0 {
		if len(entries) > 0 {
			last := entries[len(entries)-1]
			w.To = maxTime(w.To, last.LastTime)
		} else {
			w.Reason = "the archive holds no segment"
		}
		return w, nil
	}
	if !coversString(base, entries[i].StartState) {
		w.Reason = fmt.Sprintf("the archive does not reach back to the backup: segment %d starts at %s, the backup is at %s", entries[i].Seq, entries[i].StartState, m.Binlog.GTID)
		return w, nil
	}
	j := i
	for j+1 < len(entries) && entries[j+1].Gap == nil && entries[j+1].StartState == entries[j].EndState {
		j++
	}
	w.To, w.ToGTID = maxTime(w.To, entries[j].LastTime), entries[j].EndState
	w.GapAfter = j+1 < len(entries)
	return w, entries[i : j+1]
}

func coversString(s State, other string) bool {
	o, err := ParseState(other)
	return err == nil && s.Covers(o)
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// ChooseBase picks the newest backup of the archive's server that the target can start from:
// finished at or before a time target, not holding a GTID target, any for the latest.
func ChooseBase(ms []*format.Manifest, archive string, t Target) (*format.Manifest, error) {
	for _, m := range ms { // newest first
		if m.Binlog == nil || m.Binlog.GTID == "" || ArchiveKey(m.ServerID) != ArchiveKey(archive) {
			continue
		}
		st, err := ParseState(m.Binlog.GTID)
		if err != nil {
			continue
		}
		switch {
		case t.GTID != nil && st.Contains(*t.GTID):
			continue
		case !t.Time.IsZero() && m.FinishedAt.After(t.Time):
			continue
		}
		return m, nil
	}
	return nil, fmt.Errorf("%w: no backup of %s with a binlog position is at or before %s: see backupctl list", ErrUnreachable, archive, t)
}

// Plan is a point-in-time restore's replay: the base backup, the segments, what they apply.
type Plan struct {
	Archive   string        `json:"archive"`
	Backup    string        `json:"backup"`
	FromGTID  string        `json:"from_gtid"`
	Target    string        `json:"target"`
	Databases []string      `json:"databases,omitempty"`
	Window    Window        `json:"recoverable_window"`
	Segments  []PlanSegment `json:"segments"`
	Counts    Counts        `json:"replay"`
	// LastGTID and LastTime are the last transaction the replay applies (empty: none).
	LastGTID string    `json:"last_gtid,omitempty"`
	LastTime time.Time `json:"last_time,omitzero"`

	entries []*Entry
	from    State
	last    *GTID
	dbs     map[string]bool
}

// PlanSegment is one segment a replay reads, checked.
type PlanSegment struct {
	Seq       uint64    `json:"seq"`
	Key       string    `json:"key"`
	FirstGTID string    `json:"first_gtid"`
	LastGTID  string    `json:"last_gtid"`
	FirstTime time.Time `json:"first_time"`
	LastTime  time.Time `json:"last_time"`
	Size      int64     `json:"size"`
	Events    int64     `json:"events"`
	SHA256    string    `json:"sha256"`
}

// MakePlan checks that target is reachable from backup m with the archive's entries, then reads
// every segment it needs, checking its SHA-256 and every event, and counts what the replay will
// apply. Nothing is applied: a damaged segment or an event replay does not handle stops the
// restore here. dbs limits the replay to those databases (nil: all).
func MakePlan(ctx context.Context, b storage.Bucket, m *format.Manifest, entries []*Entry, t Target, dbs []string) (*Plan, error) {
	w, run := Reachable(m, entries)
	p := &Plan{Archive: m.ServerID, Backup: m.ID, FromGTID: w.FromGTID, Target: t.String(), Window: w, Databases: dbs}
	if w.Reason != "" && w.FromGTID == "" {
		return nil, fmt.Errorf("%w: backup %s: %s", ErrUnreachable, m.ID, w.Reason)
	}
	if err := checkTarget(m, w, t); err != nil {
		return nil, err
	}
	p.from, _ = ParseState(w.FromGTID)
	if dbs != nil {
		p.dbs = map[string]bool{}
		for _, d := range dbs {
			p.dbs[d] = true
		}
	}
	scan := &applier{dbs: p.dbs, from: p.from}
	switch {
	case t.GTID != nil:
		scan.stop.last = t.GTID
	case !t.Time.IsZero():
		tt := t.Time
		scan.stop.time = &tt
	}
	for _, e := range run {
		if scan.done {
			break
		}
		before := scan.counts.Events
		if err := readSegment(ctx, b, e, func(r io.Reader) error { return feed(ctx, scan, r) }); err != nil {
			return nil, fmt.Errorf("check segment %d before replay: %w", e.Seq, err)
		}
		p.entries = append(p.entries, e)
		p.Segments = append(p.Segments, PlanSegment{Seq: e.Seq, Key: e.Key, FirstGTID: e.FirstGTID, LastGTID: e.LastGTID,
			FirstTime: e.FirstTime, LastTime: e.LastTime, Size: e.Size, Events: scan.counts.Events - before, SHA256: e.SHA256})
	}
	if scan.group != nil && !scan.done {
		return nil, fmt.Errorf("%w: the archive ends inside transaction %s", ErrCorrupt, scan.group.GTID)
	}
	if scan.lateInBase != nil {
		return nil, fmt.Errorf("%w: backup %s already holds transaction %s, committed after %s: choose an older backup or a later time", ErrUnreachable, m.ID, scan.lateInBase, t.Time.UTC().Format(time.RFC3339))
	}
	if t.GTID != nil && (scan.lastGTID == nil || *scan.lastGTID != *t.GTID) {
		return nil, fmt.Errorf("%w: transaction %s is not in the archive after backup %s (it reaches %s)", ErrUnreachable, t.GTID, m.ID, w.ToGTID)
	}
	p.Counts = scan.counts
	if scan.lastGTID != nil {
		p.last = scan.lastGTID
		p.LastGTID, p.LastTime = scan.lastGTID.String(), scan.lastTime
	}
	return p, nil
}

// checkTarget refuses a target outside the window with the last recoverable time.
func checkTarget(m *format.Manifest, w Window, t Target) error {
	last := fmt.Sprintf("the last recoverable time for backup %s is %s (GTID %s)", m.ID, w.To.Format(time.RFC3339), w.ToGTID)
	why := "beyond the archived binlog"
	if w.GapAfter {
		why = "across a gap in the archived binlog"
	}
	if w.Reason != "" {
		why = w.Reason
	}
	switch {
	case !t.Time.IsZero() && t.Time.Before(m.StartedAt):
		return fmt.Errorf("%w: %s is before backup %s was taken (%s): choose an older backup", ErrUnreachable, t, m.ID, m.StartedAt.UTC().Format(time.RFC3339))
	case !t.Time.IsZero() && t.Time.After(w.To):
		return fmt.Errorf("%w: %s is %s; %s", ErrUnreachable, t, why, last)
	case t.GTID != nil:
		to, _ := ParseState(w.ToGTID)
		if !to.Contains(*t.GTID) {
			return fmt.Errorf("%w: %s is %s; %s", ErrUnreachable, t, why, last)
		}
	}
	return nil
}

// feed reads a segment's events into the applier until it is done.
func feed(ctx context.Context, a *applier, r io.Reader) error {
	er := newEventReader(r)
	first := true
	for !a.done {
		ev, err := er.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if first && ev.typ() != typeFormat {
			return fmt.Errorf("the segment starts with an event of type %d, not a format description", ev.typ())
		}
		first = false
		if err := a.event(ctx, ev); err != nil {
			return fmt.Errorf("at offset %d: %w", er.offset-int64(len(ev)), err)
		}
	}
	return nil
}

// SegmentNames are the file names of the plan's segments once downloaded and decompressed,
// for the stock path.
func (p *Plan) SegmentNames() []string {
	var out []string
	for _, s := range p.Segments {
		out = append(out, strings.TrimSuffix(s.Key[strings.LastIndex(s.Key, "/")+1:], ".zst"))
	}
	return out
}

// StockPath is the same replay with the MariaDB tools, on the plan's segments downloaded and
// decompressed (zstd -d) into the current directory: GTID positions, so the result is the same
// transactions.
func (p *Plan) StockPath() string {
	if p.LastGTID == "" {
		return ""
	}
	args := []string{"mariadb-binlog", "--start-position=" + p.FromGTID, "--stop-position=" + p.LastGTID}
	if len(p.Databases) == 1 {
		args = append(args, "--database="+p.Databases[0])
	}
	args = append(args, p.SegmentNames()...)
	return strings.Join(args, " ") + " | mariadb"
}

// Windows is the point-in-time window of each backup (nil where its server has no archive),
// reading each archive's index once.
func Windows(ctx context.Context, b storage.Bucket, ms []*format.Manifest) ([]*Window, error) {
	names, err := Archives(ctx, b)
	if err != nil || len(names) == 0 {
		return make([]*Window, len(ms)), err
	}
	indexes := map[string][]*Entry{}
	out := make([]*Window, len(ms))
	for i, m := range ms {
		key := ArchiveKey(m.ServerID)
		if m.ServerID == "" || !slices.Contains(names, key) {
			continue
		}
		es, ok := indexes[key]
		if !ok {
			if es, err = LoadIndex(ctx, b, m.ServerID); err != nil {
				return nil, err
			}
			indexes[key] = es
		}
		w, _ := Reachable(m, es)
		out[i] = &w
	}
	return out, nil
}
