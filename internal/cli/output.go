package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"

	"golang.org/x/term"
)

// Globals are the flags every command has.
type Globals struct {
	Output    string `short:"o" name:"output" env:"BACKUP_OUTPUT" enum:"text,json" default:"text" help:"Output format of results: text or json."`
	LogFormat string `name:"log-format" env:"BACKUP_LOG_FORMAT" enum:"auto,text,json" default:"auto" help:"Progress and log lines on stderr: auto (text on a terminal, json otherwise), text, json."`
	Quiet     bool   `short:"q" name:"quiet" env:"BACKUP_QUIET" help:"No progress lines, only errors and the result."`
	// InsecureTransport silences the warning about plain-http S3 and TLS-off MariaDB to another host.
	InsecureTransport bool `name:"insecure-transport" env:"BACKUP_INSECURE_TRANSPORT" help:"Do not warn when S3 is plain http or MariaDB TLS is off to a host that is not this machine."`

	Stdout io.Writer `kong:"-"`
	Stderr io.Writer `kong:"-"`
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
	format := g.LogFormat
	if format == "" || format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			format = "text"
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// Print writes a result: indented JSON with -o json, else "key: value" lines.
func (g *Globals) Print(v any) error {
	if g.Output == "json" {
		enc := json.NewEncoder(g.Out())
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var generic any
	if err := json.Unmarshal(b, &generic); err != nil {
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
