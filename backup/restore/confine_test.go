package restore

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/backup/sqltext"
)

func TestRestoreConfine(t *testing.T) {
	db := &dbPlan{src: &format.Database{Name: "shop", Views: []string{"v", "v 2"}}, target: "shop_copy", whole: true}
	tbl := &format.Table{Name: "t"}
	secs := map[string]*section{
		kindAccounts: {kind: kindAccounts},
		kindHeader:   {kind: kindHeader},
		kindCreate:   {kind: kindCreate, db: db},
		kindSchema:   {kind: kindSchema, db: db, table: tbl},
		kindData:     {kind: kindData, db: db, table: tbl},
		kindPost:     {kind: kindPost, db: db},
		kindFooter:   {kind: kindFooter},
	}
	ei := func(s string) string { return sqltext.ExecuteImmediate([]byte(s), "utf8mb4") }
	nbe := sqltext.Mode{NoBackslashEscapes: true}
	tests := []struct {
		kind string
		mode sqltext.Mode
		sql  string
		ok   bool
	}{
		{kindHeader, sqltext.Mode{}, "SET NAMES utf8mb4", true},
		{kindHeader, sqltext.Mode{}, "/*M!100201 SET CHECK_CONSTRAINT_CHECKS = 0 */", true},
		{kindHeader, sqltext.Mode{}, "SET GLOBAL max_connections = 1", false},
		{kindHeader, sqltext.Mode{}, "SET @@global.read_only = 1", false},
		{kindHeader, sqltext.Mode{}, "SET sql_mode = (SELECT 1)", false},
		{kindHeader, sqltext.Mode{}, "SET PASSWORD = PASSWORD('x')", false},
		{kindHeader, sqltext.Mode{}, "SET STATEMENT max_statement_time=1 FOR GRANT ALL ON *.* TO x", false},
		{kindHeader, sqltext.Mode{}, "GRANT ALL ON *.* TO 'x'@'%'", false},
		{kindCreate, sqltext.Mode{}, "CREATE DATABASE `shop` /*!40100 DEFAULT CHARACTER SET utf8mb4 */", true},
		{kindCreate, sqltext.Mode{}, "USE `shop`", true},
		{kindCreate, sqltext.Mode{}, "USE `mysql`", false},
		{kindCreate, sqltext.Mode{}, "CREATE DATABASE `other`", false},
		{kindSchema, sqltext.Mode{}, "CREATE TABLE `t` (`a` int(11) DEFAULT NULL) ENGINE=InnoDB", true},
		{kindSchema, sqltext.Mode{}, "CREATE TABLE `shop`.`t` (`a` int)", true},
		{kindSchema, sqltext.Mode{}, "CREATE TABLE `other`.`t` (`a` int)", false},
		{kindSchema, sqltext.Mode{}, "CREATE TABLE `t2` (`a` int)", false},
		{kindSchema, sqltext.Mode{}, "CREATE TABLE `t` AS SELECT * FROM mysql.user", false},
		{kindSchema, sqltext.Mode{}, "CREATE TABLE `t` LIKE mysql.user", false},
		{kindSchema, sqltext.Mode{}, "CREATE USER x", false},
		{kindData, sqltext.Mode{}, "SET NAMES binary", true},
		{kindData, sqltext.Mode{}, "INSERT INTO `t` (`a`,`b`) VALUES\n(1,'x'),(-2,0xff),(NULL,_utf8mb4'u'),(3.5e3,'')", true},
		{kindData, sqltext.Mode{}, "INSERT INTO `shop`.`t` VALUES (1)", true},
		{kindData, sqltext.Mode{}, "INSERT INTO `other`.`t` VALUES (1)", false},
		{kindData, sqltext.Mode{}, "INSERT INTO `t2` VALUES (1)", false},
		{kindData, sqltext.Mode{}, "INSERT INTO `t` VALUES ((SELECT 1))", false},
		{kindData, sqltext.Mode{}, "INSERT INTO `t` VALUES (LOAD_FILE('/etc/passwd'))", false},
		{kindData, sqltext.Mode{}, "INSERT INTO `t` VALUES (1) ON DUPLICATE KEY UPDATE a = 2", false},
		{kindData, sqltext.Mode{}, "INSERT INTO `t` SELECT * FROM other.t", false},
		// One string with backslash escapes...
		{kindData, sqltext.Mode{}, "INSERT INTO `t` VALUES ('x\\'), (SLEEP(5)) -- ')", true},
		// The same bytes under NO_BACKSLASH_ESCAPES: the server sees a string, then SLEEP.
		{kindData, nbe, "INSERT INTO `t` VALUES ('x\\'), (SLEEP(5)) -- ')", false},
		{kindData, nbe, "INSERT INTO `t` VALUES ('x\\'), ('y')", true},
		{kindData, sqltext.Mode{}, "DO SETVAL(`t`, 5, 0, 0)", true},
		{kindData, sqltext.Mode{}, "DO SETVAL(`t`, (SELECT 1), 0, 0)", false},
		{kindData, sqltext.Mode{}, "SELECT * FROM t INTO OUTFILE '/tmp/x'", false},
		{kindData, sqltext.Mode{}, "LOAD DATA INFILE '/etc/passwd' INTO TABLE t", false},
		{kindData, sqltext.Mode{}, "\\! touch /tmp/x\nINSERT INTO t VALUES (1)", false},
		{kindPost, sqltext.Mode{}, "SET SQL_MODE = 'NO_BACKSLASH_ESCAPES'", true},
		{kindPost, sqltext.Mode{}, "ALTER DATABASE COLLATE 'utf8mb4_general_ci'", true},
		{kindPost, sqltext.Mode{}, "ALTER DATABASE `other` COLLATE 'utf8mb4_general_ci'", false},
		{kindPost, sqltext.Mode{}, ei("CREATE DEFINER=`u`@`%` PROCEDURE `p`() INSERT INTO other.t VALUES (1)"), true},
		{kindPost, sqltext.Mode{}, ei("CREATE DEFINER=`u`@`%` PROCEDURE `other`.`p`() SELECT 1"), false},
		{kindPost, sqltext.Mode{}, ei("CREATE ALGORITHM=UNDEFINED DEFINER=`u`@`%` SQL SECURITY DEFINER VIEW `v` AS select 1"), true},
		{kindPost, sqltext.Mode{}, ei("CREATE DEFINER=`u`@`%` TRIGGER `tr` BEFORE INSERT ON `t` FOR EACH ROW SET NEW.a = 1"), true},
		{kindPost, sqltext.Mode{}, ei("CREATE DEFINER=`u`@`%` TRIGGER `tr` BEFORE INSERT ON `other`.`t` FOR EACH ROW SET NEW.a = 1"), false},
		{kindPost, sqltext.Mode{}, ei("CREATE FUNCTION f RETURNS STRING SONAME 'evil.so'"), false},
		{kindPost, sqltext.Mode{}, ei("GRANT ALL ON *.* TO x"), false},
		{kindPost, sqltext.Mode{}, ei("CREATE USER x"), false},
		{kindPost, sqltext.Mode{}, "EXECUTE IMMEDIATE CONCAT('GRANT ', 'ALL ON *.* TO x')", false},
		{kindPost, sqltext.Mode{}, "CREATE DEFINER=`u`@`%` PROCEDURE `p`() BEGIN SELECT 1; END", true},
		{kindPost, sqltext.Mode{}, "CREATE USER 'x'@'%'", false},
		{kindFooter, sqltext.Mode{}, "SELECT 1", false},
		// The create section: the database, its routines in their session, stand-ins of its views.
		{kindCreate, sqltext.Mode{}, "SET SQL_MODE = 'NO_BACKSLASH_ESCAPES,ANSI_QUOTES'", true},
		{kindCreate, sqltext.Mode{}, "SET CHARACTER_SET_CLIENT = 'cp932'", true},
		{kindCreate, sqltext.Mode{}, "ALTER DATABASE COLLATE 'utf8mb4_general_ci'", true},
		{kindCreate, sqltext.Mode{}, ei("CREATE DEFINER=`u`@`%` PROCEDURE `p`() INSERT INTO other.t VALUES (1)"), true},
		{kindCreate, sqltext.Mode{}, ei("CREATE DEFINER=`u`@`%` FUNCTION `f`() RETURNS int RETURN 1"), true},
		{kindCreate, sqltext.Mode{}, ei("CREATE DEFINER=`u`@`%` PROCEDURE `other`.`p`() SELECT 1"), false},
		{kindCreate, sqltext.Mode{}, ei("CREATE ALGORITHM=UNDEFINED DEFINER=`u`@`%` SQL SECURITY DEFINER VIEW `v` AS select 1"), false},
		{kindCreate, sqltext.Mode{}, ei("CREATE DEFINER=`u`@`%` TRIGGER `tr` BEFORE INSERT ON `t` FOR EACH ROW SET NEW.a = 1"), false},
		// As dumps wrote routines here before EXECUTE IMMEDIATE, between DELIMITER lines.
		{kindCreate, sqltext.Mode{}, "CREATE DEFINER=`u`@`%` PROCEDURE `p`() BEGIN SELECT 1; END", true},
		{kindCreate, sqltext.Mode{}, "CREATE DEFINER=`u`@`%` EVENT `e` ON SCHEDULE EVERY 1 DAY DO SELECT 1", false},
		{kindCreate, sqltext.Mode{}, "CREATE VIEW `v` AS SELECT 1 AS `a`, 1 AS `b c`", true},
		{kindCreate, sqltext.Mode{}, "CREATE VIEW `v 2` AS SELECT 1 AS `a`", true},
		{kindCreate, sqltext.Mode{}, "CREATE VIEW `shop`.`v` AS SELECT 1 AS `a`", true},
		{kindCreate, sqltext.Mode{}, "CREATE VIEW `other`.`v` AS SELECT 1 AS `a`", false},
		{kindCreate, sqltext.Mode{}, "CREATE VIEW `w` AS SELECT 1 AS `a`", false},
		{kindCreate, sqltext.Mode{}, "CREATE VIEW `v` AS SELECT 1 AS `a` FROM mysql.user", false},
		{kindCreate, sqltext.Mode{}, "CREATE VIEW `v` AS SELECT LOAD_FILE('/etc/passwd') AS `a`", false},
		{kindCreate, sqltext.Mode{}, "CREATE DEFINER=`root`@`%` VIEW `v` AS SELECT 1 AS `a`", false},
		// Schema sections: a leading USE, the settings a table needs and their DEFAULT.
		{kindSchema, sqltext.Mode{}, "USE `shop`", true},
		{kindSchema, sqltext.Mode{}, "USE `mysql`", false},
		{kindSchema, sqltext.Mode{}, "SET SESSION innodb_strict_mode = 0", true},
		{kindSchema, sqltext.Mode{}, "SET SESSION innodb_strict_mode = DEFAULT", true},
		{kindSchema, sqltext.Mode{}, "SET SESSION max_heap_table_size = 33554432", true},
		{kindSchema, sqltext.Mode{}, "SET SESSION max_heap_table_size = DEFAULT", true},
		{kindSchema, sqltext.Mode{}, "SET GLOBAL innodb_strict_mode = 0", false},
		{kindSchema, sqltext.Mode{}, "SET SESSION max_heap_table_size = (SELECT 1)", false},
		{kindData, sqltext.Mode{}, "SET SESSION innodb_strict_mode = 0", false},
		{kindHeader, sqltext.Mode{}, "SET SESSION max_heap_table_size = 1", false},
		// Data sections: a leading USE, rows of a table whose every column is generated.
		{kindData, sqltext.Mode{}, "USE `shop`", true},
		{kindData, sqltext.Mode{}, "USE `other`", false},
		{kindData, sqltext.Mode{}, "INSERT INTO `t` () VALUES (),(),()", true},
		{kindData, sqltext.Mode{}, "INSERT INTO `t` () VALUES ((SELECT 1))", false},
		// Post sections: a leading USE.
		{kindPost, sqltext.Mode{}, "USE `shop`", true},
		{kindPost, sqltext.Mode{}, "USE `other`", false},
		// Accounts: the kinds of statement its own check then ties to the listed accounts.
		{kindAccounts, sqltext.Mode{}, "CREATE USER IF NOT EXISTS `u`@`%` IDENTIFIED BY PASSWORD '*0'", true},
		{kindAccounts, sqltext.Mode{}, "CREATE ROLE IF NOT EXISTS `r`", true},
		{kindAccounts, sqltext.Mode{}, "GRANT SELECT ON `shop`.* TO `u`@`%`", true},
		{kindAccounts, sqltext.Mode{}, "SET DEFAULT ROLE `r` FOR `u`@`%`", true},
		{kindAccounts, sqltext.Mode{}, "SET GLOBAL read_only = 1", false},
		{kindAccounts, sqltext.Mode{}, "DROP USER `u`@`%`", false},
		{kindAccounts, sqltext.Mode{}, "SELECT 1 INTO OUTFILE '/tmp/x'", false},
		// Only a create or post section changes how statements are lexed.
		{kindData, sqltext.Mode{}, "SET sql_mode = 'NO_BACKSLASH_ESCAPES'", false},
		{kindData, sqltext.Mode{}, "SET NAMES gbk", false},
		{kindHeader, sqltext.Mode{}, "SET SQL_MODE = 'ANSI'", false},
		{kindHeader, sqltext.Mode{}, "SET SQL_MODE = 'NO_AUTO_VALUE_ON_ZERO'", true},
		{kindPost, sqltext.Mode{}, "SET CHARACTER_SET_CLIENT = 'cp932'", true},
	}
	for _, tt := range tests {
		sec := secs[tt.kind]
		err := confine(sec, sqltext.Statement{SQL: tt.sql, Offset: 42, Mode: tt.mode})
		if (err == nil) != tt.ok {
			t.Errorf("%s section, %q (%+v): error %v, want ok %v", tt.kind, tt.sql, tt.mode, err, tt.ok)
			continue
		}
		if err != nil && (!strings.Contains(err.Error(), "offset 42") || !strings.Contains(err.Error(), "tampered with")) {
			t.Errorf("error %q does not name the offset and say why", err)
		}
	}
}

