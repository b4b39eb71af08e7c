// Package sampledata writes a deterministic sample database, a small web shop, as SQL for the
// stock mariadb client: the schema, a few hundred thousand rows, then the views, routines,
// triggers, events and a sequence. The same Options give the same bytes on every machine and
// every Go version (its random numbers come from its own splitmix64, not math/rand), so a test
// can compare two runs byte for byte and a demo needs nothing but a clone of the repository.
//
// The schema covers what a backup has to carry: foreign keys (one self-referencing), a
// composite primary key, a POINT column with a SPATIAL index, FULLTEXT indexes, ENUM and SET,
// BLOBs, DECIMAL, DOUBLE, DATE, DATETIME(6), TIMESTAMP(6), JSON, CHECK constraints, NULLs and
// empty strings, and utf8mb4 text with 4-byte characters. It has no generated columns: on
// MariaDB 10.11 CHECKSUM TABLE EXTENDED of a table with one varies between two tables of the
// same rows, which would make every checksum comparison of a restore flaky.
//
// Load it with
//
//	sampledata -database shop | mariadb --default-character-set=utf8mb4
//
// or without -database into the database the client selects (mariadb --database=NAME).
package sampledata

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
)

// Options choose what Generate writes. The zero value is seed 0 at scale 1.
type Options struct {
	// Seed picks the data; the same seed and scale give the same bytes.
	Seed uint64
	// Scale multiplies the row counts: 1 (or 0) is the default, about 455,000 rows and 52 MB of
	// SQL; 0.1 is a tenth of that, 10 ten times as much. Every table keeps at least one row.
	Scale float64
	// Database, when set, makes the output create that database if it is missing and USE it.
	// Empty, the output goes into whatever database the client has selected.
	Database string
}

// TableRows is how many rows Generate wrote into one table.
type TableRows struct {
	Table string
	Rows  int
}

// Stats describe what Generate wrote.
type Stats struct {
	Tables []TableRows // in the order the tables were filled
	Bytes  int64       // of SQL
}

// Rows is the total of Tables.
func (s Stats) Rows() int {
	n := 0
	for _, t := range s.Tables {
		n += t.Rows
	}
	return n
}

// Generate writes the sample database as SQL to w.
func Generate(w io.Writer, opt Options) (Stats, error) {
	scale := opt.Scale
	if scale == 0 {
		scale = 1
	}
	if scale < 0 || math.IsNaN(scale) || math.IsInf(scale, 0) || scale > 1000 {
		return Stats{}, fmt.Errorf("sampledata: scale %v is out of range (0 < scale <= 1000)", opt.Scale)
	}
	cw := &countingWriter{w: w}
	g := &gen{
		w:     bufio.NewWriterSize(cw, 1<<20),
		rng:   rng{state: opt.Seed ^ 0x5eed_da7a_0b5e_55ed},
		scale: scale,
	}
	g.printf("-- backupctl sample data: a small web shop. seed %d, scale %s.\n", opt.Seed, strconv.FormatFloat(scale, 'g', -1, 64))
	g.printf("-- Written by internal/sampledata; the same seed and scale give the same bytes.\n")
	g.print(preamble)
	if opt.Database != "" {
		q := quoteIdent(opt.Database)
		g.printf("CREATE DATABASE IF NOT EXISTS %s CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;\nUSE %s;\n", q, q)
	}
	g.print(schema)
	g.data()
	g.print(objects)
	g.printf("DO SETVAL(invoice_numbers, %d);\n", 100000+g.invoices)
	g.print(postamble)
	if err := g.w.Flush(); err != nil && g.err == nil {
		g.err = err
	}
	return Stats{Tables: g.stats, Bytes: cw.n}, g.err
}

