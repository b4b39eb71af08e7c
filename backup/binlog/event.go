package binlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"
)

// Magic opens every binary log file.
var Magic = []byte{0xfe, 'b', 'i', 'n'}

// headerSize is the size of a v4 event header: timestamp, type, server id, event size, end
// position, flags.
const headerSize = 19

// Event types this package reads or refuses by name (MariaDB's log_event.h numbering).
const (
	typeQuery            = 2
	typeStop             = 3
	typeRotate           = 4
	typeIntvar           = 5
	typeRand             = 13
	typeUserVar          = 14
	typeFormat           = 15
	typeXID              = 16
	typeTableMap         = 19
	typeWriteRowsV1      = 23
	typeUpdateRowsV1     = 24
	typeDeleteRowsV1     = 25
	typeHeartbeat        = 27
	typeXAPrepare        = 38
	typeAnnotateRows     = 160
	typeCheckpoint       = 161
	typeGTID             = 162
	typeGTIDList         = 163
	typeStartEncryption  = 164
	typeWriteRowsCompV1  = 169
	typeUpdateRowsCompV1 = 170
	typeDeleteRowsCompV1 = 171
)

// Event flags.
const (
	flagInUse      = 0x0001 // LOG_EVENT_BINLOG_IN_USE_F: the file was not closed
	flagArtificial = 0x0020 // LOG_EVENT_ARTIFICIAL_F: made up by the server for this stream
)

// GTID event flags (flags2).
const (
	gtidStandalone  = 0x01 // FL_STANDALONE: a DDL or non-transactional statement, no COMMIT
	gtidGroupCommit = 0x02 // FL_GROUP_COMMIT_ID: a commit id follows
)

// event is one raw binary log event: its bytes as the server wrote them.
type event []byte

func le32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }
func le64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

func (e event) timestamp() uint32 { return binary.LittleEndian.Uint32(e[0:]) }
func (e event) typ() byte         { return e[4] }
func (e event) serverID() uint32  { return binary.LittleEndian.Uint32(e[5:]) }
func (e event) size() uint32      { return binary.LittleEndian.Uint32(e[9:]) }
func (e event) logPos() uint32    { return binary.LittleEndian.Uint32(e[13:]) }
func (e event) flags() uint16     { return binary.LittleEndian.Uint16(e[17:]) }

// checkHeader refuses bytes that are not one whole event.
func (e event) checkHeader() error {
	if len(e) < headerSize {
		return fmt.Errorf("binlog event of %d bytes is shorter than its header", len(e))
	}
	if int(e.size()) != len(e) {
		return fmt.Errorf("binlog event of type %d says %d bytes, has %d", e.typ(), e.size(), len(e))
	}
	return nil
}

// body is the event after its header, without the checksum when the log has one.
func (e event) body(crc bool) []byte {
	end := len(e)
	if crc && e.typ() != typeFormat {
		end -= 4
	}
	if end < headerSize {
		return nil
	}
	return e[headerSize:end]
}

// checkCRC verifies the CRC-32 that ends the event.
func (e event) checkCRC() error {
	if len(e) < headerSize+4 {
		return errors.New("binlog event too short for its checksum")
	}
	n := len(e) - 4
	if crc32.ChecksumIEEE(e[:n]) != binary.LittleEndian.Uint32(e[n:]) {
		return fmt.Errorf("binlog event of type %d at end position %d fails its CRC-32", e.typ(), e.logPos())
	}
	return nil
}

// formatDesc is what replay and archiving need from a format description event.
type formatDesc struct {
	raw event
	// crc says whether events carry a CRC-32 (binlog_checksum=CRC32).
	crc bool
}

// parseFormat reads a format description event. Its checksum algorithm is the byte before its
// own 4-byte checksum (MariaDB writes it in every format description since 5.3).
func parseFormat(e event) (formatDesc, error) {
	if e.typ() != typeFormat {
		return formatDesc{}, fmt.Errorf("binlog event of type %d where the format description belongs", e.typ())
	}
	if len(e) < headerSize+57+5 {
		return formatDesc{}, errors.New("format description event too short")
	}
	if v := binary.LittleEndian.Uint16(e[headerSize:]); v != 4 {
		return formatDesc{}, fmt.Errorf("binlog format version %d: only version 4 is supported", v)
	}
	alg := e[len(e)-5]
	switch alg {
	case 0:
		return formatDesc{raw: e}, nil
	case 1:
		if err := e.checkCRC(); err != nil {
			return formatDesc{}, err
		}
		return formatDesc{raw: e, crc: true}, nil
	}
	return formatDesc{}, fmt.Errorf("binlog checksum algorithm %d is not supported", alg)
}

