package binlog_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/backupctl/backupctl/internal/cli"
	"github.com/backupctl/backupctl/internal/testenv"
)

// localArchiver runs `backupctl binlog archive --local` (cli.LocalArchive) serving its
// metrics on a free port, until stop.
type localArchiver struct {
	*archiver
	url string
}

func startLocalArchiver(t *testing.T, src server, st cli.StorageFlags, f cli.ArchiveFlags) *localArchiver {
	t.Helper()
	f.MetricsListen = testenv.FreeAddr(t)
	if f.SegmentSize == "" {
		f.SegmentSize = "64MiB"
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &localArchiver{archiver: &archiver{cancel: cancel, done: make(chan error, 1)}, url: "http://" + f.MetricsListen + "/metrics"}
	go func() { a.done <- cli.LocalArchive(ctx, globals(t), src.dbf, st, f) }()
	t.Cleanup(func() { _ = a.stop() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := scrape(a.url); err == nil {
			return a
		}
		select {
		case err := <-a.done:
			t.Fatalf("the archiver ended: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no metrics at %s", a.url)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// scrape reads a /metrics page: each sample's name (labels included) and value.
func scrape(url string) (map[string]float64, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("sample %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out, sc.Err()
}

// archiverMetric is one archiver metric of a scrape, labelled with the database host.
func archiverMetric(t *testing.T, m map[string]float64, name string) float64 {
	t.Helper()
	key := name + `{db_host="127.0.0.1"}`
	v, ok := m[key]
	if !ok {
		t.Fatalf("no sample %s in the scrape", key)
	}
	return v
}

// waitMetrics scrapes until ok holds.
func waitMetrics(t *testing.T, url string, d time.Duration, what string, ok func(map[string]float64) bool) map[string]float64 {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		m, err := scrape(url)
		if err != nil {
			t.Fatal(err)
		}
		if ok(m) {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; last scrape %v", what, d, m)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestArchiverServesMetrics scrapes a local archiver's /metrics: the last archived event time
// advances after writes, the lag shows while a segment is open and falls to 0 once it is
// stored, the segments and bytes counters grow; after the server purged binlog the archiver
// had not read, the next archiver counts the gap.
func TestArchiverServesMetrics(t *testing.T) {
	src := startPrivate(t, "src")
	st, _ := fileBucket(t)
	db := testenv.UniqueName("pitr")
	createTable(t, src.server, db, "id INT AUTO_INCREMENT PRIMARY KEY, v TEXT")
	const (
		lag      = "backupctl_binlog_archiver_lag_seconds"
		last     = "backupctl_binlog_archiver_last_event_timestamp_seconds"
		segments = "backupctl_binlog_archiver_segments_total"
		bytes    = "backupctl_binlog_archiver_bytes_total"
		gaps     = "backupctl_binlog_archiver_gaps_total"
	)
	a := startLocalArchiver(t, src.server, st, cli.ArchiveFlags{SegmentInterval: 3 * time.Second, StartGTID: gtidPos(t, src.server)})
	m, _ := scrape(a.url)
	if archiverMetric(t, m, last) != 0 || archiverMetric(t, m, segments) != 0 || archiverMetric(t, m, gaps) != 0 {
		t.Errorf("before any write: %v", m)
	}
	exec1(t, src.server, "INSERT INTO `"+db+"`.t (v) VALUES ('one')")
	m = waitMetrics(t, a.url, 30*time.Second, "first segment stored", func(m map[string]float64) bool { return archiverMetric(t, m, segments) == 1 })
	first := archiverMetric(t, m, last)
	if first < float64(time.Now().Add(-time.Minute).Unix()) || archiverMetric(t, m, bytes) <= 0 || archiverMetric(t, m, lag) != 0 {
		t.Errorf("after the first segment: last event %v, bytes %v, lag %v", first, archiverMetric(t, m, bytes), archiverMetric(t, m, lag))
	}
	time.Sleep(1100 * time.Millisecond) // binlog times are in seconds
	exec1(t, src.server, "INSERT INTO `"+db+"`.t (v) VALUES ('two')")
	// The segment stays open for 3 s: meanwhile the archive is behind.
	waitMetrics(t, a.url, 10*time.Second, "lag while a segment is open", func(m map[string]float64) bool {
		return archiverMetric(t, m, lag) > 0 && archiverMetric(t, m, segments) == 1
	})
	m = waitMetrics(t, a.url, 30*time.Second, "second segment stored", func(m map[string]float64) bool { return archiverMetric(t, m, segments) == 2 })
	if got := archiverMetric(t, m, last); got <= first || archiverMetric(t, m, lag) != 0 {
		t.Errorf("after the second write: last event %v (was %v), lag %v", got, first, archiverMetric(t, m, lag))
	}
	if err := a.stop(); err != nil {
		t.Fatal(err)
	}

	exec1(t, src.server, "INSERT INTO `"+db+"`.t (v) VALUES ('lost')")
	purgeAll(t, src)
	exec1(t, src.server, "INSERT INTO `"+db+"`.t (v) VALUES ('after the gap')")
	a = startLocalArchiver(t, src.server, st, cli.ArchiveFlags{SegmentInterval: time.Second})
	m, _ = scrape(a.url)
	if got := archiverMetric(t, m, last); got < first {
		t.Errorf("a resumed archiver's last event %v, want the archive's newest (>= %v)", got, first)
	}
	m = waitMetrics(t, a.url, 30*time.Second, "the gap counted", func(m map[string]float64) bool {
		return archiverMetric(t, m, gaps) == 1 && archiverMetric(t, m, segments) >= 1
	})
	if err := a.stop(); err != nil {
		t.Fatal(err)
	}
}
