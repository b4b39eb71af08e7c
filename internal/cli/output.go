package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/alecthomas/kong"
	"golang.org/x/term"
)

// Globals are the flags every command has.
type Globals struct {
	Output    string           `short:"o" name:"output" env:"BACKUP_OUTPUT" enum:"text,json,yaml" default:"text" group:"output" help:"Output format of results: text (on a terminal a one-line summary of a backup, verify or restore), json or yaml."`
	LogFormat string           `name:"log-format" env:"BACKUP_LOG_FORMAT" enum:"auto,text,json" default:"auto" group:"output" help:"Progress and log lines on stderr: auto (text on a terminal, json otherwise), text, json."`
	Quiet     bool             `short:"q" name:"quiet" env:"BACKUP_QUIET" group:"output" help:"No progress lines, only errors and the result."`
	Version   kong.VersionFlag `name:"version" group:"output" help:"Print the version and exit."`
	// InsecureTransport silences the warning about plain-http S3 and TLS-off MariaDB to another host.
	InsecureTransport bool `name:"insecure-transport" env:"BACKUP_INSECURE_TRANSPORT" group:"output" help:"Do not warn when S3 is plain http or MariaDB TLS is off to a host that is not this machine."`

	Stdout io.Writer `kong:"-"`
	Stderr io.Writer `kong:"-"`

	ui *progressUI // the progress line on a terminal, made on first use
}

// Out returns where results go.
func (g *Globals) Out() io.Writer {
	if g.Stdout != nil {
		return g.Stdout
	}
	return os.Stdout
}

// Err returns where logs go.
func (g *Globals) Err() io.Writer {
	if g.Stderr != nil {
		return g.Stderr
	}
	return os.Stderr
}

// Logger returns the progress logger: text on a terminal, JSON lines otherwise.
func (g *Globals) Logger() *slog.Logger {
	w := g.Err()
	level := slog.LevelInfo
	if g.Quiet {
		level = slog.LevelWarn
	}
	opts := &slog.HandlerOptions{Level: level}
	if ui := g.progress(); ui != nil {
		return slog.New(&progressHandler{ui: ui, text: slog.NewTextHandler(ui, opts)})
	}
	if g.logText() {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// logText reports whether log lines are text: --log-format text, or auto on a terminal.
func (g *Globals) logText() bool {
	switch g.LogFormat {
	case "text":
		return true
	case "", "auto":
		f, ok := g.Err().(*os.File)
		return ok && term.IsTerminal(int(f.Fd()))
	}
	return false
}

// LogWriter is where a Job's dumper log goes: nil with --quiet; stderr, with the dumper's JSON
// lines rendered as Logger's text lines when log lines are text.
func (g *Globals) LogWriter() io.Writer {
	if g.Quiet {
		return nil
	}
	if !g.logText() {
		return g.Err()
	}
	if ui := g.progress(); ui != nil {
		return &textLines{h: &progressHandler{ui: ui, text: slog.NewTextHandler(ui, nil)}, out: ui}
	}
	return &textLines{h: slog.NewTextHandler(g.Err(), nil), out: g.Err()}
}

// textLines turns slog JSON lines into slog text lines; other lines pass through.
type textLines struct {
	h   slog.Handler
	out io.Writer
	buf []byte
}

func (w *textLines) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := w.buf[:i+1]
		rec, ok := jsonRecord(line)
		switch {
		case ok:
			_ = w.h.Handle(context.Background(), rec)
		case bytes.HasPrefix(line, []byte(dumperErrorPrefix)):
			// The dumper's own last word: backupctl's error line says it once.
		default:
			if _, err := w.out.Write(line); err != nil {
				return len(p), err
			}
		}
		w.buf = w.buf[i+1:]
	}
}

// dumperErrorPrefix starts the line Exit writes for the dumper's error.
const dumperErrorPrefix = "dumper: "

// jsonRecord parses one slog JSON line into a record, attributes in their order.
func jsonRecord(line []byte) (slog.Record, bool) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] != '{' {
		return slog.Record{}, false
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		return slog.Record{}, false
	}
	var rec slog.Record
	var attrs []slog.Attr
	var hasMsg bool
	for dec.More() {
		k, err := dec.Token()
		key, ok := k.(string)
		if err != nil || !ok {
			return slog.Record{}, false
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return slog.Record{}, false
		}
		str, isStr := v.(string)
		switch {
		case key == slog.TimeKey && isStr:
			t, err := time.Parse(time.RFC3339Nano, str)
			if err != nil {
				return slog.Record{}, false
			}
			rec.Time = t
		case key == slog.LevelKey && isStr:
			if err := rec.Level.UnmarshalText([]byte(str)); err != nil {
				return slog.Record{}, false
			}
		case key == slog.MessageKey && isStr:
			rec.Message, hasMsg = str, true
		default:
			attrs = append(attrs, slog.Any(key, v))
		}
	}
	if !hasMsg {
		return slog.Record{}, false
	}
	rec.AddAttrs(attrs...)
	return rec, true
}

// Print writes a result: indented JSON with -o json, YAML with -o yaml, on a terminal the
// summary line of a backup, verify or restore, else "key: value" lines.
func (g *Globals) Print(v any) error {
	g.finishProgress(true)
	switch g.Output {
	case "json":
		enc := json.NewEncoder(g.Out())
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "yaml":
		return g.printYAML(v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var generic any
	if err := json.Unmarshal(b, &generic); err != nil {
		return err
	}
	if line, ok := summaryOf(generic); ok && g.outTerminal() {
		_, err := io.WriteString(g.Out(), line)
		return err
	}
	var sb strings.Builder
	writeText(&sb, "", generic)
	_, err = io.WriteString(g.Out(), sb.String())
	return err
}

func writeText(sb *strings.Builder, indent string, v any) {
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			switch c := t[k].(type) {
			case map[string]any:
				fmt.Fprintf(sb, "%s%s:\n", indent, k)
				writeText(sb, indent+"  ", c)
			case []any:
				if len(c) > 0 && isScalar(c[0]) {
					fmt.Fprintf(sb, "%s%s: %s\n", indent, k, joinScalars(c))
					continue
				}
				fmt.Fprintf(sb, "%s%s:\n", indent, k)
				writeText(sb, indent+"  ", c)
			default:
				fmt.Fprintf(sb, "%s%s: %s\n", indent, k, scalar(c))
			}
		}
	case []any:
		for i, e := range t {
			if i > 0 {
				sb.WriteString("\n")
			}
			if isScalar(e) {
				fmt.Fprintf(sb, "%s- %s\n", indent, scalar(e))
				continue
			}
			writeText(sb, indent, e)
		}
	default:
		fmt.Fprintf(sb, "%s%s\n", indent, scalar(t))
	}
}

func isScalar(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return false
	}
	return true
}

func joinScalars(vs []any) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = scalar(v)
	}
	return strings.Join(s, ", ")
}

func scalar(v any) string {
	switch t := v.(type) {
	case nil:
		return "-"
	case float64:
		if t == float64(int64(t)) {
			return fmt.Sprintf("%d", int64(t))
		}
		return fmt.Sprintf("%.3f", t)
	case string:
		return t
	}
	return fmt.Sprint(v)
}
