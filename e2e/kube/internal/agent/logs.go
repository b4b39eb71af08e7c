package agent

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Container logs are stored like CRI log files: one record per line,
// "<RFC3339Nano> <stream> <F|P> <content>", so the log endpoint can honour
// timestamps, sinceTime and tailLines.

// maxLineBuffer is the length after which an unterminated line is written as a
// partial record, like a container runtime does.
const maxLineBuffer = 16 * 1024

// logFile is the shared sink for a container attempt's stdout and stderr.
type logFile struct {
	mu sync.Mutex
	f  *os.File
}

func createLogFile(path string) (*logFile, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	return &logFile{f: f}, nil
}

func (l *logFile) record(stream, tag string, content []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b bytes.Buffer
	b.WriteString(time.Now().UTC().Format(time.RFC3339Nano))
	b.WriteByte(' ')
	b.WriteString(stream)
	b.WriteByte(' ')
	b.WriteString(tag)
	b.WriteByte(' ')
	b.Write(content)
	b.WriteByte('\n')
	_, _ = l.f.Write(b.Bytes())
}

func (l *logFile) Close() error { return l.f.Close() }

// streamWriter splits one stream into line records.
type streamWriter struct {
	l      *logFile
	stream string
	buf    []byte
}

func (w *streamWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.l.record(w.stream, "F", w.buf[:i])
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) >= maxLineBuffer {
		w.l.record(w.stream, "P", w.buf)
		w.buf = w.buf[:0]
	}
	return len(p), nil
}

// flush writes an unterminated last line; called once the process is gone.
func (w *streamWriter) flush() {
	if len(w.buf) > 0 {
		w.l.record(w.stream, "F", w.buf)
		w.buf = nil
	}
}

// logRecord is one parsed log line.
type logRecord struct {
	ts      time.Time
	stream  string
	partial bool
	content string
}

func parseRecord(line string) (logRecord, bool) {
	parts := strings.SplitN(line, " ", 4)
	if len(parts) != 4 {
		return logRecord{}, false
	}
	ts, err := time.Parse(time.RFC3339Nano, parts[0])
	if err != nil {
		return logRecord{}, false
	}
	return logRecord{ts: ts, stream: parts[1], partial: parts[2] == "P", content: parts[3]}, true
}

// logOptions are the kubelet's containerLogs query parameters.
type logOptions struct {
	follow     bool
	timestamps bool
	tailLines  int64 // <0: all
	limitBytes int64 // <=0: unlimited
	since      time.Time
	stream     string // "", "Stdout" or "Stderr" (also "All")
}

func parseLogOptions(q map[string][]string) (logOptions, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	o := logOptions{tailLines: -1}
	o.follow = get("follow") == "true"
	o.timestamps = get("timestamps") == "true"
	if v := get("tailLines"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return o, fmt.Errorf("tailLines: %w", err)
		}
		o.tailLines = n
	}
	if v := get("limitBytes"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return o, fmt.Errorf("limitBytes: %w", err)
		}
		o.limitBytes = n
	}
	if v := get("sinceSeconds"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return o, fmt.Errorf("sinceSeconds: %w", err)
		}
		o.since = time.Now().Add(-time.Duration(n) * time.Second)
	}
	if v := get("sinceTime"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return o, fmt.Errorf("sinceTime: %w", err)
		}
		o.since = t
	}
	o.stream = get("stream")
	return o, nil
}

func (o logOptions) wants(r logRecord) bool {
	if !o.since.IsZero() && r.ts.Before(o.since) {
		return false
	}
	switch strings.ToLower(o.stream) {
	case "stdout":
		return r.stream == "stdout"
	case "stderr":
		return r.stream == "stderr"
	}
	return true
}

// limitedWriter stops after limitBytes and flushes after every write so that
// followers see lines as they come.
type limitedWriter struct {
	w         io.Writer
	remaining int64 // <0: unlimited
}

var errLimit = fmt.Errorf("limitBytes reached")

func (lw *limitedWriter) write(s string) error {
	if lw.remaining == 0 {
		return errLimit
	}
	if lw.remaining > 0 && int64(len(s)) > lw.remaining {
		s = s[:lw.remaining]
	}
	n, err := io.WriteString(lw.w, s)
	if lw.remaining > 0 {
		lw.remaining -= int64(n)
	}
	if err != nil {
		return err
	}
	if lw.remaining == 0 {
		return errLimit
	}
	return nil
}

func (o logOptions) format(r logRecord) string {
	s := r.content
	if !r.partial {
		s += "\n"
	}
	if o.timestamps {
		s = r.ts.Format(time.RFC3339Nano) + " " + s
	}
	return s
}

// serveLogFile writes the log at path to w. With follow it keeps reading
// until done is closed (the container attempt ended) and the file is drained,
// or ctx ends.
func serveLogFile(ctx context.Context, w io.Writer, path string, o logOptions, done <-chan struct{}) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	flusher, _ := w.(http.Flusher)
	lw := &limitedWriter{w: w, remaining: -1}
	if o.limitBytes > 0 {
		lw.remaining = o.limitBytes
	}
	rd := bufio.NewReader(f)
	var pending string // a record whose newline is not written yet

	// readAvailable returns the complete records currently in the file.
	readAvailable := func() []logRecord {
		var recs []logRecord
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				pending += line
				return recs
			}
			line = pending + strings.TrimSuffix(line, "\n")
			pending = ""
			if r, ok := parseRecord(line); ok && o.wants(r) {
				recs = append(recs, r)
			}
		}
	}

	recs := readAvailable()
	if o.tailLines >= 0 && int64(len(recs)) > o.tailLines {
		recs = recs[int64(len(recs))-o.tailLines:]
	}
	for _, r := range recs {
		if err := lw.write(o.format(r)); err != nil {
			return nil
		}
	}
	if flusher != nil {
		flusher.Flush()
	}
	if !o.follow {
		return nil
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		finished := false
		select {
		case <-ctx.Done():
			return nil
		case <-done:
			finished = true
		case <-tick.C:
		}
		for _, r := range readAvailable() {
			if err := lw.write(o.format(r)); err != nil {
				return nil
			}
		}
		if flusher != nil {
			flusher.Flush()
		}
		if finished {
			return nil
		}
	}
}

// tailText returns the last maxLines lines of a log file as plain text, at
// most maxBytes long: the kubelet's FallbackToLogsOnError message.
func tailText(path string, maxLines int, maxBytes int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var lines []string
	for _, l := range strings.Split(string(data), "\n") {
		if r, ok := parseRecord(l); ok {
			lines = append(lines, strings.TrimSuffix(logOptions{}.format(r), "\n"))
		}
	}
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	s := strings.Join(lines, "\n")
	if len(s) > maxBytes {
		s = s[len(s)-maxBytes:]
	}
	return s
}
