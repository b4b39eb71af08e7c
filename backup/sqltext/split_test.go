package sqltext_test

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/backupctl/backupctl/backup/internal/backuptest"
	"github.com/backupctl/backupctl/backup/sqltext"
)

func splitSQL(t testing.TB, in string) []string {
	t.Helper()
	sts, err := backuptest.SplitAll(t, strings.NewReader(in))
	if err != nil {
		t.Fatalf("split: %v", err)
	}
	out := make([]string, 0, len(sts))
	for _, st := range sts {
		out = append(out, st.SQL)
	}
	return out
}

func TestSplitStatements(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"simple", "SELECT 1;\nSELECT 2;\n", []string{"SELECT 1", "SELECT 2"}},
		{"no final delimiter", "SELECT 1;\nSELECT 2", []string{"SELECT 1", "SELECT 2"}},
		{"empty statements", ";;\n ; SELECT 1;;", []string{"SELECT 1"}},
		{"semicolon in strings", `INSERT INTO t VALUES ('a;b',"c;d",'e\';f','g'';h');`,
			[]string{`INSERT INTO t VALUES ('a;b',"c;d",'e\';f','g'';h')`}},
		{"backslash at string end", `SELECT 'a\\';SELECT 2;`, []string{`SELECT 'a\\'`, "SELECT 2"}},
		{"backticks with semicolon newline and doubled backtick",
			"CREATE TABLE `a;b\n``c` (`x;` int);SELECT 1;",
			[]string{"CREATE TABLE `a;b\n``c` (`x;` int)", "SELECT 1"}},
		{"backslash is literal in backticks", "SELECT `a\\`;SELECT 2;", []string{"SELECT `a\\`", "SELECT 2"}},
		{"leading comments skipped", "-- header; not a statement\n# hash; comment\n/* block; */ SELECT 1;\n-- backupctl dump completed x\n",
			[]string{"SELECT 1"}},
		{"double dash without blank is not a comment", "SELECT 1--1;", []string{"SELECT 1--1"}},
		{"comment inside a statement", "SELECT 1 -- one; two\n + 2;", []string{"SELECT 1 -- one; two\n + 2"}},
		{"block comment inside a statement", "SELECT 1 /* ; */ + 2;", []string{"SELECT 1 /* ; */ + 2"}},
		{"executable comment is content", "/*!40101 SET NAMES utf8mb4 */;\n/*M!100316 SET x=1 */;",
			[]string{"/*!40101 SET NAMES utf8mb4 */", "/*M!100316 SET x=1 */"}},
		{"delimiter in executable comment ends the statement as in the client", "/*!50003 SET @a='x;y' */;",
			[]string{"/*!50003 SET @a='x;y' */"}},
		{"DELIMITER lines", "DELIMITER ;;\nCREATE PROCEDURE p() BEGIN SELECT 1; SELECT 'DELIMITER ;'; END ;;\ndelimiter ;\nSELECT 2;",
			[]string{"CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 'DELIMITER ;'; END", "SELECT 2"}},
		{"DELIMITER inside a string is data", "INSERT INTO t VALUES ('\nDELIMITER ;;\n');SELECT 1;",
			[]string{"INSERT INTO t VALUES ('\nDELIMITER ;;\n')", "SELECT 1"}},
		{"DELIMITER word as identifier prefix", "DELIMITERS;", []string{"DELIMITERS"}},
		{"multi-char delimiter", "DELIMITER $$\nSELECT 1$$ SELECT '$$'$$\nDELIMITER ;\n", []string{"SELECT 1", "SELECT '$$'"}},
		{"CRLF", "SELECT 1;\r\nSELECT 2;\r\n", []string{"SELECT 1", "SELECT 2"}},
		{"hash in string", "SELECT '#';SELECT \"-- x\";", []string{"SELECT '#'", `SELECT "-- x"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkSplit(t, tt.in, tt.want) })
	}
}

// checkSplit checks that in splits into want, whole and read one byte at a time: refills
// happen everywhere and must not change anything.
func checkSplit(t *testing.T, in string, want []string) {
	t.Helper()
	if got := splitSQL(t, in); !reflect.DeepEqual(got, want) {
		t.Errorf("split(%q)\n got %q\nwant %q", in, got, want)
	}
	sts, err := backuptest.SplitAll(t, iotest.OneByteReader(strings.NewReader(in)))
	if err != nil {
		t.Fatal(err)
	}
	var got1 []string
	for _, st := range sts {
		got1 = append(got1, st.SQL)
	}
	if !reflect.DeepEqual(got1, want) {
		t.Errorf("one byte at a time: got %q", got1)
	}
}

func TestSplitOffsets(t *testing.T) {
	in := "-- c\nSELECT 1;\n\n  /* x */ SELECT 'a;b';\nDELIMITER ;;\nSELECT 3;;\n"
	sts, err := backuptest.SplitAll(t, strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(sts) != 3 {
		t.Fatalf("got %d statements", len(sts))
	}
	for _, st := range sts {
		if !strings.HasPrefix(in[st.Offset:], st.SQL) {
			t.Errorf("statement %q: offset %d points at %q", st.SQL, st.Offset, in[st.Offset:])
		}
		if st.End > int64(len(in)) || st.End <= st.Offset {
			t.Errorf("statement %q: end %d", st.SQL, st.End)
		}
	}
	// A base offset shifts every offset: ranged reads start mid-stream.
	s := sqltext.NewSplitter(strings.NewReader(in), 1000)
	st, err := s.Next()
	if err != nil || st.Offset != 1005 {
		t.Errorf("with base 1000: offset %d, err %v; want 1005", st.Offset, err)
	}
}

func TestSplitUnclosed(t *testing.T) {
	for _, in := range []string{"SELECT 'abc", "SELECT `abc", "SELECT 1 /* x", "/* x"} {
		if _, err := backuptest.SplitAll(t, strings.NewReader(in)); err == nil {
			t.Errorf("split(%q): no error for an unclosed quote or comment", in)
		}
	}
}

func TestSplitLimit(t *testing.T) {
	s := sqltext.NewSplitter(strings.NewReader("SELECT '"+strings.Repeat("x", 100)+"';"), 0)
	s.Max = 50
	if _, err := s.Next(); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("over the limit: err %v", err)
	}
}

func TestSplitReadError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("SELECT 1;SELECT 2"), iotest.ErrReader(boom))
	sts, err := backuptest.SplitAll(t, r)
	if !errors.Is(err, boom) {
		t.Fatalf("err %v, want boom", err)
	}
	// The statement cut by the error must not be returned as if it were complete.
	if len(sts) != 1 {
		t.Errorf("got %d statements before the error, want 1", len(sts))
	}
}

func TestSplitLargeStatement(t *testing.T) {
	// A huge row: one statement of tens of MiB, with escapes throughout.
	var b bytes.Buffer
	b.WriteString("INSERT INTO `t` VALUES ('")
	chunk := strings.Repeat(`ab\'c;d`, 1000)
	for b.Len() < 20<<20 {
		b.WriteString(chunk)
	}
	b.WriteString("');\nSELECT 1;\n")
	want := b.Len() - len(";\nSELECT 1;\n")
	sts, err := backuptest.SplitAll(t, &b)
	if err != nil {
		t.Fatal(err)
	}
	if len(sts) != 2 || len(sts[0].SQL) != want {
		t.Fatalf("got %d statements, first %d bytes; want 2, %d", len(sts), len(sts[0].SQL), want)
	}
}

func FuzzSplit(f *testing.F) {
	for _, s := range []string{
		"SELECT 1;", "DELIMITER ;;\nCREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW BEGIN SET @a=';'; END;;\nDELIMITER ;\n",
		"INSERT INTO `a``b` VALUES ('x\\'y;', \"q;\");", "/*!40101 SET @x=1*/;-- c\n#d\nSELECT 2",
		"SELECT 1 /* ; */;", "DELIMITER $$\n$$", "--\n;",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		whole, errWhole := backuptest.SplitAll(t, strings.NewReader(in))
		bytewise, errByte := backuptest.SplitAll(t, iotest.OneByteReader(strings.NewReader(in)))
		if (errWhole == nil) != (errByte == nil) || !reflect.DeepEqual(whole, bytewise) {
			t.Fatalf("buffering changes the result:\n%v %v\n%v %v", whole, errWhole, bytewise, errByte)
		}
		var prev int64
		for _, st := range whole {
			if st.Offset < prev || st.End < st.Offset || st.End > int64(len(in)) {
				t.Fatalf("offsets out of order: %+v after %d", st, prev)
			}
			if !strings.HasPrefix(in[st.Offset:], st.SQL) {
				t.Fatalf("statement %q is not at its offset %d", st.SQL, st.Offset)
			}
			prev = st.End
		}
	})
}

