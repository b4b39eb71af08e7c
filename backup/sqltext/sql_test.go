package backup

import (
	"strings"
	"testing"
)

func TestQuoteIdent(t *testing.T) {
	for in, want := range map[string]string{
		"plain":             "`plain`",
		"a`b":               "`a``b`",
		"``":                "``````",
		"x\n\\! touch /tmp": "`x\n\\! touch /tmp`",
		"it's \"q\"":        "`it's \"q\"`",
	} {
		if got := QuoteIdent(in); got != want {
			t.Errorf("QuoteIdent(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAppendValue(t *testing.T) {
	for _, c := range []struct {
		v    []byte
		k    valueKind
		want string
	}{
		{nil, kindString, "NULL"},
		{nil, kindHex, "NULL"},
		{[]byte{}, kindString, "''"},
		{[]byte{}, kindHex, "''"}, // an empty BLOB stays empty, not NULL
		{[]byte("NULL"), kindString, "'NULL'"},
		{[]byte("a'b\\c\x00d\ne\rf\x1ag"), kindString, `'a\'b\\c\0d\ne\rf\Zg'`},
		{[]byte{0xff, 0x00, 0x27}, kindHex, "0xff0027"},
		{[]byte("18446744073709551615"), kindNumber, "18446744073709551615"},
		{[]byte("3.4028234663852886e38"), kindFloat, "3.4028234663852886e38"},
		{[]byte("é\xe9"), kindString, "'é\xe9'"}, // raw bytes, whatever the charset
		{[]byte("::1"), kindTyped, "_utf8mb4'::1'"},
	} {
		if got := string(appendValue(nil, c.v, c.k)); got != c.want {
			t.Errorf("appendValue(%q, %d) = %q, want %q", c.v, c.k, got, c.want)
		}
	}
}

func TestKindOf(t *testing.T) {
	for typ, want := range map[string]valueKind{
		"int": kindNumber, "BIGINT": kindNumber, "decimal": kindNumber, "double": kindNumber,
		"float": kindFloat, "blob": kindHex, "varbinary": kindHex, "bit": kindHex, "point": kindHex,
		"geometry": kindHex, "varchar": kindString, "json": kindString, "datetime": kindString,
		"uuid": kindTyped, "inet6": kindTyped, "inet4": kindTyped, "enum": kindEnum, "set": kindString,
	} {
		if got := kindOf(typ); got != want {
			t.Errorf("kindOf(%q) = %d, want %d", typ, got, want)
		}
	}
}

func TestCommentSafe(t *testing.T) {
	if got := commentSafe("10.11.19-MariaDB"); got != "10.11.19-MariaDB" {
		t.Errorf("plain: %q", got)
	}
	if got := commentSafe("a\n\\! rm"); got != "0x610a5c2120726d" {
		t.Errorf("unsafe: %q", got)
	}
}

func TestOrderViews(t *testing.T) {
	vs := []*objInfo{
		{Name: "a", deps: []string{"c"}},
		{Name: "b"},
		{Name: "c", deps: []string{"b"}},
		{Name: "x", deps: []string{"y"}},
		{Name: "y", deps: []string{"x"}}, // a false cycle: broken in name order
	}
	var got []string
	for _, v := range orderViews(vs) {
		got = append(got, v.Name)
	}
	want := "b c a x y"
	if s := strings.Join(got, " "); s != want {
		t.Errorf("order %q, want %q", s, want)
	}
}

func TestOrderDatabases(t *testing.T) {
	dbs := []*dbInfo{
		{Name: "a", viewDefs: []string{"select `c`.`t`.`x` AS `x` from `c`.`t`"}},
		{Name: "b"},
		{Name: "c", viewDefs: []string{"select `b`.`t`.`x` AS `x` from `b`.`t`"}},
	}
	var got []string
	for _, d := range orderDatabases(dbs) {
		got = append(got, d.Name)
	}
	if s := strings.Join(got, " "); s != "b c a" {
		t.Errorf("order %q, want b c a", s)
	}
}

func TestHexInvalidLiterals(t *testing.T) {
	for in, want := range map[string]string{
		"CREATE TABLE `d` (`c` char(2) DEFAULT 'é')":                                  "CREATE TABLE `d` (`c` char(2) DEFAULT 'é')",
		"CREATE TABLE `d` (`vb` varbinary(4) DEFAULT '\xff\\0''', `x` int DEFAULT 1)": "CREATE TABLE `d` (`vb` varbinary(4) DEFAULT 0xff0027, `x` int DEFAULT 1)",
		"CREATE TABLE `a'\xff` (`b` binary(1) DEFAULT '\xfe') COMMENT='ü'":            "CREATE TABLE `a'\xff` (`b` binary(1) DEFAULT 0xfe) COMMENT='ü'",
	} {
		if got := hexInvalidLiterals(in); got != want {
			t.Errorf("hexInvalidLiterals(%q)\n = %q\nwant %q", in, got, want)
		}
	}
}
