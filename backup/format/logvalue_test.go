package format

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestBinlogLogValue: a binlog position logs as its fields, not as a Go struct; none as "off".
func TestBinlogLogValue(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, nil))
	l.Info("snapshot", "binlog", &Binlog{File: "binlog.000024", Position: 570644753, GTID: "0-1-36987"})
	var none *Binlog
	l.Info("snapshot", "binlog", none)
	out := buf.String()
	for _, want := range []string{"binlog.file=binlog.000024 binlog.position=570644753 binlog.gtid=0-1-36987", "binlog=off"} {
		if !strings.Contains(out, want) {
			t.Errorf("log %q lacks %q", out, want)
		}
	}
	if strings.Contains(out, "&{") {
		t.Errorf("a Go struct in the log: %s", out)
	}
}
