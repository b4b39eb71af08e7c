package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"
)

// progressUI is the live progress line on a terminal. It reads the progress records of a
// backup, restore or verify, from this process or from a Job's dumper (its JSON lines), and
// draws them as one bar: percent of the estimate (information_schema sizes for a backup, the
// manifest for a restore or verify), rows, MB/s, elapsed, ETA and the current table. Every other
// record is printed as a text line above the bar.
type progressUI struct {
	out io.Writer // the terminal

	mu    sync.Mutex    // guards p, bar and total; never taken by the decorators, which mpb runs
	p     *mpb.Progress // nil between bars
	bar   *mpb.Bar
	total int64 // the estimate, grown when the work passes it

	// What the decorators show, read while the bar is drawn.
	start atomic.Int64 // Unix nanoseconds
	bytes atomic.Int64
	rows  atomic.Int64
	table atomic.Pointer[string]
	mbps  atomic.Uint64 // the dumper's own MB/s (float64 bits), 0 when it gives none
}

// progressKinds maps the records that move the bar to what it shows.
var progressKinds = map[string]string{
	"dump progress": "backup", "dump written": "backup",
	"restore started": "restore", "restored table": "restore", "restore complete": "restore",
	"verify progress": "verify", "verify complete": "verify",
}

// Write prints a log line: above the bar while one is drawn, else straight to the terminal.
func (u *progressUI) Write(b []byte) (int, error) {
	u.mu.Lock()
	p := u.p
	u.mu.Unlock()
	if p != nil {
		if n, err := p.Write(b); err == nil {
			return n, nil
		}
	}
	return u.out.Write(b)
}

// handle moves the bar for a progress record; false for any other record.
func (u *progressUI) handle(r slog.Record) bool {
	kind, ok := progressKinds[r.Message]
	if !ok {
		return false
	}
	a := attrs(r)
	u.mu.Lock()
	defer u.mu.Unlock()
	switch r.Message {
	case "dump progress", "dump written":
		u.update(kind, a.int("estimated_bytes"), a.int("bytes"), a.int("rows"), a.str("table"))
		u.mbps.Store(math.Float64bits(a.float("mb_per_s")))
	case "restore started":
		u.update(kind, a.int("bytes_total"), 0, 0, "")
	case "restored table":
		u.update(kind, 0, u.bytes.Load()+a.int("bytes"), u.rows.Load()+a.int("rows"), a.str("database")+"."+a.str("table"))
	case "verify progress", "verify complete":
		u.update(kind, a.int("bytes_total"), a.int("bytes"), 0, "")
	}
	if r.Message == "dump written" || r.Message == "restore complete" || r.Message == "verify complete" {
		u.finishLocked(true)
	}
	return true
}

// update sets the bar (made on the first record) to bytes of the estimate; an estimate of 0
// keeps the one known. Past the estimate the total grows: 100% only when the work is done.
func (u *progressUI) update(kind string, estimate, bytes, rows int64, table string) {
	if u.p == nil {
		u.newBar(kind)
	}
	u.bytes.Store(bytes)
	u.rows.Store(rows)
	if table != "" && table != "." {
		u.table.Store(&table)
	}
	if estimate > 0 {
		u.total = estimate
	}
	if bytes >= u.total {
		u.total = bytes + bytes/20 + 1
	}
	u.bar.SetTotal(u.total, false)
	u.bar.SetCurrent(bytes)
}

func (u *progressUI) newBar(kind string) {
	u.start.Store(time.Now().UnixNano())
	u.bytes.Store(0)
	u.rows.Store(0)
	u.table.Store(nil)
	u.mbps.Store(0)
	u.total = 1
	u.p = mpb.New(mpb.WithOutput(u.out), mpb.WithWidth(24), mpb.WithRefreshRate(150*time.Millisecond), mpb.ForceTTY())
	// Total 0: the bar completes only when told (finish), not when it passes an estimate.
	u.bar = u.p.AddBar(0,
		mpb.PrependDecorators(decor.Name(kind+" ", decor.WCSyncSpaceR), decor.Percentage(decor.WC{W: 5})),
		mpb.AppendDecorators(
			decor.Any(u.stats),
			decor.Name(" · "), decor.Elapsed(decor.ET_STYLE_GO),
			decor.Any(u.eta),
			decor.Any(u.current),
		),
	)
}

