package sampledata

import (
	"bytes"
	"crypto/sha256"
	"strings"
	"testing"
	"unicode/utf8"
)

func generate(t *testing.T, opt Options) ([]byte, Stats) {
	t.Helper()
	var buf bytes.Buffer
	st, err := Generate(&buf, opt)
	if err != nil {
		t.Fatalf("Generate(%+v): %v", opt, err)
	}
	if st.Bytes != int64(buf.Len()) {
		t.Errorf("Stats.Bytes %d, wrote %d", st.Bytes, buf.Len())
	}
	return buf.Bytes(), st
}

// TestSameSeedSameBytes is the promise the demo and the round-trip tests rely on.
func TestSameSeedSameBytes(t *testing.T) {
	a, stA := generate(t, Options{Seed: 42})
	b, _ := generate(t, Options{Seed: 42})
	if !bytes.Equal(a, b) {
		t.Fatalf("seed 42 twice: %d and %d bytes, sha256 %x and %x", len(a), len(b), sha256.Sum256(a), sha256.Sum256(b))
	}
	c, _ := generate(t, Options{Seed: 43})
	if bytes.Equal(a, c) {
		t.Fatalf("seeds 42 and 43 gave the same %d bytes", len(a))
	}
	t.Logf("seed 42: %d rows, %d bytes, sha256 %x", stA.Rows(), len(a), sha256.Sum256(a))
}

// TestDefaultSize checks the default's size and that every row the stats count is in the output,
// one per line.
func TestDefaultSize(t *testing.T) {
	out, st := generate(t, Options{Seed: 1})
	if n := st.Rows(); n < 300_000 || n > 600_000 {
		t.Errorf("default: %d rows, want a few hundred thousand", n)
	}
	if len(st.Tables) != 13 {
		t.Errorf("default: %d tables filled, want 13: %+v", len(st.Tables), st.Tables)
	}
	for _, tr := range st.Tables {
		if tr.Rows < 1 {
			t.Errorf("table %s has no rows", tr.Table)
		}
	}
	if n := bytes.Count(out, []byte("\n(")); n != st.Rows() {
		t.Errorf("the output has %d row lines, the stats say %d rows", n, st.Rows())
	}
	if !utf8.Valid(out) {
		t.Errorf("the output is not valid UTF-8")
	}
	s := string(out)
	for _, want := range []string{"𠮷", "SPATIAL KEY", "FULLTEXT KEY", "CREATE EVENT", "CREATE TRIGGER", "CREATE VIEW",
		"CREATE PROCEDURE", "CREATE FUNCTION", "CREATE SEQUENCE", "Point(", ",NULL,", ",'',", "0x89504e47"} {
		if !strings.Contains(s, want) {
			t.Errorf("the output has no %q", want)
		}
	}
}

func TestScale(t *testing.T) {
	_, small := generate(t, Options{Seed: 1, Scale: 0.01})
	_, def := generate(t, Options{Seed: 1})
	if small.Rows()*50 > def.Rows() {
		t.Errorf("scale 0.01: %d rows, default %d", small.Rows(), def.Rows())
	}
	for _, tr := range small.Tables {
		if tr.Rows < 1 {
			t.Errorf("scale 0.01: table %s has no rows", tr.Table)
		}
	}
	out, _ := generate(t, Options{Seed: 1, Scale: 0.01, Database: "shop`x"})
	if !bytes.Contains(out, []byte("CREATE DATABASE IF NOT EXISTS `shop``x` CHARACTER SET utf8mb4")) || !bytes.Contains(out, []byte("USE `shop``x`;")) {
		t.Errorf("-database: no CREATE DATABASE and USE with the name quoted")
	}
	for _, bad := range []float64{-1, 1e9} {
		if _, err := Generate(&bytes.Buffer{}, Options{Scale: bad}); err == nil {
			t.Errorf("scale %v: no error", bad)
		}
	}
}

func TestQuoting(t *testing.T) {
	got := string(appendQuoted(nil, "a'b\\c\x00d\ne\rf\x1ag𠮷"))
	if want := `'a\'b\\c\0d\ne\rf\Zg𠮷'`; got != want {
		t.Errorf("appendQuoted: %s, want %s", got, want)
	}
	for _, c := range []struct {
		v     int64
		scale int
		want  string
	}{{0, 2, "0.00"}, {5, 2, "0.05"}, {-1234, 2, "-12.34"}, {13404954, 6, "13.404954"}, {-127758, 6, "-0.127758"}, {7, 0, "7"}} {
		if got := string(appendDecimal(nil, c.v, c.scale)); got != c.want {
			t.Errorf("appendDecimal(%d, %d) = %s, want %s", c.v, c.scale, got, c.want)
		}
	}
}
