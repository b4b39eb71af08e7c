package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// terminal is a pseudo-terminal 120 columns wide: what is written to tty is read from
// output once the tty is closed.
func terminal(t *testing.T) (tty *os.File, output func() string) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: 120}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _, _ = io.Copy(&buf, ptmx) }()
	t.Cleanup(func() { ptmx.Close(); tty.Close() })
	return tty, func() string {
		tty.Close()
		wg.Wait()
		return buf.String()
	}
}

var percentRE = regexp.MustCompile(`backup\s+(\d+) ?%`)

// TestProgressBarFromJobLines renders a dumper's JSON progress lines (as a followed Job sends
// them) in a pseudo-terminal: a live bar whose percentage grows to 100, with rows, MB/s, the ETA
// and the current table; the other lines print as text above it.
func TestProgressBarFromJobLines(t *testing.T) {
	tty, output := terminal(t)
	g := &Globals{Stderr: tty, Stdout: tty, LogFormat: "auto"}
	w := g.LogWriter()
	const estimate = 10 << 20
	line := func(msg string, kv string) {
		fmt.Fprintf(w, `{"time":"2026-11-29T08:00:00Z","level":"INFO","msg":%q%s}`+"\n", msg, kv)
	}
	line("snapshot taken", `,"id":"20261129T080000Z-abcdef","databases":1`)
	for i := 1; i <= 4; i++ {
		line("dump progress", fmt.Sprintf(`,"tables_done":%d,"tables_total":5,"rows":%d,"bytes":%d,"stored_bytes":1000,"mb_per_s":3.2,"estimated_bytes":%d,"table":"shop.t%d"`,
			i, i*1000, i*2<<20, estimate, i))
		time.Sleep(400 * time.Millisecond)
	}
	line("dump written", fmt.Sprintf(`,"tables_done":5,"tables_total":5,"rows":5000,"bytes":%d,"stored_bytes":1000,"mb_per_s":3.2,"estimated_bytes":%d,"table":"shop.t5"`, 11<<20, estimate))
	line("uploaded", `,"id":"20261129T080000Z-abcdef","size":1000`)
	if err := g.Print(map[string]any{"id": "20261129T080000Z-abcdef", "raw_size": 11 << 20, "size": 1000, "verified": true, "tables": 5, "rows": 5000, "duration_seconds": 1.6}); err != nil {
		t.Fatal(err)
	}
	out := output()
	t.Logf("terminal:\n%q", out)
	var seen []string
	for _, m := range percentRE.FindAllStringSubmatch(out, -1) {
		seen = append(seen, m[1])
	}
	if len(seen) < 2 || seen[len(seen)-1] != "100" || seen[0] == "100" {
		t.Errorf("percentages drawn %v: want some below 100, the last 100", seen)
	}
	if !regexp.MustCompile(`ETA [1-9][0-9]*s`).MatchString(out) {
		t.Error("no ETA above 0s drawn")
	}
	for _, want := range []string{"MB/s", "4,000 rows", "shop.t4", "msg=\"snapshot taken\"", "msg=uploaded",
		"backup 20261129T080000Z-abcdef verified: 1000 B (11 MiB of SQL), 5 tables, 5,000 rows in 1.60 s"} {
		if !strings.Contains(out, want) {
			t.Errorf("the terminal does not show %q", want)
		}
	}
	if strings.Contains(out, `"msg":"dump progress"`) || strings.Contains(out, "msg=\"dump progress\"") {
		t.Error("progress records printed as log lines besides the bar")
	}
}

// TestNoBarWithoutTerminal: not a terminal, the JSON lines pass as they are; -q on a terminal
// draws nothing.
func TestNoBarWithoutTerminal(t *testing.T) {
	var buf bytes.Buffer
	g := &Globals{Stderr: &buf, LogFormat: "auto"}
	g.Logger().Info("dump progress", "bytes", 10, "estimated_bytes", 100)
	if !strings.Contains(buf.String(), `"msg":"dump progress"`) || g.ui != nil {
		t.Errorf("not a terminal: %q", buf.String())
	}
	tty, output := terminal(t)
	q := &Globals{Stderr: tty, LogFormat: "auto", Quiet: true}
	q.Logger().Info("dump progress", "bytes", 10, "estimated_bytes", 100)
	if q.LogWriter() != nil || q.ui != nil {
		t.Error("-q made a progress line")
	}
	if out := output(); out != "" {
		t.Errorf("-q on a terminal wrote %q", out)
	}
}