func TestRestoreStmtPreviewHidesValues(t *testing.T) {
	for _, q := range []string{
		"INSERT INTO `people` (`id`,`ssn`) VALUES\n(1,'123-45-6789')",
		"INSERT INTO `people` VALUES (1,'123-45-6789')",
		"DO SETVAL(`s`, 123456789, 0, 0)",
		sqltext.ExecuteImmediate([]byte("CREATE VIEW v AS SELECT '123-45-6789'"), "utf8mb4"),
	} {
		p := stmtPreview(q)
		if strings.Contains(p, "6789") {
			t.Errorf("preview %q of %q shows a value", p, q)
		}
	}
	if p := stmtPreview("INSERT INTO `people` (`id`,`ssn`) VALUES\n(1,'123-45-6789')"); p != "INSERT INTO `people` (`id`,`ssn`) VALUES ..." {
		t.Errorf("preview %q", p)
	}
}

func TestRestoreSectionsEndInDefaultSession(t *testing.T) {
	db := &dbPlan{src: &format.Database{Name: "shop"}, target: "shop", whole: true}
	post := "SET SQL_MODE = 'NO_BACKSLASH_ESCAPES';\n"
	next := "CREATE DATABASE `shop2`;\n"
	for _, tc := range []struct {
		name, post string
		ok         bool
	}{
		{"restored", post + "SET SQL_MODE = 'NO_AUTO_VALUE_ON_ZERO';\n", true},
		{"left changed", post, false},
		{"charset left changed", "SET CHARACTER_SET_CLIENT = 'gbk';\n", false},
	} {
		for _, alone := range []bool{false, true} {
			secs := []*section{{kind: kindPost, db: db, r: format.Range{RawLength: int64(len(tc.post))}}}
			raw := tc.post
			if !alone {
				secs = append(secs, &section{kind: kindCreate, db: db, r: format.Range{RawOffset: int64(len(tc.post)), RawLength: int64(len(next))}})
				raw += next
			}
			sp := &span{rawLength: int64(len(raw)), sections: secs}
			var ran []string
			err := splitApply(t.Context(), strings.NewReader(raw), sp, func(_ context.Context, st sqltext.Statement, _ *section) error {
				ran = append(ran, st.SQL)
				return nil
			})
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, format.ErrVerify)) {
				t.Errorf("%s (alone %v): err %v, want ok %v", tc.name, alone, err, tc.ok)
			}
			if !tc.ok && !alone && len(ran) > 1 {
				t.Errorf("%s: the next section's statement ran: %q", tc.name, ran)
			}
		}
	}
}

