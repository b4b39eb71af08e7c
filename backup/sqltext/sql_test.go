package sqltext

import (
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
		k    ValueKind
		want string
	}{
		{nil, KindString, "NULL"},
		{nil, KindHex, "NULL"},
		{[]byte{}, KindString, "''"},
		{[]byte{}, KindHex, "''"}, // an empty BLOB stays empty, not NULL
		{[]byte("NULL"), KindString, "'NULL'"},
		{[]byte("a'b\\c\x00d\ne\rf\x1ag"), KindString, `'a\'b\\c\0d\ne\rf\Zg'`},
		{[]byte{0xff, 0x00, 0x27}, KindHex, "0xff0027"},
		{[]byte("18446744073709551615"), KindNumber, "18446744073709551615"},
		{[]byte("3.4028234663852886e38"), KindFloat, "3.4028234663852886e38"},
		{[]byte("é\xe9"), KindString, "'é\xe9'"}, // raw bytes, whatever the charset
		{[]byte("::1"), KindTyped, "_utf8mb4'::1'"},
	} {
		if got := string(AppendValue(nil, c.v, c.k)); got != c.want {
			t.Errorf("appendValue(%q, %d) = %q, want %q", c.v, c.k, got, c.want)
		}
	}
}

func TestKindOf(t *testing.T) {
	for typ, want := range map[string]ValueKind{
		"int": KindNumber, "BIGINT": KindNumber, "decimal": KindNumber, "double": KindNumber,
		"float": KindFloat, "blob": KindHex, "varbinary": KindHex, "bit": KindHex, "point": KindHex,
		"geometry": KindHex, "varchar": KindString, "json": KindString, "datetime": KindString,
		"uuid": KindTyped, "inet6": KindTyped, "inet4": KindTyped, "enum": KindEnum, "set": KindString,
	} {
		if got := KindOf(typ); got != want {
			t.Errorf("kindOf(%q) = %d, want %d", typ, got, want)
		}
	}
}

func TestCommentSafe(t *testing.T) {
	if got := CommentSafe("10.11.19-MariaDB"); got != "10.11.19-MariaDB" {
		t.Errorf("plain: %q", got)
	}
	if got := CommentSafe("a\n\\! rm"); got != "0x610a5c2120726d" {
		t.Errorf("unsafe: %q", got)
	}
}

func TestHexInvalidLiterals(t *testing.T) {
	for in, want := range map[string]string{
		"CREATE TABLE `d` (`c` char(2) DEFAULT 'é')":                                  "CREATE TABLE `d` (`c` char(2) DEFAULT 'é')",
		"CREATE TABLE `d` (`vb` varbinary(4) DEFAULT '\xff\\0''', `x` int DEFAULT 1)": "CREATE TABLE `d` (`vb` varbinary(4) DEFAULT 0xff0027, `x` int DEFAULT 1)",
		"CREATE TABLE `a'\xff` (`b` binary(1) DEFAULT '\xfe') COMMENT='ü'":            "CREATE TABLE `a'\xff` (`b` binary(1) DEFAULT 0xfe) COMMENT='ü'",
	} {
		if got := HexInvalidLiterals(in); got != want {
			t.Errorf("hexInvalidLiterals(%q)\n = %q\nwant %q", in, got, want)
		}
	}
}
