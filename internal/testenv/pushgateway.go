package testenv

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Pushgateway is the URL of the stack's Pushgateway (BACKUP_TEST_PUSHGATEWAY).
func Pushgateway(t testing.TB) string {
	t.Helper()
	return Get(t, "BACKUP_TEST_PUSHGATEWAY")
}

// seriesLine is one sample of the text exposition format: name{labels} value.
var seriesLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)$`)

// labelPair is one name="value" inside the braces.
var labelPair = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)

// ScrapeGroup reads the Pushgateway's /metrics and returns, by metric name, the values of the
// series whose labels include every pair of group, and the whole text (for a scan of secrets).
func ScrapeGroup(t testing.TB, gateway string, group map[string]string) (map[string]float64, string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(strings.TrimRight(gateway, "/") + "/metrics")
	if err != nil {
		t.Fatalf("read the Pushgateway's metrics: %v (%s)", err, Hint)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("read the Pushgateway's metrics: HTTP %d, %v", resp.StatusCode, err)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		m := seriesLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		labels := map[string]string{}
		for _, p := range labelPair.FindAllStringSubmatch(m[2], -1) {
			labels[p[1]] = p[2]
		}
		match := true
		for k, v := range group {
			match = match && labels[k] == v
		}
		if !match {
			continue
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatalf("Pushgateway line %q: %v", line, err)
		}
		if _, dup := out[m[1]]; dup {
			t.Fatalf("two series of %s in group %v: %s", m[1], group, fmt.Sprint(labels))
		}
		out[m[1]] = v
	}
	return out, string(body)
}