func TestRestoreWithholdValue(t *testing.T) {
	for _, tc := range []struct {
		err  *mysql.MySQLError
		want string
	}{
		{&mysql.MySQLError{Number: 1062, Message: "Duplicate entry '123-45-6789' for key 'PRIMARY'"}, "Duplicate entry '...' for key 'PRIMARY'"},
		{&mysql.MySQLError{Number: 1366, Message: "Incorrect integer value: 'it's 6789' for column `d`.`t`.`c` at row 1"}, "Incorrect integer value: '...' for column `d`.`t`.`c` at row 1"},
		{&mysql.MySQLError{Number: 1292, Message: "Truncated incorrect DOUBLE value: '6789x'"}, "Truncated incorrect DOUBLE value: '...'"},
		{&mysql.MySQLError{Number: 1142, Message: "INSERT command denied to user 'u'@'h' for table `d`.`t`"}, "INSERT command denied to user 'u'@'h' for table `d`.`t`"},
	} {
		err := stmtError(&section{kind: kindData}, sqltext.Statement{}, "INSERT INTO t VALUES (1)", tc.err)
		var me *mysql.MySQLError
		if !errors.As(err, &me) || me.Number != tc.err.Number || me.Message != tc.want {
			t.Errorf("%v: got %v, want message %q", tc.err, err, tc.want)
		}
	}
}