// closedCopy returns a copy of the format description without the in-use flag (the file a
// segment came from may still be open; the segment is complete), its checksum redone.
func (f formatDesc) closedCopy() event {
	e := event(bytes.Clone(f.raw))
	binary.LittleEndian.PutUint16(e[17:], e.flags()&^flagInUse)
	if f.crc {
		n := len(e) - 4
		binary.LittleEndian.PutUint32(e[n:], crc32.ChecksumIEEE(e[:n]))
	}
	return e
}

// GTID is one MariaDB global transaction id: domain-server-sequence.
type GTID struct {
	Domain uint32
	Server uint32
	Seq    uint64
}

// String formats g as MariaDB does: 0-1-42.
func (g GTID) String() string { return fmt.Sprintf("%d-%d-%d", g.Domain, g.Server, g.Seq) }

// ParseGTID reads one domain-server-sequence GTID.
func ParseGTID(s string) (GTID, error) {
	bad := fmt.Errorf("GTID %q is not domain-server-sequence, such as 0-1-42", s)
	parts := strings.Split(strings.TrimSpace(s), "-")
	if len(parts) != 3 {
		return GTID{}, bad
	}
	d, err1 := strconv.ParseUint(parts[0], 10, 32)
	srv, err2 := strconv.ParseUint(parts[1], 10, 32)
	seq, err3 := strconv.ParseUint(parts[2], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return GTID{}, bad
	}
	return GTID{Domain: uint32(d), Server: uint32(srv), Seq: seq}, nil
}

// gtidEvent is the start of a transaction group.
type gtidEvent struct {
	GTID
	standalone bool
}

// parseGTID reads a MariaDB GTID event body: sequence (8), domain (4), flags (1).
func parseGTID(e event, crc bool) (gtidEvent, error) {
	b := e.body(crc)
	if len(b) < 13 {
		return gtidEvent{}, errors.New("GTID event too short")
	}
	return gtidEvent{
		GTID:       GTID{Domain: binary.LittleEndian.Uint32(b[8:]), Server: e.serverID(), Seq: binary.LittleEndian.Uint64(b)},
		standalone: b[12]&gtidStandalone != 0,
	}, nil
}

// queryEvent is a decoded query event: the statement and the session state it ran with.
type queryEvent struct {
	threadID   uint32
	errorCode  uint16
	statusVars []byte
	db         string
	query      []byte
}

// parseQuery reads a query event body: thread id (4), exec time (4), db length (1), error code
// (2), status variables length (2), status variables, db, NUL, query.
func parseQuery(e event, crc bool) (queryEvent, error) {
	b := e.body(crc)
	if len(b) < 13 {
		return queryEvent{}, errors.New("query event too short")
	}
	q := queryEvent{threadID: binary.LittleEndian.Uint32(b), errorCode: binary.LittleEndian.Uint16(b[9:])}
	dbLen := int(b[8])
	svLen := int(binary.LittleEndian.Uint16(b[11:]))
	p := 13
	if p+svLen+dbLen+1 > len(b) {
		return queryEvent{}, errors.New("query event shorter than its status variables and database")
	}
	q.statusVars = b[p : p+svLen]
	p += svLen
	q.db = string(b[p : p+dbLen])
	p += dbLen + 1
	q.query = b[p:]
	return q, nil
}

// endsGroup says whether a query event closes a transaction group that a GTID event opened.
func (q queryEvent) endsGroup() bool {
	s := bytes.ToUpper(bytes.TrimSpace(q.query))
	return bytes.Equal(s, []byte("COMMIT")) || bytes.Equal(s, []byte("ROLLBACK")) || bytes.HasPrefix(s, []byte("XA COMMIT")) || bytes.HasPrefix(s, []byte("XA ROLLBACK"))
}
