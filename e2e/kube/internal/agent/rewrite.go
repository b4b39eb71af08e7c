package agent

import (
	"sort"
	"strings"
)

// pathRewriter maps in-container paths (mount paths, the termination message
// path) to host paths. There is no mount namespace, so the agent rewrites
// occurrences of those paths in command, args, env values and workingDir.
type pathRewriter struct {
	rules []rewriteRule
}

type rewriteRule struct{ from, to string }

// add registers a mapping; a trailing slash on from is ignored.
func (r *pathRewriter) add(from, to string) {
	from = strings.TrimRight(from, "/")
	if from == "" {
		return // never rewrite "/" itself: every absolute path would move
	}
	r.rules = append(r.rules, rewriteRule{from, to})
	// Longest first, so /etc/a/b wins over /etc/a.
	sort.SliceStable(r.rules, func(i, j int) bool { return len(r.rules[i].from) > len(r.rules[j].from) })
}

// isPathChar reports whether c can be part of a path component.
func isPathChar(c byte) bool {
	return c == '/' || c == '.' || c == '_' || c == '-' ||
		(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// Rewrite replaces every whole-path occurrence of a registered path in s: the
// match must not be preceded by a path character (so /x/etc/cfg is left
// alone) and must be followed by the end, a slash or a non-path character (so
// /tmpfoo is not taken for /tmp).
func (r *pathRewriter) Rewrite(s string) string {
	if len(r.rules) == 0 || !strings.Contains(s, "/") {
		return s
	}
	var b strings.Builder
	i := 0
	for i < len(s) {
		if s[i] == '/' && (i == 0 || !isPathChar(s[i-1])) {
			matched := false
			for _, rule := range r.rules {
				end := i + len(rule.from)
				if strings.HasPrefix(s[i:], rule.from) && (end == len(s) || s[end] == '/' || !isPathChar(s[end])) {
					b.WriteString(rule.to)
					i = end
					matched = true
					break
				}
			}
			if matched {
				continue
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// lookup maps an absolute path exactly (used for workingDir).
func (r *pathRewriter) lookup(p string) (string, bool) {
	out := r.Rewrite(p)
	return out, out != p
}
