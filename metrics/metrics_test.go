package metrics

import (
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

func gathered(t *testing.T, r Run) map[string]*dto.MetricFamily {
	t.Helper()
	fams, err := Gatherer(r).Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

// TestGatherer: a success carries its timestamp as the last success; a failure leaves the last
// success out, so a push of it keeps the earlier one. Every metric has help, and the names
// follow the conventions (a unit suffix where there is a unit).
func TestGatherer(t *testing.T) {
	start := time.Unix(1_800_000_000, 0)
	ok := gathered(t, Run{Start: start, End: start.Add(1500 * time.Millisecond), Success: true, StoredBytes: 10, RawBytes: 40, Rows: 3, Tables: 1, Verified: true})
	if got := ok[NameLastSuccess].GetMetric()[0].GetGauge().GetValue(); got != 1_800_000_001.5 {
		t.Errorf("last success = %v", got)
	}
	if got := ok[NameDuration].GetMetric()[0].GetGauge().GetValue(); got != 1.5 {
		t.Errorf("duration = %v", got)
	}
	failed := gathered(t, Run{Start: start, End: start.Add(time.Second), ExitCode: 2})
	if _, present := failed[NameLastSuccess]; present {
		t.Error("a failed run carries a last success timestamp")
	}
	if got := failed[NameExitCode].GetMetric()[0].GetGauge().GetValue(); got != 2 {
		t.Errorf("exit code = %v", got)
	}
	for name, f := range ok {
		if f.GetHelp() == "" || !strings.HasPrefix(name, "backupctl_") {
			t.Errorf("%s: no help or no backupctl_ prefix", name)
		}
		if strings.Contains(f.GetHelp(), "seconds") != strings.HasSuffix(name, "_seconds") && !strings.Contains(name, "exit_code") {
			t.Errorf("%s: help %q and the unit suffix disagree", name, f.GetHelp())
		}
	}
	if len(ok) != len(help) {
		t.Errorf("%d metrics gathered, %d documented", len(ok), len(help))
	}
}

// TestCheckURL refuses what is not an http(s) URL and a URL with credentials, without echoing
// the password.
func TestCheckURL(t *testing.T) {
	for _, u := range []string{"http://pg:9091", "https://pg.example/prefix"} {
		if err := CheckURL(u); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{"pg:9091", "ftp://pg", "http://", "http://user:s3cret@pg:9091", "://s3cret@x"} {
		err := CheckURL(u)
		if err == nil {
			t.Errorf("%s accepted", u)
		} else if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: the error shows the password: %v", u, err)
		}
	}
}
