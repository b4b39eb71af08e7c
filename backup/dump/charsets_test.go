package dump_test

import (
	"database/sql"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/internal/dbtest"
)

// TestDumpExactCharsets: multi-byte character sets in table definitions. cp932 and eucjpms
// ENUM and SET members and defaults that SHOW CREATE TABLE prints alike (one character encoded
// twice), a utf8mb4 default outside utf8mb3 (printed '?'), and sjis, gbk and big5 characters
// with a backslash as their second byte in names, comments, defaults, CHECK constraints and
// rows come back byte for byte through restore and a stock replay.
func TestDumpExactCharsets(t *testing.T) {
	c := loadExact(t, "charsets.sql", []string{"@A@"}, []string{"exc_cs"})
	db := c.dbs[0]
	dump := c.sql(t)
	for _, want := range []string{
		"`e` enum(0x8790,0x81e0,0xed40,0xfa5c,0x955c) DEFAULT 0xed40,",
		"`s` set(0x81e0,0x8790,0x835c) DEFAULT NULL,",
		"`c` varchar(10) DEFAULT 0x8790 COMMENT '≒ 表 ソ',",
		"`plain` enum('表','ソ','能','') DEFAULT 'ソ',", // every member comes back from its text
		"`e` enum(0xadf0,0xa2e2) CHARACTER SET eucjpms COLLATE eucjpms_japanese_ci DEFAULT 0xadf0,",
		"`s` set(0xa2e2,0xadf0) CHARACTER SET eucjpms COLLATE eucjpms_japanese_ci DEFAULT 0xadf0,",
		"`u` varchar(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci DEFAULT 0xe28992f09f9880 COMMENT '?',",
		"`e` enum(0x8790,0x81e0) DEFAULT '≒',", // 0x81E0 comes back from its text
		"`e` enum(0xa1c3,0xa1c5,0xa55c) CHARACTER SET big5 COLLATE big5_chinese_ci DEFAULT 0xa1c5,",
		"`表` enum('表','ソ','能\\\\','''十') DEFAULT '能\\\\',",
	} {
		if !strings.Contains(dump, want) {
			t.Errorf("dump lacks %q", want)

		}
	}
	// The definitions are UTF-8 whatever the table's character set: no client can read a
	// backslash where a multi-byte character ends in 0x5C.
	for _, stmt := range strings.Split(dump, ";\n") {
		if i := strings.Index(stmt, "CREATE TABLE"); i >= 0 && !utf8.ValidString(stmt[i:]) {
			t.Errorf("table definition is not UTF-8: %q", stmt[i:])
		}
	}
	tables := []string{"cp_dup", "eucjpms_dup", "big5_unmapped", "表ソ能", "乗俓", "功許", "cp_mixed", "cp_expr"}
	want := map[string][]string{}
	for _, tb := range tables {
		want[tb] = storedStrings(t, c.src, db, tb)
	}
	if got := want["cp_dup"]; !slices.Contains(got, "e 1 8790") || !slices.Contains(got, "e 2 81E0") || !slices.Contains(got, "e default ED40") {
		t.Fatalf("storedStrings of cp_dup: %q", got)
	}
	check := func(how string) {
		t.Helper()
		for _, tb := range tables {
			if got := storedStrings(t, c.dst, db, tb); !slices.Equal(got, want[tb]) {
				t.Errorf("%s: members and defaults of %s differ:\n%q\n%q", how, tb, want[tb], got)
			}
		}
	}
	c.restoreAll(t)
	check("restore")
	// One table over the existing one, and the database under another name.
	if _, err := backup.Restore(t.Context(), c.dst.Config(), c.bucket, c.res.ID, backup.RestoreOptions{Tables: []string{db + ".cp_dup"}, DropExisting: true}); err != nil {
		t.Fatalf("Restore --table %s.cp_dup: %v", db, err)
	}
	check("table restore")
	into := dbtest.UniqueName("exc_into")
	t.Cleanup(func() { dropWithoutChecks(t, c.dst, into) })
	if _, err := backup.Restore(t.Context(), c.dst.Config(), c.bucket, c.res.ID, backup.RestoreOptions{Databases: []string{db}, Into: into}); err != nil {
		t.Fatalf("Restore --database %s --into %s: %v", db, into, err)
	}
	c.compare(t, db, into)
	for _, tb := range tables {
		if got := storedStrings(t, c.dst, into, tb); !slices.Equal(got, want[tb]) {
			t.Errorf("restore --into: members and defaults of %s differ:\n%q\n%q", tb, want[tb], got)
		}
	}
	c.dropTarget(t, c.dbs...)
	c.replay(t)
	check("stock replay")
}

// storedStrings returns, for every column of db.table, its default and its ENUM or SET
// members as the hex of the bytes the server stores ("col default HEX", "col N HEX"), read
// from a temporary copy of the table: SHOW CREATE TABLE prints them converted to utf8mb3.
func storedStrings(t *testing.T, s *dbtest.Server, db, table string) []string {
	t.Helper()
	conn, err := s.DB(t, db).Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	exec := func(q string) error {
		_, err := conn.ExecContext(t.Context(), q)
		return err
	}
	if err := exec("SET SESSION sql_mode = ''"); err != nil { // a row of defaults, NOT NULL columns without one included
		t.Fatal(err)
	}
	if err := exec("CREATE TEMPORARY TABLE strings_copy SELECT * FROM " + dbtest.QuoteIdent(table) + " LIMIT 0"); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.QueryContext(t.Context(), "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION", db, table)
	if err != nil {
		t.Fatal(err)
	}
	var cols, types []string
	for rows.Next() {
		var c, ty string
		if err := rows.Scan(&c, &ty); err != nil {
			t.Fatal(err)
		}
		cols, types = append(cols, c), append(types, ty)
	}
	rows.Close()
	var out []string
	// A row of defaults first; then each member by its number (ENUM) or bit (SET).
	if err := exec("INSERT INTO strings_copy () VALUES ()"); err != nil {
		t.Fatal(err)
	}
	for _, col := range cols {
		var v sql.NullString
		if err := conn.QueryRowContext(t.Context(), "SELECT HEX("+dbtest.QuoteIdent(col)+") FROM strings_copy").Scan(&v); err != nil {
			t.Fatalf("%s.%s: %v", table, col, err)
		}
		if !v.Valid {
			v.String = "NULL"
		}
		out = append(out, col+" default "+v.String)
	}
	for i, col := range cols {
		if types[i] != "enum" && types[i] != "set" {
			continue
		}
		q := dbtest.QuoteIdent(col)
		for n := 1; n < 64; n++ {
			v := n
			if types[i] == "set" {
				v = 1 << (n - 1)
			}
			// Past the last member the server stores the empty value, number 0, instead.
			var h string
			var got int
			if err := exec("DELETE FROM strings_copy"); err != nil {
				t.Fatal(err)
			}
			if err := exec("INSERT INTO strings_copy (" + q + ") VALUES (" + strconv.Itoa(v) + ")"); err != nil {
				t.Fatal(err)
			}
			if err := conn.QueryRowContext(t.Context(), "SELECT HEX("+q+"), "+q+" + 0 FROM strings_copy").Scan(&h, &got); err != nil {
				t.Fatal(err)
			}
			if got != v {
				break
			}
			out = append(out, col+" "+strconv.Itoa(n)+" "+h)
		}
	}
	return out
}
