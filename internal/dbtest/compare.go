package dbtest

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Compare fails the test with one error per difference between database dbA on a and dbB on
// b: objects, definitions, AUTO_INCREMENT, row content, history, sequence state, charset.
func Compare(t testing.TB, a *Server, dbA string, b *Server, dbB string) {
	t.Helper()
	ia, ib := InventoryOf(t, a, dbA), InventoryOf(t, b, dbB)
	diffs := Diff(ia, ib)
	for _, d := range diffs {
		t.Errorf("%s vs %s: %s", ia.Label, ib.Label, d)
	}
	if len(diffs) == 0 {
		t.Logf("%s and %s are equal: %d tables, %d views, %d routines, %d triggers, %d events, %d sequences",
			ia.Label, ib.Label, len(ia.Tables), len(ia.Views), len(ia.Routines), len(ia.Triggers), len(ia.Events), len(ia.Sequences))
	}
}

// Diff lists the differences between two inventories, one message each, empty when equal.
func Diff(a, b *Inventory) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if a.Create != b.Create {
		add("database: SHOW CREATE DATABASE differs:\n%s", lineDiff(a.Create, b.Create))
	}
	for _, name := range unionKeys(a.Tables, b.Tables) {
		ta, tb := a.Tables[name], b.Tables[name]
		what := "table " + strconv.Quote(name)
		switch {
		case tb == nil:
			add("%s is missing from b", what)
			continue
		case ta == nil:
			add("%s is only in b", what)
			continue
		}
		if ta.Type != tb.Type || ta.Engine != tb.Engine {
			add("%s: type/engine %s/%s, b has %s/%s", what, ta.Type, ta.Engine, tb.Type, tb.Engine)
		}
		if ta.Create != tb.Create {
			add("%s: SHOW CREATE TABLE differs:\n%s", what, lineDiff(ta.Create, tb.Create))
		}
		if ta.Rows != tb.Rows {
			add("%s: COUNT(*) %d, b has %d", what, ta.Rows, tb.Rows)
		}
		if ta.Checksum != tb.Checksum {
			add("%s: CHECKSUM TABLE EXTENDED %s, b has %s", what, ta.Checksum, tb.Checksum)
		}
		if ta.RowHash != tb.RowHash {
			add("%s: row content differs:\n%s", what, rowDiff(ta.rows, tb.rows))
		}
		if ta.HistoryRows != tb.HistoryRows {
			add("%s: FOR SYSTEM_TIME ALL has %d rows, b has %d", what, ta.HistoryRows, tb.HistoryRows)
		}
		if ta.HistoryHash != tb.HistoryHash {
			add("%s: history (FOR SYSTEM_TIME ALL, with row_start/row_end) differs:\n%s", what, rowDiff(ta.history, tb.history))
		}
	}
	objects := []struct {
		kind string
		a, b map[string]Object
	}{
		{"view", a.Views, b.Views},
		{"routine", a.Routines, b.Routines},
		{"trigger", a.Triggers, b.Triggers},
		{"event", a.Events, b.Events},
		{"sequence", a.Sequences, b.Sequences},
	}
	for _, o := range objects {
		for _, name := range unionKeys(o.a, o.b) {
			oa, okA := o.a[name]
			ob, okB := o.b[name]
			what := o.kind + " " + strconv.Quote(name)
			switch {
			case !okB:
				add("%s is missing from b", what)
			case !okA:
				add("%s is only in b", what)
			default:
				for _, f := range unionKeys(oa.Fields, ob.Fields) {
					if va, vb := oa.Fields[f], ob.Fields[f]; va != vb {
						add("%s: %s differs:\n%s", what, f, lineDiff(va, vb))
					}
				}
			}
		}
	}
	return out
}

func unionKeys[V any](a, b map[string]V) []string {
	keys := slices.Collect(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// lineDiff shows the lines of a that b lacks ("-") and of b that a lacks ("+").
func lineDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for _, l := range la {
		if !slices.Contains(lb, l) {
			out = append(out, "    - "+strconv.Quote(l))
		}
	}
	for _, l := range lb {
		if !slices.Contains(la, l) {
			out = append(out, "    + "+strconv.Quote(l))
		}
	}
	if len(out) == 0 { // same lines, different order or count
		out = append(out, "    - "+strconv.Quote(a), "    + "+strconv.Quote(b))
	}
	return strings.Join(out, "\n")
}

// rowDiff shows up to 5 rows found on one side only, when the rows were kept.
func rowDiff(a, b *rowSet) string {
	if a == nil || b == nil || a.counts == nil || b.counts == nil {
		return fmt.Sprintf("    %d rows hash %s, b has %d rows hash %s (too many rows to list)", a.n, a.hash(), b.n, b.hash())
	}
	var out []string
	side := func(sign string, x, y *rowSet) {
		n := 0
		for h, c := range x.counts {
			if extra := c - y.counts[h]; extra > 0 {
				n++
				if n <= 5 {
					out = append(out, fmt.Sprintf("    %s %s ×%d", sign, x.text[h], extra))
				}
			}
		}
		if n > 5 {
			out = append(out, fmt.Sprintf("    %s … %d more", sign, n-5))
		}
	}
	side("-", a, b)
	side("+", b, a)
	slices.Sort(out)
	return strings.Join(out, "\n")
}

// Recorder is a testing.TB that records Error and Errorf calls instead of failing, so a test can
// assert that Compare found a difference. Fatal and Skip still act on the wrapped test.
type Recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

// NewRecorder wraps t.
func NewRecorder(t testing.TB) *Recorder { return &Recorder{TB: t} }

// Errorf records a failure.
func (r *Recorder) Errorf(format string, args ...any) { r.record(fmt.Sprintf(format, args...)) }

// Error records a failure.
func (r *Recorder) Error(args ...any) { r.record(fmt.Sprint(args...)) }

// Fail records a failure without a message.
func (r *Recorder) Fail() { r.record("Fail called") }

// Failed reports whether anything was recorded.
func (r *Recorder) Failed() bool { return len(r.Errors()) > 0 }

// Errors returns the recorded messages.
func (r *Recorder) Errors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.errs)
}

// Reset forgets what was recorded.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = nil
}

func (r *Recorder) record(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, msg)
}
