package dbtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestAdversarialLoadsTwiceEqual(t *testing.T) {
	src, a, b, inv := loadTwice(t, LoadAdversarial, "dbtest_adv")
	// The triggers ran once per row: a dump that recreates them before the data doubles again.
	wantRows(t, inv, map[string]int64{"big": 100000, "trig_target": 3, "trig_log": 3, "empty_table": 0, "no_pk": 5, "versioned": 2})
	if h := inv.Tables["versioned"].HistoryRows; h != 6 {
		t.Errorf("versioned: want 6 rows with history, got %d", h)
	}
	if len(inv.Views) != 6 || len(inv.Routines) != 4 || len(inv.Triggers) != 4 || len(inv.Events) != 2 || len(inv.Sequences) != 2 {
		t.Errorf("objects: %d views, %d routines, %d triggers, %d events, %d sequences",
			len(inv.Views), len(inv.Routines), len(inv.Triggers), len(inv.Events), len(inv.Sequences))
	}
	Compare(t, src, a, src, b)
}

// TestCompareSeesEachChange changes one thing at a time in b and checks that Compare reports it.
func TestCompareSeesEachChange(t *testing.T) {
	src := Source(t)
	a, b := UniqueName("dbtest_neg_a"), UniqueName("dbtest_neg_b")
	LoadAdversarial(t, src, a)
	LoadAdversarial(t, src, b)
	qb := QuoteIdent(b)
	changes := []struct {
		name, object string
		sqls         []string
	}{
		{"float last bit", `table "num_float"`, []string{
			// 0.1f is 0x3DCCCCCD; the next float up prints as 0.1 too.
			"UPDATE " + qb + ".num_float SET f = 0.10000000894069672 WHERE id = 3"}},
		{"history row", `table "versioned"`, []string{
			"DELETE HISTORY FROM " + qb + ".versioned BEFORE SYSTEM_TIME '2020-09-13 12:30:01'"}},
		{"trigger sql_mode", `trigger "trg_double"`, []string{
			"DROP TRIGGER " + qb + ".trg_double",
			"USE " + qb,
			"SET sql_mode = 'PIPES_AS_CONCAT,ANSI_QUOTES'",
			"CREATE TRIGGER trg_double BEFORE INSERT ON trig_target FOR EACH ROW\n  SET NEW.v = NEW.v * 2, NEW.label = NEW.label || '!'"}},
		{"sequence state", `sequence "seq_cycle"`, []string{"SELECT NEXTVAL(" + qb + ".seq_cycle)"}},
		{"auto_increment", `table "autoinc_gap"`, []string{"ALTER TABLE " + qb + ".autoinc_gap AUTO_INCREMENT = 6000"}},
		{"enum error value", `table "modern_types"`, []string{"UPDATE " + qb + ".modern_types SET e = '' WHERE id = 5"}},
		{"invisible column", `table "computed"`, []string{"UPDATE " + qb + ".computed SET hidden = 8 WHERE id = 1"}},
		{"history timestamp", `table "versioned_explicit"`, []string{
			"SET timestamp = 1600000800",
			"UPDATE " + qb + ".versioned_explicit SET price = price WHERE id = 1 AND valid_from = '2020-01-01'"}},
		{"view body", `view "m_view"`, []string{"ALTER VIEW " + qb + ".m_view AS SELECT id, qty, price, qty + price AS total FROM " + qb + ".z_base"}},
		{"event", `event "ev_disabled"`, []string{"ALTER EVENT " + qb + ".ev_disabled ENABLE"}},
	}
	rec := NewRecorder(t)
	Compare(rec, src, a, src, b)
	if errs := rec.Errors(); len(errs) > 0 {
		t.Fatalf("two loads differ before any change:\n%s", strings.Join(errs, "\n"))
	}
	var seen []string
	for _, c := range changes {
		src.Exec(t, c.sqls...)
		rec.Reset()
		Compare(rec, src, a, src, b)
		var fresh []string
		for _, e := range rec.Errors() {
			if !slices.Contains(seen, e) {
				fresh = append(fresh, e)
			}
		}
		found := false
		for _, e := range fresh {
			found = found || strings.Contains(e, c.object)
		}
		if !found {
			t.Errorf("%s: Compare did not report %s; new differences: %q", c.name, c.object, fresh)
		} else {
			t.Logf("%s: Compare reported:\n%s", c.name, strings.Join(fresh, "\n"))
		}
		seen = rec.Errors()
	}
}

