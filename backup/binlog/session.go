package binlog

import (
	"encoding/binary"
	"fmt"

	"github.com/backupctl/backupctl/backup/sqltext"
)

// Query event status variable codes (MariaDB's log_event.h).
const (
	qFlags2          = 0
	qSQLMode         = 1
	qCatalog         = 2
	qAutoIncrement   = 3
	qCharset         = 4
	qTimeZone        = 5
	qCatalogNZ       = 6
	qLCTimeNames     = 7
	qCharsetDatabase = 8
	qTableMapForUpd  = 9
	qMasterDataWrit  = 10
	qInvoker         = 11
	qHRNow           = 128
	qXID             = 129
	qGTIDFlags3      = 130
)

// session is the context a statement ran in on the source, read from its query event's status
// variables: what mariadb-binlog prints as SET statements before the query.
type session struct {
	flags2       uint32
	hasFlags2    bool
	sqlMode      uint64
	hasSQLMode   bool
	autoIncInc   uint16
	autoIncOff   uint16
	hasAutoInc   bool
	charset      [3]uint16 // character_set_client, collation_connection, collation_server
	hasCharset   bool
	timeZone     string
	hasTimeZone  bool
	lcTimeNames  uint16
	hasLCTime    bool
	charsetDB    uint16
	hasCharsetDB bool
	usec         uint32
	hasUsec      bool
}

// parseSession reads the status variables; an unknown code is an error, since its length (and
// so everything after it) is unknown.
func parseSession(b []byte) (session, error) {
	var s session
	short := fmt.Errorf("query event status variables cut short")
	need := func(n int) bool { return len(b) >= n }
	for len(b) > 0 {
		code := b[0]
		b = b[1:]
		switch code {
		case qFlags2:
			if !need(4) {
				return s, short
			}
			s.flags2, s.hasFlags2, b = binary.LittleEndian.Uint32(b), true, b[4:]
		case qSQLMode:
			if !need(8) {
				return s, short
			}
			s.sqlMode, s.hasSQLMode, b = binary.LittleEndian.Uint64(b), true, b[8:]
		case qCatalog:
			if !need(1) || !need(2+int(b[0])) {
				return s, short
			}
			b = b[2+int(b[0]):]
		case qAutoIncrement:
			if !need(4) {
				return s, short
			}
			s.autoIncInc, s.autoIncOff, s.hasAutoInc = binary.LittleEndian.Uint16(b), binary.LittleEndian.Uint16(b[2:]), true
			b = b[4:]
		case qCharset:
			if !need(6) {
				return s, short
			}
			for i := range 3 {
				s.charset[i] = binary.LittleEndian.Uint16(b[2*i:])
			}
			s.hasCharset, b = true, b[6:]
		case qTimeZone:
			if !need(1) || !need(1+int(b[0])) {
				return s, short
			}
			s.timeZone, s.hasTimeZone = string(b[1:1+int(b[0])]), true
			b = b[1+int(b[0]):]
		case qCatalogNZ:
			if !need(1) || !need(1+int(b[0])) {
				return s, short
			}
			b = b[1+int(b[0]):]
		case qLCTimeNames:
			if !need(2) {
				return s, short
			}
			s.lcTimeNames, s.hasLCTime, b = binary.LittleEndian.Uint16(b), true, b[2:]
		case qCharsetDatabase:
			if !need(2) {
				return s, short
			}
			s.charsetDB, s.hasCharsetDB, b = binary.LittleEndian.Uint16(b), true, b[2:]
		case qTableMapForUpd, qXID:
			if !need(8) {
				return s, short
			}
			b = b[8:]
		case qMasterDataWrit:
			if !need(4) {
				return s, short
			}
			b = b[4:]
		case qInvoker:
			if !need(1) || !need(2+int(b[0])) {
				return s, short
			}
			n := 1 + int(b[0])
			if !need(n + 1 + int(b[n])) {
				return s, short
			}
			b = b[n+1+int(b[n]):]
		case qHRNow:
			if !need(3) {
				return s, short
			}
			s.usec, s.hasUsec = uint32(b[0])|uint32(b[1])<<8|uint32(b[2])<<16, true
			b = b[3:]
		case qGTIDFlags3:
			if !need(1) {
				return s, short
			}
			b = b[1:]
		default:
			return s, fmt.Errorf("query event status variable %d is not one replay knows", code)
		}
	}
	return s, nil
}

// flags2 bits (sql_priv.h OPTION_*) and the session variable each sets, as mariadb-binlog
// prints them; inverted means the bit set turns the variable off.
var flags2Vars = []struct {
	bit      uint32
	name     string
	inverted bool
}{
	{1 << 26, "foreign_key_checks", true},
	{1 << 14, "sql_auto_is_null", false},
	{1 << 27, "unique_checks", true},
	{1 << 19, "autocommit", true},
	{1 << 15, "check_constraint_checks", true},
}

// sets returns the SET assignments that take the replay session from prev to s (all of them
// when first), or nothing when nothing changed.
func (s session) sets(prev session, first bool) []string {
	var out []string
	if s.hasFlags2 && (first || !prev.hasFlags2 || prev.flags2 != s.flags2) {
		for _, f := range flags2Vars {
			on := s.flags2&f.bit != 0
			if f.inverted {
				on = !on
			}
			out = append(out, fmt.Sprintf("@@session.%s=%d", f.name, b2i(on)))
		}
	}
	if s.hasSQLMode && (first || prev.sqlMode != s.sqlMode || !prev.hasSQLMode) {
		out = append(out, fmt.Sprintf("@@session.sql_mode=%d", s.sqlMode))
	}
	if s.hasAutoInc && (first || prev.autoIncInc != s.autoIncInc || prev.autoIncOff != s.autoIncOff) {
		out = append(out, fmt.Sprintf("@@session.auto_increment_increment=%d, @@session.auto_increment_offset=%d", s.autoIncInc, s.autoIncOff))
	}
	if s.hasCharset && (first || prev.charset != s.charset) {
		out = append(out, fmt.Sprintf("@@session.character_set_client=%d, @@session.collation_connection=%d, @@session.collation_server=%d", s.charset[0], s.charset[1], s.charset[2]))
	}
	if s.hasTimeZone && (first || prev.timeZone != s.timeZone) {
		out = append(out, "@@session.time_zone="+sqltext.QuoteString(s.timeZone))
	}
	if s.hasLCTime && (first || prev.lcTimeNames != s.lcTimeNames) {
		out = append(out, fmt.Sprintf("@@session.lc_time_names=%d", s.lcTimeNames))
	}
	if first || prev.charsetDB != s.charsetDB || prev.hasCharsetDB != s.hasCharsetDB {
		if s.hasCharsetDB {
			out = append(out, fmt.Sprintf("@@session.collation_database=%d", s.charsetDB))
		} else {
			out = append(out, "@@session.collation_database=DEFAULT")
		}
	}
	return out
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