// quoteIdent quotes a MariaDB identifier with backticks.
func quoteIdent(s string) string {
	b := []byte{'`'}
	for i := 0; i < len(s); i++ {
		if s[i] == '`' {
			b = append(b, '`')
		}
		b = append(b, s[i])
	}
	return string(append(b, '`'))
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// rng is splitmix64: tiny, fast, and defined here so its sequence never changes under us.
type rng struct{ state uint64 }

func (r *rng) u64() uint64 {
	r.state += 0x9e3779b97f4a7c15
	z := r.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// intn returns a number in [0, n); n > 0. The modulo bias is below 2^-40 for our n.
func (r *rng) intn(n int) int { return int(r.u64() % uint64(n)) }

// between returns a number in [lo, hi].
func (r *rng) between(lo, hi int) int { return lo + r.intn(hi-lo+1) }

// chance is true with probability pct/100.
func (r *rng) chance(pct int) bool { return r.intn(100) < pct }

// tier returns 0 with probability bounds[0] percent, i with bounds[i]-bounds[i-1] percent, and
// len(bounds) with the rest; bounds ascend.
func (r *rng) tier(bounds ...int) int {
	p := r.intn(100)
	for i, b := range bounds {
		if p < b {
			return i
		}
	}
	return len(bounds)
}

// float returns a number in [0, 1) with 53 random bits.
func (r *rng) float() float64 { return float64(r.u64()>>11) / (1 << 53) }

func pick[T any](r *rng, xs []T) T { return xs[r.intn(len(xs))] }

// gen holds the output and the state shared by the tables.
type gen struct {
	w     *bufio.Writer
	err   error
	rng   rng
	scale float64
	stats []TableRows

	// What later tables refer to.
	customers, products, orders, stores, categories int
	addrOf                                          []int32 // customer id -> first address id (0: none)
	price                                           []int64 // product id -> price in cents
	invoices                                        int
}

func (g *gen) print(s string) {
	if g.err == nil {
		_, g.err = g.w.WriteString(s)
	}
}

func (g *gen) printf(format string, args ...any) {
	if g.err == nil {
		_, g.err = fmt.Fprintf(g.w, format, args...)
	}
}

// n scales a default row count, never below 1.
func (g *gen) n(base int) int {
	return max(1, int(math.Round(float64(base)*g.scale)))
}

// maxStatement bounds one INSERT, well under the server's and client's max_allowed_packet.
const maxStatement = 256 << 10

// inserter writes the rows of one table as multi-row INSERT statements.
type inserter struct {
	g     *gen
	head  string
	stmt  []byte
	rows  int
	first bool // the next value is the first of its row
}

func (g *gen) insert(table, columns string) *inserter {
	return &inserter{g: g, head: "INSERT INTO " + table + " (" + columns + ") VALUES\n", stmt: make([]byte, 0, maxStatement+64<<10)}
}

// row starts a row.
func (in *inserter) row() *inserter {
	if len(in.stmt) == 0 {
		in.stmt = append(in.stmt, in.head...)
		in.stmt = append(in.stmt, '(')
	} else {
		in.stmt = append(in.stmt, ",\n("...)
	}
	in.first = true
	in.rows++
	return in
}

// end closes a row and writes the statement once it is large enough.
func (in *inserter) end() {
	in.stmt = append(in.stmt, ')')
	if len(in.stmt) >= maxStatement {
		in.flush()
	}
}

func (in *inserter) flush() {
	if len(in.stmt) == 0 {
		return
	}
	in.stmt = append(in.stmt, ";\n"...)
	if in.g.err == nil {
		_, in.g.err = in.g.w.Write(in.stmt)
	}
	in.stmt = in.stmt[:0]
}

// done writes what is left, commits, and records the row count.
func (in *inserter) done(table string) {
	in.flush()
	in.g.print("COMMIT;\n")
	in.g.stats = append(in.g.stats, TableRows{Table: table, Rows: in.rows})
}

func (in *inserter) sep() {
	if !in.first {
		in.stmt = append(in.stmt, ',')
	}
	in.first = false
}

func (in *inserter) int(v int) *inserter {
	in.sep()
	in.stmt = strconv.AppendInt(in.stmt, int64(v), 10)
	return in
}

func (in *inserter) null() *inserter {
	in.sep()
	in.stmt = append(in.stmt, "NULL"...)
	return in
}

// raw appends an SQL expression as it is.
func (in *inserter) raw(s string) *inserter {
	in.sep()
	in.stmt = append(in.stmt, s...)
	return in
}

// str appends a string literal, escaped for the client's default sql_mode.
func (in *inserter) str(s string) *inserter {
	in.sep()
	in.stmt = appendQuoted(in.stmt, s)
	return in
}

// strOrNull appends NULL for a nil s.
func (in *inserter) strOrNull(s *string) *inserter {
	if s == nil {
		return in.null()
	}
	return in.str(*s)
}

func appendQuoted(b []byte, s string) []byte {
	b = append(b, '\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case 0:
			b = append(b, '\\', '0')
		case '\'':
			b = append(b, '\\', '\'')
		case '\\':
			b = append(b, '\\', '\\')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case 0x1a:
			b = append(b, '\\', 'Z')
		default:
			b = append(b, c)
		}
	}
	return append(b, '\'')
}

// dec appends v / 10^scale as an exact decimal literal.
func (in *inserter) dec(v int64, scale int) *inserter {
	in.sep()
	in.stmt = appendDecimal(in.stmt, v, scale)
	return in
}

func appendDecimal(b []byte, v int64, scale int) []byte {
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	p := int64(1)
	for range scale {
		p *= 10
	}
	b = strconv.AppendInt(b, v/p, 10)
	if scale > 0 {
		frac := strconv.AppendInt(nil, v%p+p, 10) // leading 1 keeps the zeros
		b = append(b, '.')
		b = append(b, frac[1:]...)
	}
	return b
}

// float appends a DOUBLE in its shortest exact form.
func (in *inserter) float(f float64) *inserter {
	in.sep()
	in.stmt = strconv.AppendFloat(in.stmt, f, 'g', -1, 64)
	return in
}

// blob appends bytes as a hex literal.
func (in *inserter) blob(p []byte) *inserter {
	in.sep()
	if len(p) == 0 {
		in.stmt = append(in.stmt, "''"...)
		return in
	}
	const hexdigits = "0123456789abcdef"
	in.stmt = append(in.stmt, "0x"...)
	for _, c := range p {
		in.stmt = append(in.stmt, hexdigits[c>>4], hexdigits[c&15])
	}
	return in
}

// Times are seconds after epoch, 2019-01-01 00:00:00 UTC.
var epoch = time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)

