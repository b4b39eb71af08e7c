package restore

import (
	"reflect"
	"strings"
	"testing"

	"github.com/backupctl/backupctl/backup/sqltext"
)

func TestRestoreDeferKeys(t *testing.T) {
	const sbtest = "CREATE TABLE `sbtest1` (\n" +
		"  `id` int(11) NOT NULL AUTO_INCREMENT,\n" +
		"  `k` int(11) NOT NULL DEFAULT 0,\n" +
		"  `c` char(120) NOT NULL DEFAULT '',\n" +
		"  PRIMARY KEY (`id`),\n" +
		"  UNIQUE KEY `c` (`c`),\n" +
		"  KEY `k_1` (`k`) COMMENT 'a, (b)',\n" +
		"  KEY `kc` (`k`,`c`(10)) IGNORED\n" +
		") ENGINE=InnoDB AUTO_INCREMENT=7 DEFAULT CHARSET=latin1 COLLATE=latin1_swedish_ci"
	create, adds, ok := deferKeys(sbtest, sqltext.Mode{})
	if !ok {
		t.Fatal("sbtest: not deferred")
	}
	wantCreate := "CREATE TABLE `sbtest1` (\n" +
		"  `id` int(11) NOT NULL AUTO_INCREMENT,\n" +
		"  `k` int(11) NOT NULL DEFAULT 0,\n" +
		"  `c` char(120) NOT NULL DEFAULT '',\n" +
		"  PRIMARY KEY (`id`),\n" +
		"  UNIQUE KEY `c` (`c`)\n" +
		") ENGINE=InnoDB AUTO_INCREMENT=7 DEFAULT CHARSET=latin1 COLLATE=latin1_swedish_ci"
	if create != wantCreate {
		t.Errorf("create:\n%s\nwant:\n%s", create, wantCreate)
	}
	if want := []string{"ADD KEY `k_1` (`k`) COMMENT 'a, (b)'", "ADD KEY `kc` (`k`,`c`(10)) IGNORED"}; !reflect.DeepEqual(adds, want) {
		t.Errorf("adds %q, want %q", adds, want)
	}
	if got, want := addKeysSQL("d`b", "t", adds), "ALTER TABLE `d``b`.`t` ADD KEY `k_1` (`k`) COMMENT 'a, (b)', ADD KEY `kc` (`k`,`c`(10)) IGNORED"; got != want {
		t.Errorf("alter %q, want %q", got, want)
	}

	// Tables that keep every index in their CREATE.
	base := "CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  `a` int(11) DEFAULT NULL,\n  %s\n) ENGINE=InnoDB"
	for name, q := range map[string]string{
		"no plain key":   strings.Replace(base, "%s", "PRIMARY KEY (`id`)", 1),
		"foreign key":    strings.Replace(base, "%s", "KEY `a` (`a`),\n  CONSTRAINT `f` FOREIGN KEY (`a`) REFERENCES `p` (`id`)", 1),
		"fulltext":       "CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  `s` text,\n  KEY `i` (`id`),\n  FULLTEXT KEY `s` (`s`)\n) ENGINE=InnoDB",
		"spatial":        "CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  `g` point NOT NULL,\n  KEY `i` (`id`),\n  SPATIAL KEY `g` (`g`)\n) ENGINE=InnoDB",
		"myisam":         strings.Replace(strings.Replace(base, "%s", "KEY `a` (`a`)", 1), "InnoDB", "MyISAM", 1),
		"partitioned":    strings.Replace(base, "%s", "KEY `a` (`a`)", 1) + "\n PARTITION BY HASH (`id`)\nPARTITIONS 2",
		"versioned":      strings.Replace(base, "%s", "KEY `a` (`a`)", 1) + " WITH SYSTEM VERSIONING",
		"auto_increment": "CREATE TABLE `t` (\n  `id` int(11) NOT NULL AUTO_INCREMENT,\n  `a` int(11),\n  PRIMARY KEY (`a`),\n  KEY `id` (`id`)\n) ENGINE=InnoDB",
		"key first":      "CREATE TABLE `t` (KEY `a` (`a`), `a` int) ENGINE=InnoDB",
		"sequence":       "CREATE SEQUENCE `s` start with 1 minvalue 1 maxvalue 9 increment by 1 cache 1000 nocycle ENGINE=InnoDB",
	} {
		if c, a, ok := deferKeys(q, sqltext.Mode{}); ok {
			t.Errorf("%s: deferred: %q, %q", name, c, a)
		}
	}
}