// TestStockMariadbDump round-trips the adversarial set through stock mariadb-dump and logs what
// it loses. Its losses are the peers' problem; the test only insists that Compare sees them.
func TestStockMariadbDump(t *testing.T) {
	src, dst := Source(t), Target(t)
	db := UniqueName("dbtest_stock")
	LoadAdversarial(t, src, db)
	variants := []struct {
		name  string
		flags []string
	}{
		{"usual", []string{"--single-transaction", "--routines", "--events", "--triggers"}},
		{"thorough", []string{"--single-transaction", "--routines", "--events", "--triggers", "--hex-blob", "--dump-history"}},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			dir := t.TempDir()
			dump := filepath.Join(dir, "dump.sql")
			f, err := os.Create(dump)
			if err != nil {
				t.Fatal(err)
			}
			args := append([]string{"--no-defaults"}, connArgs(src)...)
			args = append(args, v.flags...)
			args = append(args, "--databases", db)
			cmd := exec.CommandContext(t.Context(), "mariadb-dump", args...)
			cmd.Env = clientEnv(src)
			cmd.Stdout = f
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("mariadb-dump: %v\n%s", err, stderr.String())
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			// Both variants restore under the same name (--databases): start from nothing.
			dst.Exec(t, "DROP DATABASE IF EXISTS "+QuoteIdent(db))
			dst.DropAtEnd(t, db)
			in, err := os.Open(dump)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			restoreDir := t.TempDir()
			// --force, so one failing statement does not hide every later loss.
			out, err := runClient(t, dst, "", in, ClientOptions{Dir: restoreDir, Force: true})
			if err != nil {
				t.Logf("LOST: restoring the %s stock dump: %v", v.name, err)
			}
			for _, line := range strings.Split(string(out), "\n") {
				if strings.Contains(line, "ERROR") {
					t.Logf("LOST: restoring the %s stock dump: %s", v.name, line)
				}
			}
			if _, err := os.Stat(filepath.Join(restoreDir, pwnedMarker)); err == nil {
				t.Logf("LOST: restoring the %s stock dump ran a shell command hidden in a name", v.name)
			}
			rec := NewRecorder(t)
			Compare(rec, src, db, dst, db)
			errs := rec.Errors()
			for _, e := range errs {
				t.Logf("LOST (%s): %s", v.name, e)
			}
			t.Logf("stock mariadb-dump %s: %d differences", strings.Join(v.flags, " "), len(errs))
			float := false
			for _, e := range errs {
				float = float || strings.Contains(e, `table "num_float"`)
			}
			if !float {
				t.Errorf("Compare did not see the FLOAT rounding of stock mariadb-dump (num_float)")
			}
		})
	}
}