// datetime appends a DATETIME(6) literal for micro microseconds after epoch.
func (in *inserter) datetime(micro int64) *inserter {
	in.sep()
	t := epoch.Add(time.Duration(micro) * time.Microsecond)
	in.stmt = append(in.stmt, '\'')
	in.stmt = t.AppendFormat(in.stmt, "2006-01-02 15:04:05.000000")
	in.stmt = append(in.stmt, '\'')
	return in
}

// date appends a DATE literal for days after 1900-01-01.
func (in *inserter) date(days int) *inserter {
	in.sep()
	t := time.Date(1900, 1, 1+days, 0, 0, 0, 0, time.UTC)
	in.stmt = append(in.stmt, '\'')
	in.stmt = t.AppendFormat(in.stmt, "2006-01-02")
	in.stmt = append(in.stmt, '\'')
	return in
}

// point appends a POINT from longitude and latitude in millionths of a degree.
func (in *inserter) point(lonMicro, latMicro int64) *inserter {
	in.sep()
	in.stmt = append(in.stmt, "Point("...)
	in.stmt = appendDecimal(in.stmt, lonMicro, 6)
	in.stmt = append(in.stmt, ',')
	in.stmt = appendDecimal(in.stmt, latMicro, 6)
	in.stmt = append(in.stmt, ')')
	return in
}
