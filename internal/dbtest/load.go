package dbtest

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/backupctl/backupctl/internal/sampledata"
	"github.com/backupctl/backupctl/internal/testenv"
)

// pwnedMarker is the file that the shell commands hidden in adversarial names would create.
const pwnedMarker = "dbtest_pwned"

// ClientOptions adjust how RunClient starts the stock client.
type ClientOptions struct {
	// Dir is the working directory, where relative SOURCE paths resolve; "" means a fresh temp dir.
	Dir string
	// Sandbox passes --sandbox: the client refuses \! and SOURCE.
	Sandbox bool
	// Force passes --force: the client goes on after an error (and still exits non-zero).
	Force bool
}

// RunClient pipes r through the stock mariadb client into db ("" for none) and fails the test
// on any error. The password travels in MYSQL_PWD, never in argv.
func RunClient(t testing.TB, s *Server, db string, r io.Reader, opt ClientOptions) {
	t.Helper()
	if out, err := runClient(t, s, db, r, opt); err != nil {
		t.Fatalf("mariadb client into %s database %q: %v\n%s", s.Name, db, err, tail(out, 4000))
	}
}

func runClient(t testing.TB, s *Server, db string, r io.Reader, opt ClientOptions) ([]byte, error) {
	t.Helper()
	args := []string{"--no-defaults", "--default-character-set=utf8mb4", "--batch"}
	if opt.Sandbox {
		args = append(args, "--sandbox")
	}
	if opt.Force {
		args = append(args, "--force")
	}
	args = append(args, connArgs(s)...)
	if db != "" {
		args = append(args, "--database="+db)
	}
	cmd := exec.CommandContext(t.Context(), "mariadb", args...)
	cmd.Dir = opt.Dir
	if cmd.Dir == "" {
		cmd.Dir = t.TempDir()
	}
	cmd.Env = clientEnv(s)
	cmd.Stdin = r
	return cmd.CombinedOutput()
}

// connArgs are the connection flags for the stock clients, without the password.
func connArgs(s *Server) []string {
	args := []string{"--user=" + s.User}
	if s.Socket != "" {
		return append(args, "--socket="+s.Socket, "--protocol=socket")
	}
	return append(args, "--host="+s.Host, "--port="+strconv.Itoa(s.Port), "--protocol=tcp")
}

// clientEnv is the environment with the password in MYSQL_PWD and no other MYSQL_PWD.
func clientEnv(s *Server) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MYSQL_PWD=") {
			env = append(env, kv)
		}
	}
	return append(env, "MYSQL_PWD="+string(s.Password))
}

// LoadSQLFile creates db if needed (dropping it when the test ends) and runs path through the
// stock client from path's directory, so relative SOURCE commands resolve.
func LoadSQLFile(t testing.TB, s *Server, db string, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open data set: %v", err)
	}
	defer f.Close()
	ensureDatabase(t, s, db)
	RunClient(t, s, db, f, ClientOptions{Dir: filepath.Dir(path)})
}

// ensureDatabase creates db if it is missing and drops it when the test ends.
func ensureDatabase(t testing.TB, s *Server, db string) {
	t.Helper()
	s.Exec(t, "CREATE DATABASE IF NOT EXISTS "+QuoteIdent(db))
	s.DropAtEnd(t, db)
}

// DatasetDir looks up the shared data set name (sakila, employees) by testenv.Dataset's rule:
// present, it returns the directory and true; missing, it logs and returns false (the test
// leaves that case out), except in CI (CI set), where a missing data set fails the test.
func DatasetDir(t testing.TB, name string) (string, bool) {
	t.Helper()
	return testenv.Dataset(t, name)
}

// mustDataset is DatasetDir for a loader: the caller looked the data set up first, so a
// missing one fails the test.
func mustDataset(t testing.TB, name string) string {
	t.Helper()
	dir, ok := DatasetDir(t, name)
	if !ok {
		t.Fatalf("data set %s is missing: look it up with DatasetDir before loading it", name)
	}
	return dir
}

// Case is a data set a round-trip test runs on: its name and how to load it into a database.
type Case struct {
	Name string
	Load func(t testing.TB, s *Server, db string)
}

// SampleScale is the scale of the sample database in tests: about 90,000 rows, loaded in
// seconds.
const SampleScale = 0.2

// SampleCase is the project's generated sample database (LoadSample), the case every clone has.
var SampleCase = Case{Name: "sample", Load: LoadSample}

// Cases returns SampleCase and then the shared data sets among names ("sakila", "employees")
// that DatasetDir finds, in order.
func Cases(t testing.TB, names ...string) []Case {
	t.Helper()
	loaders := map[string]func(testing.TB, *Server, string){
		"sakila":    LoadSakila,
		"employees": func(t testing.TB, s *Server, db string) { LoadEmployees(t, s, db) },
	}
	out := []Case{SampleCase}
	for _, n := range names {
		load, ok := loaders[n]
		if !ok {
			t.Fatalf("no data set %q", n)
		}
		if _, ok := DatasetDir(t, n); ok {
			out = append(out, Case{Name: n, Load: load})
		}
	}
	return out
}

