package testenv

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// ModuleDir is the directory of this module, found from this file's path.
func ModuleDir(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatalf("cannot locate the testenv package source")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// DatasetsRoot is where the shared data sets live: $BACKUP_TEST_DATASETS when set, else
// ../shared/datasets beside the module's directory.
func DatasetsRoot(t testing.TB) string {
	t.Helper()
	if root := os.Getenv("BACKUP_TEST_DATASETS"); root != "" {
		return root
	}
	return filepath.Join(ModuleDir(t), "..", "shared", "datasets")
}

// Dataset looks up the shared data set name (sakila, employees) under DatasetsRoot and returns
// its directory and true. A clone alone has none of them: a missing data set is then logged and
// Dataset returns false, so the test leaves that case out and runs the others (the generated
// sample database of internal/sampledata is the case every clone has). In CI (CI set) every
// data set must be there, and a missing one fails the test.
func Dataset(t testing.TB, name string) (string, bool) {
	t.Helper()
	dir := filepath.Join(DatasetsRoot(t), name)
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("data set %s: %v (CI needs every data set: put them in ../shared/datasets or set BACKUP_TEST_DATASETS)", name, err)
		}
		t.Logf("data set %s is not here (%v): its case does not run", name, err)
		return "", false
	}
	return dir, true
}
