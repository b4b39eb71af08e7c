package restore_test

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/backup/restore"
	"github.com/backupctl/backupctl/internal/dbtest"
)

// TestRestoreIndexesAfterRows restores tables created without their plain secondary indexes,
// added after the rows: the same SHOW CREATE TABLE and rows, UNIQUE and FOREIGN KEY checks
// still enforced, and the tables that must keep their indexes keep them.
func TestRestoreIndexesAfterRows(t *testing.T) {
	src, dst := dbtest.Source(t), dbtest.Target(t)
	b := restoreMinIO(t)
	restore.SetDeferMinBytes(t, 0)
	name := src.CreateDatabase(t, "rst_keys")
	rows := func(table, cols string, n int, row func(i int) string) string {
		var v []string
		for i := 1; i <= n; i++ {
			v = append(v, "("+row(i)+")")
		}
		return "INSERT INTO " + table + " (" + cols + ") VALUES " + strings.Join(v, ",")
	}
	src.Exec(t, "USE "+dbtest.QuoteIdent(name),
		"CREATE TABLE sb (id INT NOT NULL AUTO_INCREMENT, k INT NOT NULL DEFAULT 0, c CHAR(20) NOT NULL, u INT,"+
			" PRIMARY KEY (id), UNIQUE KEY u (u), KEY k (k) COMMENT 'k, (1)', KEY kc (k, c(4)) IGNORED, KEY c (c) USING BTREE) ENGINE=InnoDB",
		rows("sb", "k, c, u", 3000, func(i int) string { return fmt.Sprintf("%d, 'c%d', %d", (i*7919)%1000, i%97, i) }),
		"CREATE TABLE parent (id INT PRIMARY KEY, g INT, KEY g (g)) ENGINE=InnoDB",
		rows("parent", "id, g", 100, func(i int) string { return fmt.Sprintf("%d, %d", i, i%10) }),
		"CREATE TABLE child (id INT PRIMARY KEY, p INT, x INT, KEY x (x), CONSTRAINT fk FOREIGN KEY (p) REFERENCES parent (id)) ENGINE=InnoDB",
		rows("child", "id, p, x", 100, func(i int) string { return fmt.Sprintf("%d, %d, %d", i, i, i%3) }),
		"CREATE TABLE ai (id INT NOT NULL AUTO_INCREMENT, a INT NOT NULL, PRIMARY KEY (a), KEY id (id), KEY b (a, id)) ENGINE=InnoDB",
		rows("ai", "a", 50, func(i int) string { return fmt.Sprint(i) }),
		"CREATE TABLE mi (id INT PRIMARY KEY, k INT, KEY k (k)) ENGINE=MyISAM",
		rows("mi", "id, k", 50, func(i int) string { return fmt.Sprintf("%d, %d", i, i) }),
	)
	res, err := backup.Dump(t.Context(), src.Config(), b, backup.DumpOptions{Databases: []string{name}})
	if err != nil {
		t.Fatalf("dump: %v", err)
	}
	dst.DropAtEnd(t, name)
	var logs bytes.Buffer
	opts := backup.RestoreOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	if _, err := backup.Restore(t.Context(), dst.Config(), b, res.ID, opts); err != nil {
		t.Fatal(err)
	}
	dbtest.Compare(t, src, name, dst, name)
	for table, want := range map[string]bool{"sb": true, "parent": true, "child": false, "ai": false, "mi": false} {
		got := strings.Contains(logs.String(), "table="+table+" indexes=")
		if got != want {
			t.Errorf("table %s: created without its secondary indexes: %v, want %v", table, got, want)
		}
	}
	if !strings.Contains(logs.String(), "table=sb indexes=3") || !strings.Contains(logs.String(), "added secondary indexes") {
		t.Errorf("sb's three plain keys were not deferred and added:\n%s", logs.String())
	}
	t.Run("a worker loads the next table while the indexes of the last are added", func(t *testing.T) {
		into := name + "_aside"
		dst.DropAtEnd(t, into)
		// One worker: sb (the largest) is loaded first; its ALTER TABLE waits here until the
		// worker has sent a row of parent, which it can only do when the ALTER runs elsewhere.
		parentLoading := make(chan struct{})
		var once sync.Once
		restore.SetRestoreExecHook(t, func(_ *sql.Conn, q string) error {
			switch {
			case strings.HasPrefix(q, "INSERT INTO `parent`"):
				once.Do(func() { close(parentLoading) })
			case strings.HasPrefix(q, "ALTER TABLE") && strings.Contains(q, "`sb`"):
				select {
				case <-parentLoading:
				case <-time.After(time.Minute):
					return errors.New("no row of parent was sent in a minute while sb's indexes were being added")
				}
			}
			return nil
		})
		if _, err := backup.Restore(t.Context(), dst.Config(), b, res.ID, backup.RestoreOptions{Parallel: 1, Into: into}); err != nil {
			t.Fatal(err)
		}
		restoreCompareRenamed(t, src, name, dst, into)
	})
	t.Run("a failed ALTER TABLE fails the restore and names the table", func(t *testing.T) {
		into := name + "_alterfails"
		dst.DropAtEnd(t, into)
		restore.SetRestoreExecHook(t, func(_ *sql.Conn, q string) error {
			if strings.HasPrefix(q, "ALTER TABLE") && strings.Contains(q, "`parent`") {
				return &mysql.MySQLError{Number: 1114, Message: "The table 'parent' is full (injected)"}
			}
			return nil
		})
		rep, err := backup.Restore(t.Context(), dst.Config(), b, res.ID, backup.RestoreOptions{Parallel: 2, Into: into})
		if err == nil || !strings.Contains(err.Error(), "parent") || !strings.Contains(err.Error(), "adding its secondary indexes") || !strings.Contains(err.Error(), "partial") {
			t.Fatalf("restore with a failing ALTER TABLE: %v (report %+v), want an error naming parent's indexes and a partial target", err, rep)
		}
	})
	// The constraints hold on the restored tables.
	db := dst.DB(t, name)
	var me *mysql.MySQLError
	if _, err := db.ExecContext(t.Context(), "INSERT INTO sb (k, c, u) VALUES (1, 'x', 5)"); !errors.As(err, &me) || me.Number != 1062 {
		t.Errorf("a duplicate of UNIQUE u: %v, want error 1062", err)
	}
	if _, err := db.ExecContext(t.Context(), "INSERT INTO child VALUES (1000, 1000, 0)"); !errors.As(err, &me) || me.Number != 1452 {
		t.Errorf("a child row without its parent: %v, want error 1452", err)
	}
}
