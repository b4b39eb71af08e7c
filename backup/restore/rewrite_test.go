package restore

import (
	"strings"
	"testing"

	"github.com/backupctl/backupctl/backup/sqltext"
)

func TestRestoreRewriteQualifier(t *testing.T) {
	tests := []struct{ in, want string }{
		{"CREATE VIEW `v` AS select `sakila`.`film`.`film_id` AS `film_id` from `sakila`.`film`",
			"CREATE VIEW `v` AS select `copy`.`film`.`film_id` AS `film_id` from `copy`.`film`"},
		{"SELECT * FROM sakila.film", "SELECT * FROM `copy`.film"},
		{"SELECT * FROM sakila . film", "SELECT * FROM `copy` . film"},
		{"USE `sakila`", "USE `copy`"},
		{"use sakila", "use `copy`"},
		// Not a qualifier: a table or column that shares the name, and strings and comments.
		{"SELECT `sakila` FROM t", "SELECT `sakila` FROM t"},
		{"SELECT t.`sakila`.x FROM t", "SELECT t.`sakila`.x FROM t"},
		{"SELECT 'sakila.film', \"`sakila`.x\" -- sakila.film\n", "SELECT 'sakila.film', \"`sakila`.x\" -- sakila.film\n"},
		{"SELECT 1 /* sakila.film */", "SELECT 1 /* sakila.film */"},
		{"SELECT sakilax.film, xsakila.film", "SELECT sakilax.film, xsakila.film"},
		// Executable comments are code.
		{"/*!50003 CREATE*/ /*!50003 TRIGGER `t` BEFORE INSERT ON `a` FOR EACH ROW INSERT INTO `sakila`.`log` VALUES (1) */",
			"/*!50003 CREATE*/ /*!50003 TRIGGER `t` BEFORE INSERT ON `a` FOR EACH ROW INSERT INTO `copy`.`log` VALUES (1) */"},
		{"SELECT 'it''s', sakila.f('a\\'', `b``c`)", "SELECT 'it''s', `copy`.f('a\\'', `b``c`)"},
	}
	for _, tt := range tests {
		if got := rewriteQualifier(tt.in, "sakila", "copy"); got != tt.want {
			t.Errorf("rewrite(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
	// Names that need quoting on both sides.
	if got := rewriteQualifier("SELECT * FROM `we``ird`.`t`", "we`ird", "new`one"); got != "SELECT * FROM `new``one`.`t`" {
		t.Errorf("backtick names: got %q", got)
	}
}

func TestRestoreTriggerTable(t *testing.T) {
	for _, tc := range []struct {
		in    string
		table string
		ok    bool
	}{
		{"CREATE DEFINER=`root`@`localhost` TRIGGER `trg` BEFORE INSERT ON `child` FOR EACH ROW BEGIN SET NEW.a = 1; END", "child", true},
		{"CREATE DEFINER=`a b`@`%` trigger `x``y` after update on `we``ird` for each row set @x = 'ON `other`'", "we`ird", true},
		{"CREATE OR REPLACE TRIGGER IF NOT EXISTS db.t1 AFTER DELETE ON db.`tab` FOR EACH ROW DELETE FROM x", "tab", true},
		{"/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER `t` BEFORE INSERT ON `on` FOR EACH ROW SET @a=1 */", "on", true},
		{"CREATE DEFINER=`root`@`localhost` PROCEDURE `trigger`() SELECT 1", "", false},
		{"CREATE ALGORITHM=UNDEFINED VIEW `v` AS SELECT 'TRIGGER x BEFORE INSERT ON t'", "", false},
		{"SET SQL_MODE = 'TRIGGER'", "", false},
	} {
		table, ok := triggerTable(tc.in, sqltext.Mode{})
		if table != tc.table || ok != tc.ok {
			t.Errorf("restoreTriggerTable(%q) = %q, %v; want %q, %v", tc.in, table, ok, tc.table, tc.ok)
		}
	}
}

func FuzzRestoreRewrite(f *testing.F) {
	for _, s := range []string{"SELECT * FROM `db`.`t`", "USE db", "/*!50003 CREATE*/ TRIGGER x BEFORE INSERT ON `db`.t FOR EACH ROW SET @a='db.t'", "SELECT `a``b`.c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if got := rewriteQualifier(in, "db", "db"); got != in {
			t.Fatalf("renaming db to itself changed %q to %q", in, got)
		}
		out := rewriteQualifier(in, "db", "n")
		if !strings.Contains(in, "db") && out != in {
			t.Fatalf("rewrote %q without the name in it: %q", in, out)
		}
		triggerTable(in, sqltext.Mode{})
	})
}
