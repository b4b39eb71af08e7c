// Package archtest checks that the dependencies between the module's packages point one way:
// cmd -> internal/cli -> {jobs, backup} -> {contract, storage, backup/format}.
package archtest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/backupctl/backupctl/"

// imports returns, for every package directory under the module root, the module packages its
// non-test files import.
func imports(t *testing.T) map[string][]string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if p != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "bin") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil && p != root {
				return filepath.SkipDir // another module (e2e/kube)
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(p))
		rel = filepath.ToSlash(rel)
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, module) {
				out[rel] = append(out[rel], strings.TrimPrefix(path, module))
			}
		}
		if _, ok := out[rel]; !ok {
			out[rel] = nil
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func under(pkg, dir string) bool { return pkg == dir || strings.HasPrefix(pkg, dir+"/") }

// TestDependencyDirection fails when a package imports one it must not: the layers below the
// CLI never import it, the leaves import nothing of ours, and storage knows nothing of backups.
func TestDependencyDirection(t *testing.T) {
	rules := []struct {
		pkgs   []string // the packages (and everything below them) the rule is about
		forbid []string // what they must not import (and everything below)
	}{
		{[]string{"jobs", "backup", "storage", "contract", "version"}, []string{"internal/cli", "cmd"}},
		{[]string{"contract", "version"}, []string{""}}, // leaves: nothing of ours
		{[]string{"storage"}, []string{"backup", "jobs"}},
		{[]string{"jobs"}, []string{"backup"}},
		{[]string{"backup/format", "backup/sqltext", "backup/dbconn"}, []string{"backup/dump", "backup/restore", "backup/verify"}},
		{[]string{"backup/dump", "backup/restore", "backup/verify", "backup/format", "backup/sqltext", "backup/dbconn"}, []string{"backup"}},
	}
	all := imports(t)
	if len(all) < 10 {
		t.Fatalf("read only %d packages: the walk did not find the module", len(all))
	}
	var bad []string
	for pkg, imps := range all {
		for _, r := range rules {
			inRule := false
			for _, p := range r.pkgs {
				inRule = inRule || under(pkg, p)
			}
			if !inRule {
				continue
			}
			for _, imp := range imps {
				for _, f := range r.forbid {
					// "backup" forbids the facade itself, not its sub-packages; "" forbids all.
					if f == "" || imp == f || (f != "backup" && under(imp, f)) {
						if !(f == "backup" && pkg == "backup") {
							bad = append(bad, pkg+" imports "+imp)
						}
					}
				}
			}
		}
	}
	sort.Strings(bad)
	if len(bad) > 0 {
		t.Errorf("dependencies against the direction cmd -> cli -> {jobs, backup} -> {contract, storage, format}:\n%s", strings.Join(bad, "\n"))
	}
}
