package binlog

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"strings"
	"testing"
	"time"
)

// realFDE is the format description event of a MariaDB 10.11 binlog (binlog_checksum=CRC32).
const realFDE = "KNgLaw8BAAAA/AAAAAABAAAAAAQAMTAuMTEuMTktTWFyaWFEQi0wK2RlYjEydTEtbG9nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEzgNAAgAEgAEBAQEEgAA5AAEGggAAAAICAgCAAAACgoKAAAAAAAACgoKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEEwQADQgICAoKCgGwwHSW"

// mkEvent builds an event with a CRC-32: header, body, checksum.
func mkEvent(typ byte, ts uint32, body []byte) event {
	e := make([]byte, headerSize, headerSize+len(body)+4)
	binary.LittleEndian.PutUint32(e, ts)
	e[4] = typ
	binary.LittleEndian.PutUint32(e[5:], 1)
	binary.LittleEndian.PutUint32(e[9:], uint32(headerSize+len(body)+4))
	e = append(e, body...)
	return binary.LittleEndian.AppendUint32(e, crc32.ChecksumIEEE(e))
}

func gtidEv(seq uint64, flags byte, ts uint32) event {
	b := binary.LittleEndian.AppendUint64(nil, seq)
	b = binary.LittleEndian.AppendUint32(b, 0)
	return mkEvent(typeGTID, ts, append(b, flags, 0, 0, 0, 0, 0, 0))
}

func queryEv(db, q string, ts uint32, status []byte) event {
	b := binary.LittleEndian.AppendUint32(nil, 42) // thread id
	b = binary.LittleEndian.AppendUint32(b, 0)     // exec time
	b = append(b, byte(len(db)), 0, 0)             // db length, error code
	b = binary.LittleEndian.AppendUint16(b, uint16(len(status)))
	b = append(b, status...)
	b = append(b, db...)
	b = append(b, 0)
	return mkEvent(typeQuery, ts, append(b, q...))
}

func xidEv(ts uint32) event { return mkEvent(typeXID, ts, make([]byte, 8)) }

// segmentOf is a binlog file of events after the real format description.
func segmentOf(t *testing.T, evs ...event) []byte {
	t.Helper()
	fde, err := base64.StdEncoding.DecodeString(realFDE)
	if err != nil {
		t.Fatal(err)
	}
	out := append(bytes.Clone(Magic), fde...)
	for _, e := range evs {
		out = append(out, e...)
	}
	return out
}

type recorder struct{ stmts []string }

func (r *recorder) ExecContext(_ context.Context, q string, _ ...any) (sql.Result, error) {
	r.stmts = append(r.stmts, q)
	return nil, nil
}

// QueryRowContext is not used by these events.
func (r *recorder) QueryRowContext(context.Context, string, ...any) *sql.Row { return nil }

func TestParseState(t *testing.T) {
	st, err := ParseState("1-2-7,0-1-42")
	if err != nil || st.String() != "0-1-42,1-2-7" {
		t.Fatalf("ParseState: %v %v", st, err)
	}
	if !st.Contains(GTID{0, 1, 42}) || st.Contains(GTID{0, 1, 43}) || st.Contains(GTID{5, 1, 1}) {
		t.Errorf("Contains is wrong for %s", st)
	}
	small, _ := ParseState("0-1-40")
	if !st.Covers(small) || small.Covers(st) {
		t.Errorf("Covers is wrong")
	}
	for _, bad := range []string{"0-1", "a-1-2", "0-1-2-3", "0-1-x"} {
		if _, err := ParseGTID(bad); err == nil {
			t.Errorf("ParseGTID(%q) accepted", bad)
		}
	}
}

func TestParseSession(t *testing.T) {
	sv := []byte{qFlags2}
	sv = binary.LittleEndian.AppendUint32(sv, 1<<26) // foreign_key_checks=0
	sv = append(sv, qSQLMode)
	sv = binary.LittleEndian.AppendUint64(sv, 1411383296)
	sv = append(sv, qCharset, 33, 0, 33, 0, 8, 0, qTimeZone, 6)
	sv = append(sv, "+02:00"...)
	sv = append(sv, qHRNow, 0x40, 0x42, 0x0f) // 0x0f4240 microseconds
	s, err := parseSession(sv)
	if err != nil {
		t.Fatal(err)
	}
	sets := strings.Join(s.sets(session{}, true), ", ")
	for _, want := range []string{"@@session.foreign_key_checks=0", "@@session.unique_checks=1", "@@session.sql_mode=1411383296",
		"@@session.character_set_client=33", "@@session.collation_server=8", "@@session.time_zone='+02:00'", "@@session.collation_database=DEFAULT"} {
		if !strings.Contains(sets, want) {
			t.Errorf("session SET %q lacks %s", sets, want)
		}
	}
	if s.usec != 1000000 {
		t.Errorf("microseconds %d", s.usec)
	}
	if again := s.sets(s, false); len(again) != 0 {
		t.Errorf("unchanged session sets %v again", again)
	}
	if _, err := parseSession([]byte{99, 1, 2}); err == nil {
		t.Errorf("an unknown status variable was accepted")
	}
}

