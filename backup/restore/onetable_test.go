package restore

import (
	"context"
	"database/sql"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/backupctl/backupctl/backup/sqltext"
)

// describeAll returns describe(x) for each of xs, in order.
func describeAll[T any](xs []T, describe func(T) string) []string {
	var out []string
	for _, x := range xs {
		out = append(out, describe(x))
	}
	return out
}

func TestRestoreForeignKeys(t *testing.T) {
	stmt := "CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  `pid` int(11) DEFAULT NULL,\n  `note` varchar(20) DEFAULT 'a,b)',\n" +
		"  PRIMARY KEY (`id`),\n  KEY `fk_p` (`pid`),\n  CONSTRAINT `fk_p` FOREIGN KEY (`pid`) REFERENCES `parent` (`id`) ON DELETE CASCADE,\n" +
		"  CONSTRAINT `fk,o` FOREIGN KEY (`pid`, `id`) REFERENCES `other db`.`x` (`a`, `b`),\n  CONSTRAINT `chk` CHECK (`note` <> 'FOREIGN KEY')\n" +
		") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
	got := describeAll(foreignKeys(stmt), func(fk fkClause) string { return fk.name + "|" + fk.refDB + "|" + fk.refTable })
	if want := []string{"fk_p||parent", "fk,o|other db|x"}; !reflect.DeepEqual(got, want) {
		t.Errorf("foreign keys %q, want %q", got, want)
	}
	if fks := foreignKeys("CREATE VIEW v AS SELECT 1 AS `FOREIGN KEY`"); len(fks) != 0 {
		t.Errorf("a view has foreign keys %v", fks)
	}
	for _, tc := range []struct {
		drop []string
		want string
	}{
		{[]string{"fk_p"}, strings.Replace(stmt, ",\n  CONSTRAINT `fk_p` FOREIGN KEY (`pid`) REFERENCES `parent` (`id`) ON DELETE CASCADE", "", 1)},
		{[]string{"fk_p", "fk,o"}, strings.Replace(strings.Replace(stmt, ",\n  CONSTRAINT `fk_p` FOREIGN KEY (`pid`) REFERENCES `parent` (`id`) ON DELETE CASCADE", "", 1),
			",\n  CONSTRAINT `fk,o` FOREIGN KEY (`pid`, `id`) REFERENCES `other db`.`x` (`a`, `b`)", "", 1)},
		{[]string{"nope"}, stmt},
		{[]string{"a"}, "CREATE TABLE t (x int)"},
	} {
		drop := map[string]bool{}
		for _, d := range tc.drop {
			drop[d] = true
		}
		in := stmt
		if tc.drop[0] == "a" {
			in = "CREATE TABLE t (CONSTRAINT a FOREIGN KEY (x) REFERENCES p (y), x int)"
		}
		if got := withoutForeignKeys(in, drop); got != tc.want {
			t.Errorf("without %v:\n%s\nwant\n%s", tc.drop, got, tc.want)
		}
	}
}

func TestRestoreTriggerUses(t *testing.T) {
	stmt := "CREATE DEFINER=`root`@`localhost` TRIGGER `trg y` AFTER UPDATE ON `t` FOR EACH ROW BEGIN\n" +
		"INSERT INTO audit (id, at, s) VALUES (NEW.id, EXTRACT(YEAR FROM NOW()), 'DELETE FROM nope');\n" +
		"UPDATE IGNORE `db2`.`totals` SET n = n + 1 WHERE k = (SELECT k FROM kinds WHERE id = NEW.id);\n" +
		"INSERT INTO log SELECT 1 FROM DUAL ON DUPLICATE KEY UPDATE n = REPLACE(n, 'a', 'b');\n" +
		"DELETE FROM t2 WHERE id = OLD.id;\nEND"
	got := describeAll(triggerUses(stmt), func(u nameUse) string { return u.verb + " " + u.db + "." + u.table })
	want := []string{"writes .audit", "writes db2.totals", "reads .kinds", "writes .log", "writes .t2"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("uses %q, want %q", got, want)
	}
	if n := triggerName(stmt); n != "trg y" {
		t.Errorf("name %q", n)
	}
}