func TestLoadEmployees(t *testing.T) {
	src := Source(t)
	if _, ok := DatasetDir(t, "employees"); !ok {
		return
	}
	db := UniqueName("dbtest_employees")
	loaded := LoadEmployees(t, src, db)
	// Row counts and CRCs from the data set's own test_employees_md5.sql.
	expect := map[string]struct {
		table string
		rows  int64
		crc   string
		cols  string
		order string
	}{
		"load_departments.dump":  {"departments", 9, "d1af5e170d2d1591d776d5638d71fc5f", "dept_no,dept_name", "dept_no"},
		"load_dept_manager.dump": {"dept_manager", 24, "8720e2f0853ac9096b689c14664f847e", "dept_no,emp_no,from_date,to_date", "dept_no,emp_no"},
		"load_employees.dump":    {"employees", 300024, "4ec56ab5ba37218d187cf6ab09ce1aa1", "emp_no,birth_date,first_name,last_name,gender,hire_date", "emp_no"},
		"load_dept_emp.dump":     {"dept_emp", 331603, "ccf6fe516f990bdaa49713fc478701b7", "dept_no,emp_no,from_date,to_date", "dept_no,emp_no"},
		"load_titles.dump":       {"titles", 443308, "bfa016c472df68e70a03facafa1bc0a8", "emp_no,title,from_date,to_date", "emp_no,title,from_date"},
	}
	if !slices.Contains(loaded, "load_departments.dump") {
		t.Fatalf("load_departments.dump was not loaded: %v", loaded)
	}
	conn := src.DB(t, db)
	inv := InventoryOf(t, src, db)
	for _, file := range loaded {
		e, ok := expect[file]
		if !ok {
			continue
		}
		if got := inv.Tables[e.table].Rows; got != e.rows {
			t.Errorf("%s: %d rows, want %d", e.table, got, e.rows)
		}
		c, err := conn.Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var crc string
		_, err = c.ExecContext(t.Context(), "SET @crc = ''")
		if err == nil {
			_, err = c.ExecContext(t.Context(), "SELECT @crc := MD5(CONCAT_WS('#', @crc, "+e.cols+")) FROM "+e.table+" ORDER BY "+e.order)
		}
		if err == nil {
			err = c.QueryRowContext(t.Context(), "SELECT @crc").Scan(&crc)
		}
		_ = c.Close()
		if err != nil {
			t.Fatalf("%s crc: %v", e.table, err)
		}
		if crc != e.crc {
			t.Errorf("%s: crc %s, want %s", e.table, crc, e.crc)
		}
	}
	if len(inv.Views) != 2 {
		t.Errorf("employees views: %d, want 2", len(inv.Views))
	}
}

func TestLoadSakila(t *testing.T) {
	if _, ok := DatasetDir(t, "sakila"); !ok {
		return
	}
	src, a, b, inv := loadTwice(t, LoadSakila, "dbtest_sakila")
	wantRows(t, inv, map[string]int64{"actor": 200, "address": 603, "film": 1000, "payment": 16044, "rental": 16044, "film_text": 1000})
	if !strings.Contains(inv.Tables["address"].Create, "`location` geometry NOT NULL") {
		t.Errorf("address has no GEOMETRY column:\n%s", inv.Tables["address"].Create)
	}
	if len(inv.Views) != 7 || len(inv.Triggers) != 6 || len(inv.Routines) != 6 {
		t.Errorf("sakila: %d views, %d triggers, %d routines; want 7, 6, 6", len(inv.Views), len(inv.Triggers), len(inv.Routines))
	}
	Compare(t, src, a, src, b)
}

// loadTwice loads a data set into two new databases of the source, prefix_a and prefix_b, and
// takes the inventory of the first.
func loadTwice(t *testing.T, load func(testing.TB, *Server, string), prefix string) (src *Server, a, b string, inv *Inventory) {
	t.Helper()
	src = Source(t)
	a, b = UniqueName(prefix+"_a"), UniqueName(prefix+"_b")
	load(t, src, a)
	load(t, src, b)
	return src, a, b, InventoryOf(t, src, a)
}

// wantRows checks the row count of each table in want.
func wantRows(t *testing.T, inv *Inventory, want map[string]int64) {
	t.Helper()
	for name, n := range want {
		if tb := inv.Tables[name]; tb == nil || tb.Rows != n {
			t.Errorf("table %s: want %d rows, got %+v", name, n, tb)
		}
	}
}

func TestMissingEnvFails(t *testing.T) {
	if testing.Short() {
		t.Skip("servers are not needed here, but -short skips Source itself")
	}
	t.Setenv("BACKUP_DB_PORT", "")
	rec := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Source(rec)
	}()
	<-done
	if !strings.Contains(rec.msg, "run `make up` and source .stack/env") {
		t.Errorf("missing variable: got %q", rec.msg)
	}
}

// fatalRecorder captures Fatalf and stops the goroutine, as testing does.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = strings.TrimSpace(sprintf(format, args...))
	runtimeGoexit()
}
