package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alecthomas/kong"

	"github.com/backupctl/backupctl/internal/cli"
)

var update = flag.Bool("update", false, "rewrite testdata/help/*.txt from the current grammar")

// TestHelpGolden pins the --help of every command (testdata/help; go test -run TestHelpGolden
// -update rewrites it), and checks that no command lists a flag group it has no use for.
func TestHelpGolden(t *testing.T) {
	var paths [][]string
	var walk func(n *kong.Node, path []string)
	walk = func(n *kong.Node, path []string) {
		paths = append(paths, path)
		for _, c := range n.Children {
			walk(c, append(append([]string{}, path...), c.Name))
		}
	}
	walk(helpParser(t, new(bytes.Buffer)).Model.Node, nil)
	if len(paths) < 15 {
		t.Fatalf("%d commands", len(paths))
	}
	for _, path := range paths {
		name := strings.Join(append([]string{"backupctl"}, path...), "_")
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			p := helpParser(t, &out)
			clearEnv(t, p.Model.Node)
			_, _ = p.Parse(append(append([]string{}, path...), "--help"))
			got := out.String()
			file := filepath.Join("testdata", "help", name+".txt")
			if *update {
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test -run TestHelpGolden -update)", err)
			}
			if got != string(want) {
				t.Errorf("--help of %q differs from %s (run with -update if intended):\n%s", path, file, got)
			}
			// Commands that only read or remove Kubernetes objects take no Job settings.
			if len(path) > 0 && (path[0] == "jobs" || path[0] == "logs" || path[0] == "wait" ||
				(path[0] == "schedule" && len(path) > 1 && path[1] != "set")) {
				for _, f := range []string{"--image", "--secret", "--backoff-limit", "--s3-part-size", "--db-host"} {
					if strings.Contains(got, f) {
						t.Errorf("%q lists %s, which it does not use", path, f)
					}
				}
			}
			if examples[strings.Join(path, " ")] && strings.Count(got, "\n    backupctl ") < 2 {
				t.Errorf("%q --help has fewer than two examples", path)
			}
		})
	}
}

// examples are the commands whose --help shows examples.
var examples = map[string]bool{
	"backup now": true, "restore": true, "list": true, "jobs": true, "logs": true, "wait": true, "version": true,
	"schedule set": true, "schedule show": true, "schedule suspend": true, "schedule resume": true,
	"schedule delete": true, "schedule run": true,
}

func helpParser(t *testing.T, out *bytes.Buffer) *kong.Kong {
	t.Helper()
	opts := append(cli.GrammarOptions("backupctl", description), kong.Writers(out, out), kong.Exit(func(int) {}))
	p, err := kong.New(&backupctlCLI{}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