// restoreOneTableSQL builds a database where tables refer outside themselves: child's foreign
// key to parent, a trigger on child that writes audit, and lone, which refers to nothing.
func restoreOneTableSQL(db string) []string {
	q := sqltext.QuoteIdent(db)
	return []string{
		"CREATE DATABASE " + q,
		"USE " + q,
		"CREATE TABLE parent (id INT PRIMARY KEY)",
		"CREATE TABLE child (id INT PRIMARY KEY, pid INT, sib INT, note VARCHAR(20), " +
			"CONSTRAINT fk_parent FOREIGN KEY (pid) REFERENCES parent (id), CONSTRAINT fk_self FOREIGN KEY (sib) REFERENCES child (id))",
		"CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, child_id INT)",
		"CREATE TABLE lone (id INT PRIMARY KEY, v VARCHAR(10))",
		"INSERT INTO parent VALUES (1), (2)",
		"INSERT INTO child VALUES (1, 1, NULL, 'a'), (2, 2, 1, 'b')",
		"INSERT INTO lone VALUES (1, 'x'), (2, 'y'), (3, 'z')",
		"CREATE TRIGGER trg_audit AFTER INSERT ON child FOR EACH ROW INSERT INTO " + q + ".audit (child_id) VALUES (NEW.id)",
	}
}

