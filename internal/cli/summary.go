package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/dustin/go-humanize"
	"golang.org/x/term"
	"sigs.k8s.io/yaml"

	"github.com/backupctl/backupctl/storage"
)

// Location is where a backup's objects are, in full: what a person pastes into another tool.
type Location struct {
	// URL is the backup's folder: s3://bucket/prefix/ID/ or file:///dir/prefix/ID/.
	URL    string `json:"url"`
	Bucket string `json:"bucket,omitempty"`
	// ObjectKey and ManifestKey are the full keys, the prefix included.
	ObjectKey   string `json:"object_key"`
	ManifestKey string `json:"manifest_key"`
}

// Location is where backup id's object (key) and manifest lie with these storage settings; the
// keys are relative to the prefix, as the results give them.
func (f StorageFlags) Location(id, key, manifest string) *Location {
	prefix := strings.Trim(f.Prefix, "/")
	full := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "/" + k
	}
	l := &Location{ObjectKey: full(key), ManifestKey: full(manifest)}
	if f.To != "" {
		l.URL = strings.TrimRight(storage.RedactURL(f.To), "/") + "/" + full(id) + "/"
	} else {
		l.Bucket = f.Bucket
		l.URL = "s3://" + f.Bucket + "/" + full(id) + "/"
	}
	return l
}

// Machine says whether results are for a program (-o json or -o yaml) rather than a person.
func (g *Globals) Machine() bool { return g.Output == "json" || g.Output == "yaml" }

// printYAML writes v as YAML, with the keys and values its JSON has.
func (g *Globals) printYAML(v any) error {
	b, err := yaml.Marshal(v)
	if err != nil {
		return err
	}
	_, err = g.Out().Write(b)
	return err
}

// outTerminal reports whether results go to a terminal.
func (g *Globals) outTerminal() bool {
	f, ok := g.Out().(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// summaryOf is the one line a person reads for a backup, verify or restore result (in its JSON
// form, as printed, from this process or a Job's dumper); ok false for other results. The kind
// is told by the fields only it has: raw_size (backup), raw_bytes (verify), dry_run (restore).
func summaryOf(v any) (line string, ok bool) {
	m, isMap := v.(map[string]any)
	if !isMap || m["id"] == nil {
		return "", false
	}
	num := func(k string) float64 { f, _ := m[k].(float64); return f }
	size := func(k string) string { return humanize.IBytes(uint64(num(k))) }
	count := func(k string) string { return humanize.Comma(int64(num(k))) }
	where := func() string {
		if l, ok := m["location"].(map[string]any); ok && l["url"] != nil {
			return ", " + fmt.Sprint(l["url"])
		}
		return ""
	}
	var sb strings.Builder
	switch {
	case m["raw_size"] != nil:
		state := "verified"
		if m["verified"] != true {
			state = "NOT verified"
		}
		fmt.Fprintf(&sb, "backup %v %s: %s (%s of SQL), %s tables, %s rows in %.2f s%s", m["id"], state, size("size"), size("raw_size"),
			count("tables"), count("rows"), num("duration_seconds"), where())
		if p, ok := m["pruned"].(map[string]any); ok {
			sb.WriteString(prunedSummary(p))
		}
	case m["raw_bytes"] != nil:
		state := "verified"
		if m["verified"] != true {
			state = "NOT verified"
		}
		fmt.Fprintf(&sb, "backup %v %s: %s read back (%s of SQL), %s tables, sha256 %v%s", m["id"], state, size("bytes_read"), size("raw_bytes"),
			count("tables"), m["sha256"], where())
		if m["authenticated"] == true {
			fmt.Fprintf(&sb, ", signed by %v", m["key_id"])
		}
	case m["dry_run"] == true:
		fmt.Fprintf(&sb, "dry run of backup %v: would restore %s tables, %s rows into %s; nothing was changed", m["id"], count("tables"), count("rows"), list(m["databases"]))
	case m["dry_run"] != nil:
		fmt.Fprintf(&sb, "restored backup %v: %s tables, %s rows into %s in %.2f s (%s read)", m["id"], count("tables"), count("rows"), list(m["databases"]),
			num("duration_seconds"), size("bytes"))
	default:
		return "", false
	}
	if j, ok := m["job"].(string); ok {
		sb.WriteString(" (Job " + j + ")")
	}
	if w, ok := m["warnings"].([]any); ok && len(w) > 0 {
		fmt.Fprintf(&sb, "\nwarnings: %s", list(w))
	}
	return sb.String() + "\n", true
}

// prunedSummary says what a backup's retention deleted.
func prunedSummary(p map[string]any) string {
	n := 0
	sets, _ := p["sets"].([]any)
	for _, s := range sets {
		if sm, ok := s.(map[string]any); ok {
			d, _ := sm["deleted"].([]any)
			n += len(d)
		}
	}
	return fmt.Sprintf("; retention deleted %d backup(s)", n)
}

func list(v any) string {
	vs, _ := v.([]any)
	s := make([]string, len(vs))
	for i, x := range vs {
		s[i] = fmt.Sprint(x)
	}
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ", ")
}
