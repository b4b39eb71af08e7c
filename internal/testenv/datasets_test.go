package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// recorder is a testing.TB that records Fatalf and Logf instead of acting on them.
type recorder struct {
	testing.TB
	fatal, logged string
}

func (r *recorder) Helper()                         {}
func (r *recorder) Logf(format string, args ...any) { r.logged = fmt.Sprintf(format, args...) }
func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// dataset runs Dataset on a recorder in a goroutine of its own, as Fatalf ends it.
func dataset(t *testing.T, name string) (dir string, ok bool, r *recorder) {
	r = &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		dir, ok = Dataset(r, name)
	}()
	<-done
	return dir, ok, r
}

func TestDatasetRule(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "here"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BACKUP_TEST_DATASETS", root)
	for _, ci := range []string{"", "true"} {
		t.Setenv("CI", ci)
		if dir, ok, r := dataset(t, "here"); !ok || dir != filepath.Join(root, "here") || r.fatal != "" {
			t.Errorf("CI=%q: a present data set: %q, %t, fatal %q", ci, dir, ok, r.fatal)
		}
	}
	t.Setenv("CI", "")
	if dir, ok, r := dataset(t, "gone"); ok || dir != "" || r.fatal != "" || r.logged == "" {
		t.Errorf("a missing data set outside CI: %q, %t, fatal %q, log %q; want it left out with a log line", dir, ok, r.fatal, r.logged)
	}
	t.Setenv("CI", "true")
	if _, ok, r := dataset(t, "gone"); ok || r.fatal == "" {
		t.Errorf("a missing data set in CI: %t, fatal %q; want the test failed", ok, r.fatal)
	}
}

func TestDatasetsRootWithoutEnv(t *testing.T) {
	t.Setenv("BACKUP_TEST_DATASETS", "")
	want := filepath.Join(ModuleDir(t), "..", "shared", "datasets")
	if got := DatasetsRoot(t); got != want {
		t.Errorf("DatasetsRoot = %q, want %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(ModuleDir(t), "go.mod")); err != nil {
		t.Errorf("ModuleDir is not the module's directory: %v", err)
	}
}