func TestRestoreOneTableReferences(t *testing.T) {
	s := restoreTestEnv(t)
	src, dst := restoreTestDB(t, s.src), restoreTestDB(t, s.dst)
	name, into := restoreNameAndInto(t, src, dst, "rst_one")
	res := restoreDumpDB(t, s, name, restoreOneTableSQL(name))
	child := name + ".child"
	showCreate := func(db *sql.DB, d, tbl string) string {
		t.Helper()
		var n, c string
		if err := db.QueryRowContext(t.Context(), "SHOW CREATE TABLE "+sqltext.QuoteIdent(d)+"."+sqltext.QuoteIdent(tbl)).Scan(&n, &c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	hasWarning := func(rep *Report, w string) bool {
		return rep != nil && strings.Contains(strings.Join(rep.Warnings, "\n"), w)
	}
	fkLine := name + ".child: foreign key fk_parent references " + name + ".parent, which is not restored"
	trgLine := "trigger trg_audit on " + name + ".child writes " + name + ".audit, which is not restored"

	t.Run("foreign key outside the selection refused", func(t *testing.T) {
		restoreUnchanged(t, dst, []string{name}, "a refused restore", func() {
			rep, err := Restore(t.Context(), s.dst, s.bucket, res.ID, Options{Tables: []string{child}, DryRun: true})
			if !errors.Is(err, ErrBadSelection) || !strings.Contains(err.Error(), "foreign key fk_parent references "+name+".parent") || !strings.Contains(err.Error(), "--without-foreign-keys") {
				t.Errorf("dry run: err %v", err)
			}
			if !hasWarning(rep, fkLine) || !hasWarning(rep, trgLine) {
				t.Errorf("dry-run warnings %q; want %q and %q", rep.Warnings, fkLine, trgLine)
			}
			_, err = Restore(t.Context(), s.dst, s.bucket, res.ID, Options{Tables: []string{child}})
			if !errors.Is(err, ErrBadSelection) || !strings.Contains(err.Error(), "fk_parent") || !strings.Contains(err.Error(), "nothing was changed") {
				t.Errorf("err %v", err)
			}
			if strings.Contains(err.Error(), "fk_self") {
				t.Errorf("the key to the table itself is named: %v", err)
			}
		})
	})

	t.Run("without foreign keys", func(t *testing.T) {
		rep, err := Restore(t.Context(), s.dst, s.bucket, res.ID, Options{Tables: []string{child}, WithoutForeignKeys: true})
		if err != nil {
			t.Fatal(err)
		}
		want := strings.Replace(showCreate(src, name, "child"), ",\n  CONSTRAINT `fk_parent` FOREIGN KEY (`pid`) REFERENCES `parent` (`id`)", "", 1)
		if got := showCreate(dst, name, "child"); got != want || !strings.Contains(got, "fk_self") {
			t.Errorf("SHOW CREATE TABLE:\n%s\nwant\n%s", got, want)
		}
		if !hasWarning(rep, fkLine+"; left out (--without-foreign-keys)") || !hasWarning(rep, trgLine) {
			t.Errorf("warnings %q", rep.Warnings)
		}
		if got := restoreQueryStrings(t, dst, "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?", name); !reflect.DeepEqual(got, []string{"trg_audit"}) {
			t.Errorf("triggers %q", got)
		}
		// The key to parent is gone, so a new row is taken.
		if _, err := dst.ExecContext(t.Context(), "INSERT INTO "+sqltext.QuoteIdent(name)+".child (id, pid) VALUES (9, 99)"); err == nil {
			t.Errorf("the trigger writes a table the target lacks, yet the insert passed")
		}
	})

	t.Run("without triggers", func(t *testing.T) {
		rep, err := Restore(t.Context(), s.dst, s.bucket, res.ID, Options{Tables: []string{child}, WithoutForeignKeys: true, WithoutTriggers: true, DropExisting: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := restoreQueryStrings(t, dst, "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?", name); len(got) != 0 {
			t.Errorf("triggers %q restored with --without-triggers", got)
		}
		if hasWarning(rep, trgLine) || !hasWarning(rep, "trigger trg_audit on "+name+".child: left out (--without-triggers)") {
			t.Errorf("warnings %q", rep.Warnings)
		}
		if _, err := dst.ExecContext(t.Context(), "INSERT INTO "+sqltext.QuoteIdent(name)+".child (id, pid) VALUES (9, 99)"); err != nil {
			t.Errorf("insert into the restored table: %v", err)
		}
	})

	t.Run("referenced table on the target keeps the key", func(t *testing.T) {
		if _, err := Restore(t.Context(), s.dst, s.bucket, res.ID, Options{Tables: []string{name + ".parent"}}); err != nil {
			t.Fatal(err)
		}
		rep, err := Restore(t.Context(), s.dst, s.bucket, res.ID, Options{Tables: []string{child}, DropExisting: true, WithoutTriggers: true})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := showCreate(dst, name, "child"), showCreate(src, name, "child"); got != want {
			t.Errorf("SHOW CREATE TABLE:\n%s\nwant\n%s", got, want)
		}
		if !hasWarning(rep, fkLine+"; kept: the target has "+name+".parent") {
			t.Errorf("warnings %q", rep.Warnings)
		}
	})

	t.Run("into another database beside the live table", func(t *testing.T) {
		// The live table on the target has moved on since the backup.
		if _, err := Restore(t.Context(), s.dst, s.bucket, res.ID, Options{Tables: []string{name + ".lone"}}); err != nil {
			t.Fatal(err)
		}
		backedUp := restoreQueryStrings(t, src, "SELECT * FROM "+sqltext.QuoteIdent(name)+".lone ORDER BY id")
		if _, err := dst.ExecContext(t.Context(), "UPDATE "+sqltext.QuoteIdent(name)+".lone SET v = 'live' WHERE id = 2"); err != nil {
			t.Fatal(err)
		}
		live := func() []string {
			return restoreQueryStrings(t, dst, "SELECT * FROM "+sqltext.QuoteIdent(name)+".lone ORDER BY id")
		}
		before := live()
		rep, err := Restore(t.Context(), s.dst, s.bucket, res.ID, Options{Tables: []string{name + ".lone"}, Into: into, DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Plan) != 1 || rep.Plan[0] != (PlannedObject{Kind: "table", Database: into, Name: "lone", Rows: 3}) || !reflect.DeepEqual(rep.Databases, []string{into}) {
			t.Errorf("dry-run plan %+v", rep.Plan)
		}
		if got := restoreQueryStrings(t, dst, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", into); len(got) != 0 {
			t.Errorf("the dry run created %s", into)
		}
		if _, err := Restore(t.Context(), s.dst, s.bucket, res.ID, Options{Tables: []string{name + ".lone"}, Into: into}); err != nil {
			t.Fatal(err)
		}
		if got := restoreQueryStrings(t, dst, "SELECT * FROM "+sqltext.QuoteIdent(into)+".lone ORDER BY id"); !reflect.DeepEqual(got, backedUp) {
			t.Errorf("rows under --into %q, want the backup's %q", got, backedUp)
		}
		if got := restoreQueryStrings(t, dst, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", into); !reflect.DeepEqual(got, []string{"lone"}) {
			t.Errorf("--into holds %q", got)
		}
		if after := live(); !reflect.DeepEqual(after, before) || reflect.DeepEqual(after, backedUp) {
			t.Errorf("the live table changed: %q, was %q", after, before)
		}
	})

	t.Run("into: keys and triggers follow the new database", func(t *testing.T) {
		opts := Options{Tables: []string{child}, Into: into, DryRun: true}
		rep, err := Restore(t.Context(), s.dst, s.bucket, res.ID, opts)
		intoFK := into + ".child: foreign key fk_parent references " + into + ".parent (" + name + ".parent in the backup), which is not restored"
		if !errors.Is(err, ErrBadSelection) || !hasWarning(rep, intoFK) {
			t.Errorf("err %v, warnings %q; want %q", err, rep.Warnings, intoFK)
		}
		if !hasWarning(rep, "trigger trg_audit on "+into+".child names database "+name+" in its body") {
			t.Errorf("warnings %q", rep.Warnings)
		}
		if !reflect.DeepEqual(rep.Plan[1:], []PlannedObject{{Kind: "trigger", Database: into, Name: "trg_audit"}}) {
			t.Errorf("plan %+v", rep.Plan)
		}
		// With parent restored alongside, the key holds and points at the copy.
		opts = Options{Tables: []string{child, name + ".parent"}, Into: into}
		if _, err := Restore(t.Context(), s.dst, s.bucket, res.ID, opts); err != nil {
			t.Fatal(err)
		}
		if got := showCreate(dst, into, "child"); !strings.Contains(got, "REFERENCES `parent` (`id`)") {
			t.Errorf("SHOW CREATE TABLE %s.child: %s", into, got)
		}
		var stmt string
		if err := dst.QueryRowContext(context.Background(), "SELECT ACTION_STATEMENT FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? AND TRIGGER_NAME = 'trg_audit'", into).Scan(&stmt); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(stmt, name) || !strings.Contains(stmt, into) {
			t.Errorf("the copy's trigger: %s", stmt)
		}
	})
}

// FuzzRestoreForeignKeys: whatever the statement, reading its foreign keys and triggers does not
// fail, leaving none out changes nothing, and leaving all out leaves none.
func FuzzRestoreForeignKeys(f *testing.F) {
	f.Add("CREATE TABLE `t` (\n  `id` int,\n  CONSTRAINT `fk` FOREIGN KEY (`id`) REFERENCES `p` (`id`)\n)")
	f.Add("CREATE TABLE t (CONSTRAINT a FOREIGN KEY (x) REFERENCES d.p (y), x int, CONSTRAINT")
	f.Add("CREATE TABLE t (x int DEFAULT ')', CONSTRAINT `b,c` FOREIGN KEY (x) REFERENCES `p``q` (y) /* ) */)")
	f.Add("CREATE TRIGGER x AFTER INSERT ON t FOR EACH ROW INSERT INTO a.b SELECT * FROM (SELECT 1) d JOIN e")
	f.Fuzz(func(t *testing.T, stmt string) {
		triggerUses(stmt)
		triggerName(stmt)
		fks := foreignKeys(stmt)
		if got := withoutForeignKeys(stmt, map[string]bool{}); got != stmt {
			t.Fatalf("leaving out nothing changed %q to %q", stmt, got)
		}
		all := map[string]bool{}
		for _, fk := range fks {
			all[fk.name] = true
		}
		if left := foreignKeys(withoutForeignKeys(stmt, all)); len(fks) > 0 && len(left) > 0 {
			t.Fatalf("%q without its keys still has %v", stmt, left)
		}
	})
}