func BenchmarkSplit(b *testing.B) {
	var buf bytes.Buffer
	for buf.Len() < 8<<20 {
		buf.WriteString("INSERT INTO `t` (`id`, `name`, `n`) VALUES ")
		for i := 0; i < 1000; i++ {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString("(12345,'some text with \\'quotes\\' and ; inside',3.14159)")
		}
		buf.WriteString(";\n")
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		s := sqltext.NewSplitter(bytes.NewReader(data), 0)
		for {
			if _, err := s.Next(); err != nil {
				break
			}
		}
	}
}

func TestSplitFollowsSession(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"NO_BACKSLASH_ESCAPES: a backslash ends nothing",
			"SET SQL_MODE = 'NO_BACKSLASH_ESCAPES';\nSELECT 'x\\', ';';\nSELECT 2;",
			[]string{"SET SQL_MODE = 'NO_BACKSLASH_ESCAPES'", "SELECT 'x\\', ';'", "SELECT 2"}},
		{"back to escapes", "SET SESSION sql_mode='NO_BACKSLASH_ESCAPES';SET sql_mode = '';SELECT 'a\\';b';",
			[]string{"SET SESSION sql_mode='NO_BACKSLASH_ESCAPES'", "SET sql_mode = ''", "SELECT 'a\\';b'"}},
		{"version comment form", "/*!40101 SET SQL_MODE='NO_BACKSLASH_ESCAPES' */;SELECT '\\';",
			[]string{"/*!40101 SET SQL_MODE='NO_BACKSLASH_ESCAPES' */", "SELECT '\\'"}},
		{"ANSI_QUOTES: double quotes are an identifier", "SET sql_mode='ANSI_QUOTES';SELECT \"a\\\";SELECT 2;",
			[]string{"SET sql_mode='ANSI_QUOTES'", "SELECT \"a\\\"", "SELECT 2"}},
		{"ORACLE implies ANSI_QUOTES", "SET sql_mode='ORACLE';SELECT \"a\\\";SELECT 2;",
			[]string{"SET sql_mode='ORACLE'", "SELECT \"a\\\"", "SELECT 2"}},
		{"cp932 second byte 0x5C is no escape", "SET NAMES cp932;SELECT '\x95\\';SELECT 2;",
			[]string{"SET NAMES cp932", "SELECT '\x95\\'", "SELECT 2"}},
		{"sjis second byte 0x60 is no backtick", "SET CHARACTER_SET_CLIENT = 'sjis';SELECT \x95`;SELECT 2;",
			[]string{"SET CHARACTER_SET_CLIENT = 'sjis'", "SELECT \x95`", "SELECT 2"}},
		{"utf8mb4: the same bytes escape", "SELECT '\xc3\\';x';", []string{"SELECT '\xc3\\';x'"}},
		{"sandbox line skipped", sqltext.SandboxLine + "\n-- c\nSELECT 1;", []string{"SELECT 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkSplit(t, tt.in, tt.want) })
	}
}

