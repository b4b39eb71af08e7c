package binlog

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"

	"github.com/backupctl/backupctl/backup/sqltext"
)

// User variable value types (Item_result).
const (
	uvString = 0
	uvReal   = 1
	uvInt    = 2
)

// userVar keeps, for the next statement, the user variable a statement-based event used
// (SET @name := value, as mariadb-binlog prints it). Decimal values are refused.
func (a *applier) userVar(ctx context.Context, ev event) error {
	b := ev.body(a.fd.crc)
	bad := fmt.Errorf("user variable event of transaction %s too short", a.group.GTID)
	if len(b) < 4 {
		return bad
	}
	n := int(binary.LittleEndian.Uint32(b))
	if len(b) < 4+n+1 {
		return bad
	}
	name := sqltext.QuoteIdent(string(b[4 : 4+n]))
	b = b[4+n:]
	if b[0] != 0 { // is null
		a.pending = append(a.pending, "@"+name+":=NULL")
		return nil
	}
	if len(b) < 10 {
		return bad
	}
	typ, coll, vlen := b[1], binary.LittleEndian.Uint32(b[2:]), int(binary.LittleEndian.Uint32(b[6:]))
	if len(b) < 10+vlen {
		return bad
	}
	v, rest := b[10:10+vlen], b[10+vlen:]
	var lit string
	switch {
	case typ == uvString:
		cs, name, err := a.collation(ctx, coll)
		if err != nil {
			return err
		}
		lit = "_" + cs + " " + sqltext.HexLiteral(v) + " COLLATE " + sqltext.QuoteIdent(name)
	case typ == uvReal && vlen == 8:
		lit = strconv.FormatFloat(math.Float64frombits(binary.LittleEndian.Uint64(v)), 'E', -1, 64)
	case typ == uvInt && vlen == 8:
		u := binary.LittleEndian.Uint64(v)
		if len(rest) > 0 && rest[0]&1 != 0 { // UNSIGNED_F
			lit = strconv.FormatUint(u, 10)
		} else {
			lit = strconv.FormatInt(int64(u), 10)
		}
	default:
		return fmt.Errorf("user variable @%s of type %d in transaction %s is not one replay applies (use the stock path)", name, typ, a.group.GTID)
	}
	a.pending = append(a.pending, "@"+name+":="+lit)
	return nil
}

// collation names a collation id on the target (a scan only checks the event).
func (a *applier) collation(ctx context.Context, id uint32) (charset, name string, err error) {
	if a.exec == nil {
		return "binary", "binary", nil
	}
	if c, ok := a.collations[id]; ok {
		return c[0], c[1], nil
	}
	err = a.exec.QueryRowContext(ctx, "SELECT CHARACTER_SET_NAME, COLLATION_NAME FROM information_schema.COLLATIONS WHERE ID = ?", id).Scan(&charset, &name)
	if err != nil {
		return "", "", fmt.Errorf("collation %d of a user variable: %w", id, err)
	}
	if a.collations == nil {
		a.collations = map[uint32][2]string{}
	}
	a.collations[id] = [2]string{charset, name}
	return charset, name, nil
}