// LoadSample loads the sample database of internal/sampledata (seed 1, SampleScale) into db,
// created as utf8mb4 if missing and dropped when the test ends, through the stock client.
func LoadSample(t testing.TB, s *Server, db string) {
	t.Helper()
	var script bytes.Buffer
	if _, err := sampledata.Generate(&script, sampledata.Options{Seed: 1, Scale: SampleScale}); err != nil {
		t.Fatalf("generate the sample database: %v", err)
	}
	s.Exec(t, "CREATE DATABASE IF NOT EXISTS "+QuoteIdent(db)+" CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
	s.DropAtEnd(t, db)
	RunClient(t, s, db, &script, ClientOptions{})
}

var (
	sakilaSchemaStmt = regexp.MustCompile(`(?m)^(DROP SCHEMA IF EXISTS|CREATE SCHEMA|USE) sakila;`)
	sakilaQualifier  = regexp.MustCompile(`\bsakila\.`)
)

// LoadSakila loads the Sakila sample database under the name db. The MySQL-5.7-only comments
// around address.location are opened so MariaDB gets the GEOMETRY column and SPATIAL index.
func LoadSakila(t testing.TB, s *Server, db string) {
	t.Helper()
	dir := mustDataset(t, "sakila")
	ensureDatabase(t, s, db)
	for _, name := range []string{"sakila-schema.sql", "sakila-data.sql"} {
		src, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("read sakila: %v", err)
		}
		src = sakilaSchemaStmt.ReplaceAll(src, []byte("$1 "+escapeRepl(QuoteIdent(db))+";"))
		src = sakilaQualifier.ReplaceAll(src, []byte(escapeRepl(QuoteIdent(db))+"."))
		src = bytes.ReplaceAll(src, []byte("/*!50705 "), []byte("/*! "))
		RunClient(t, s, db, bytes.NewReader(src), ClientOptions{Dir: dir})
	}
}

// escapeRepl protects $ in a regexp replacement.
func escapeRepl(s string) string { return strings.ReplaceAll(s, "$", "$$") }

var (
	employeesDBStmt = regexp.MustCompile(`(?m)^(DROP DATABASE IF EXISTS|CREATE DATABASE IF NOT EXISTS|USE) employees;`)
	employeesSource = regexp.MustCompile(`(?m)^\s*source\s+(\S+)\s*;\s*$`)
)

// LoadEmployees loads the employees sample database under the name db from the files shipped
// and returns the load_*.dump files it loaded. The snapshot lacks the large dumps, so the
// SOURCE commands for missing files are skipped, and foreign key checks are off because
// dept_manager's parents (employees) are among the missing.
func LoadEmployees(t testing.TB, s *Server, db string) []string {
	t.Helper()
	dir := mustDataset(t, "employees")
	src, err := os.ReadFile(filepath.Join(dir, "employees.sql"))
	if err != nil {
		t.Fatalf("read employees: %v", err)
	}
	src = employeesDBStmt.ReplaceAll(src, []byte("$1 "+escapeRepl(QuoteIdent(db))+";"))
	var loaded, missing []string
	src = employeesSource.ReplaceAllFunc(src, func(line []byte) []byte {
		file := string(employeesSource.FindSubmatch(line)[1])
		if _, err := os.Stat(filepath.Join(dir, file)); err != nil {
			missing = append(missing, file)
			return []byte("-- dbtest: " + file + " is not in the snapshot")
		}
		if strings.HasPrefix(file, "load_") {
			loaded = append(loaded, file)
		}
		return line
	})
	if len(missing) > 0 {
		t.Logf("employees: loading %v; missing from %s: %v", loaded, dir, missing)
	}
	src = append([]byte("SET foreign_key_checks = 0;\n"), src...)
	ensureDatabase(t, s, db)
	RunClient(t, s, db, bytes.NewReader(src), ClientOptions{Dir: dir})
	return loaded
}

// AdversarialPath returns the path of testdata/adversarial.sql in this module.
func AdversarialPath(t testing.TB) string {
	t.Helper()
	return filepath.Join(testenv.ModuleDir(t), "testdata", "adversarial.sql")
}

// LoadAdversarial loads testdata/adversarial.sql into db. It runs the client sandboxed in an
// empty directory and fails if any name made it run a shell command.
func LoadAdversarial(t testing.TB, s *Server, db string) {
	t.Helper()
	f, err := os.Open(AdversarialPath(t))
	if err != nil {
		t.Fatalf("open adversarial data set: %v", err)
	}
	defer f.Close()
	ensureDatabase(t, s, db)
	dir := t.TempDir()
	RunClient(t, s, db, f, ClientOptions{Dir: dir, Sandbox: true})
	AssertNoShellEscape(t, dir)
}

// AssertNoShellEscape fails the test if a client run in dir executed one of the shell
// commands hidden in the adversarial names.
func AssertNoShellEscape(t testing.TB, dir string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, pwnedMarker)); err == nil {
		t.Errorf("the mariadb client ran a shell command hidden in a name (%s appeared in %s)", pwnedMarker, dir)
	}
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