// sjisPair reports whether b[i:] starts with a two-byte sjis/cp932 character.
func sjisPair(b []byte, i int) bool {
	if i+1 >= len(b) {
		return false
	}
	c, d := b[i], b[i+1]
	return ((c >= 0x81 && c <= 0x9f) || (c >= 0xe0 && c <= 0xfc)) && ((d >= 0x40 && d <= 0x7e) || (d >= 0x80 && d <= 0xfc))
}

// quoteFor writes body between quotes q as a client writes a literal for a server in the given
// session: the quote doubled, backslashes doubled where they escape; two-byte characters whole.
func quoteFor(body []byte, q byte, escapes, sjis bool) string {
	out := []byte{q}
	for i := 0; i < len(body); i++ {
		if sjis && sjisPair(body, i) {
			out = append(out, body[i], body[i+1])
			i++
			continue
		}
		if sjis && body[i] >= 0x80 {
			// a lone lead byte could pair with what follows: leave it out of the literal
			continue
		}
		switch c := body[i]; {
		case c == q:
			out = append(out, q, q)
		case c == '\\' && escapes:
			out = append(out, '\\', '\\')
		default:
			out = append(out, c)
		}
	}
	return string(append(out, q))
}

// FuzzSplitSession: whatever a literal or identifier holds, written as a client writes it for
// the session's sql_mode and character set, the splitter never cuts inside it.
func FuzzSplitSession(f *testing.F) {
	f.Add([]byte("x\\' # ';; INSERT INTO o.t VALUES (1)"), true, false, false)
	f.Add([]byte("a\"b\\\";c"), false, true, false)
	f.Add([]byte("\x95\\\x95`;'"), false, false, true)
	f.Add([]byte("\x95\\';\x81`"), true, true, true)
	f.Fuzz(func(t *testing.T, body []byte, nbe, ansi, sjis bool) {
		mode := []string{}
		if nbe {
			mode = append(mode, "NO_BACKSLASH_ESCAPES")
		}
		if ansi {
			mode = append(mode, "ANSI_QUOTES")
		}
		cs := "utf8mb4"
		if sjis {
			cs = "cp932"
		}
		str := quoteFor(body, '\'', !nbe, sjis)
		dq := quoteFor(body, '"', !nbe && !ansi, sjis)
		bq := quoteFor(body, '`', false, sjis)
		stmts := []string{
			"SET SQL_MODE = '" + strings.Join(mode, ",") + "'",
			"SET NAMES " + cs,
			"SELECT " + str + " AS " + bq,
			"SELECT " + dq,
			"SELECT 2",
		}
		in := strings.Join(stmts, ";\n") + ";\n"
		got := splitSQL(t, in)
		if !reflect.DeepEqual(got, stmts) {
			t.Fatalf("split(%q)\n got %q\nwant %q", in, got, stmts)
		}
		sts, err := backuptest.SplitAll(t, iotest.OneByteReader(strings.NewReader(in)))
		if err != nil || len(sts) != len(stmts) {
			t.Fatalf("one byte at a time: %v, %d statements", err, len(sts))
		}
		for i, st := range sts {
			if st.SQL != stmts[i] {
				t.Fatalf("one byte at a time: %q, want %q", st.SQL, stmts[i])
			}
		}
	})
}