// stats is rows and MB/s.
func (u *progressUI) stats(decor.Statistics) string {
	bytes, rows := u.bytes.Load(), u.rows.Load()
	s := " " + humanize.IBytes(uint64(bytes))
	if rows > 0 {
		s += " · " + humanize.Comma(rows) + " rows"
	}
	return s + fmt.Sprintf(" · %.1f MB/s", u.rate())
}

// rate is the MB/s the dumper reports, else the bytes over the time since the bar began.
func (u *progressUI) rate() float64 {
	rate := math.Float64frombits(u.mbps.Load())
	if secs := time.Since(time.Unix(0, u.start.Load())).Seconds(); rate == 0 && secs > 0 {
		rate = float64(u.bytes.Load()) / secs / 1e6
	}
	return rate
}

// eta is the time the rest of the estimate takes at the current rate.
func (u *progressUI) eta(s decor.Statistics) string {
	rate := u.rate() * 1e6
	if s.Completed || s.Current >= s.Total {
		return " · ETA 0s"
	}
	if rate <= 0 {
		return " · ETA ?"
	}
	left := time.Duration(float64(s.Total-s.Current) / rate * float64(time.Second))
	return " · ETA " + left.Round(time.Second).String()
}

// current is the table last reported.
func (u *progressUI) current(decor.Statistics) string {
	if t := u.table.Load(); t != nil {
		return " · " + *t
	}
	return ""
}

// finish ends the bar: complete when the work is done, else left where it stopped.
func (u *progressUI) finish(done bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.finishLocked(done)
}

func (u *progressUI) finishLocked(done bool) {
	if u.p == nil {
		return
	}
	p, bar := u.p, u.bar
	u.p, u.bar = nil, nil
	if done {
		bar.SetTotal(-1, true)
	} else {
		bar.Abort(false)
	}
	p.Wait() // draws the last frame
}

// progressHandler sends progress records to the bar and the rest to the text handler.
type progressHandler struct {
	ui   *progressUI
	text slog.Handler
}

func (h *progressHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.text.Enabled(ctx, l)
}

func (h *progressHandler) Handle(ctx context.Context, r slog.Record) error {
	if h.ui.handle(r) {
		return nil
	}
	return h.text.Handle(ctx, r)
}

func (h *progressHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &progressHandler{ui: h.ui, text: h.text.WithAttrs(as)}
}

func (h *progressHandler) WithGroup(name string) slog.Handler {
	return &progressHandler{ui: h.ui, text: h.text.WithGroup(name)}
}

// recordAttrs are a record's attributes by key.
type recordAttrs map[string]slog.Value

func attrs(r slog.Record) recordAttrs {
	a := recordAttrs{}
	r.Attrs(func(at slog.Attr) bool { a[at.Key] = at.Value.Resolve(); return true })
	return a
}

// float reads a number whichever way it came: an int or float of this process, a json.Number
// of a dumper's JSON line, or a string.
func (a recordAttrs) float(k string) float64 {
	v, ok := a[k]
	if !ok {
		return 0
	}
	switch v.Kind() {
	case slog.KindInt64:
		return float64(v.Int64())
	case slog.KindUint64:
		return float64(v.Uint64())
	case slog.KindFloat64:
		return v.Float64()
	case slog.KindString:
		f, _ := strconv.ParseFloat(v.String(), 64)
		return f
	}
	if n, ok := v.Any().(json.Number); ok {
		f, _ := n.Float64()
		return f
	}
	return 0
}

// int reads a count or a size (exact below 2^53, far above any size here).
func (a recordAttrs) int(k string) int64 { return int64(a.float(k)) }

func (a recordAttrs) str(k string) string {
	if v, ok := a[k]; ok {
		return v.String()
	}
	return ""
}

// progressOn says whether progress is drawn as a bar: stderr a terminal, text log lines, not -q.
func (g *Globals) progressOn() bool {
	if g.Quiet || !g.logText() {
		return false
	}
	f, ok := g.Err().(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progress is the Globals' one progress line, made on first use; nil when progressOn is false.
func (g *Globals) progress() *progressUI {
	if !g.progressOn() {
		return nil
	}
	if g.ui == nil {
		g.ui = &progressUI{out: g.Err()}
	}
	return g.ui
}

// finishProgress ends the bar, if any, before the result or an error is printed.
func (g *Globals) finishProgress(done bool) {
	if g.ui != nil {
		g.ui.finish(done)
	}
}