// TestApplierStatements: a statement transaction is replayed with its GTID, session and
// database; the base backup's transactions and other databases' are skipped; an event kind
// replay does not handle is refused.
func TestApplierStatements(t *testing.T) {
	seg := segmentOf(t,
		gtidEv(5, 0, 100), queryEv("shop", "INSERT INTO t VALUES (0)", 100, nil), xidEv(100), // in the base backup
		gtidEv(6, 0, 101), queryEv("shop", "INSERT INTO t VALUES (1)", 101, nil), xidEv(101),
		gtidEv(7, gtidStandalone, 102), queryEv("other", "CREATE TABLE x (i INT)", 102, nil),
		gtidEv(8, gtidStandalone, 103), queryEv("", "CREATE TABLE shop.y (i INT)", 103, nil),
		gtidEv(9, gtidStandalone, 104), queryEv("shop", "GRANT SELECT ON shop.* TO 'u'@'%'", 104, nil),
	)
	r := &recorder{}
	from, _ := ParseState("0-1-5")
	a := &applier{exec: r, dbs: map[string]bool{"shop": true}, from: from}
	if err := feed(context.Background(), a, bytes.NewReader(seg)); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(r.stmts, "\n")
	want := strings.Join([]string{
		"SET @@session.gtid_domain_id=0, @@session.server_id=1, @@session.gtid_seq_no=6",
		"START TRANSACTION",
		"SET TIMESTAMP=101, @@session.collation_database=DEFAULT, @@session.pseudo_thread_id=42",
		"USE `shop`",
		"INSERT INTO t VALUES (1)",
		"COMMIT",
		"SET @@session.gtid_domain_id=0, @@session.server_id=1, @@session.gtid_seq_no=8",
		"SET TIMESTAMP=103",
		"CREATE TABLE shop.y (i INT)",
	}, "\n")
	if got != want {
		t.Errorf("statements:\n%s\nwant:\n%s", got, want)
	}
	if a.counts.Transactions != 2 || a.counts.Skipped != 3 || a.counts.SkippedAccounts != 1 || a.lastGTID.Seq != 9 {
		t.Errorf("counts %+v, last %v", a.counts, a.lastGTID)
	}

	bad := segmentOf(t, gtidEv(9, 0, 104), mkEvent(26, 104, []byte{1, 0, 0}), xidEv(104))
	err := feed(context.Background(), &applier{}, bytes.NewReader(bad))
	if err == nil || !strings.Contains(err.Error(), "type 26") {
		t.Errorf("an incident event was not refused: %v", err)
	}
	if err := feed(context.Background(), &applier{}, bytes.NewReader(seg[:len(seg)-3])); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("a truncated segment was not refused: %v", err)
	}
	flipped := bytes.Clone(seg)
	flipped[len(flipped)-10] ^= 1
	if err := feed(context.Background(), &applier{}, bytes.NewReader(flipped)); err == nil || !strings.Contains(err.Error(), "CRC-32") {
		t.Errorf("a changed event was not refused: %v", err)
	}
}

// TestApplierStopsAtTime: a scan to a time target ends before the first transaction committed
// after it, and notices a base backup that already holds one.
func TestApplierStopsAtTime(t *testing.T) {
	seg := segmentOf(t,
		gtidEv(1, 0, 100), queryEv("d", "INSERT INTO t VALUES (1)", 100, nil), xidEv(100),
		gtidEv(2, 0, 200), queryEv("d", "INSERT INTO t VALUES (2)", 200, nil), xidEv(200),
		gtidEv(3, 0, 300), queryEv("d", "INSERT INTO t VALUES (3)", 300, nil), xidEv(300),
	)
	at := time.Unix(250, 0)
	a := &applier{stop: stopRule{time: &at}, from: State{}}
	if err := feed(context.Background(), a, bytes.NewReader(seg)); err != nil {
		t.Fatal(err)
	}
	if a.lastGTID == nil || a.lastGTID.Seq != 2 || !a.done {
		t.Errorf("scan to %s ended at %v (done %v), want 0-1-2", at, a.lastGTID, a.done)
	}
	from, _ := ParseState("0-1-2")
	at = time.Unix(150, 0)
	a = &applier{stop: stopRule{time: &at}, from: from}
	if err := feed(context.Background(), a, bytes.NewReader(seg)); err != nil {
		t.Fatal(err)
	}
	if a.lateInBase == nil || a.lateInBase.Seq != 2 {
		t.Errorf("a base backup holding 0-1-2 (after %s) was not noticed", at)
	}
}
