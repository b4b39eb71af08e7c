package dump

import (
	"bufio"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"

	"github.com/backupctl/backupctl/backup/sqltext"
)

// eachRow runs query on conn and calls fn with each row's values as the driver returns them:
// nil, []byte (valid only during the call), int64, uint64, float32 or float64. It reads below
// database/sql, whose Scan into RawBytes costs a lock, an allocation and a conversion per value:
// on the bench's rows, a third of the time spent reading them.
func eachRow(ctx context.Context, conn *sql.Conn, query string, fn func([]driver.Value) error) error {
	return conn.Raw(func(dc any) error {
		q, ok := dc.(driver.QueryerContext)
		if !ok {
			return errors.New("internal error: the MariaDB driver cannot run a query directly")
		}
		rows, err := q.QueryContext(ctx, query, nil)
		if err != nil {
			return err
		}
		dest := make([]driver.Value, len(rows.Columns()))
		for {
			if err = rows.Next(dest); err != nil {
				break
			}
			if err = fn(dest); err != nil {
				break
			}
		}
		cerr := rows.Close()
		if err == io.EOF {
			return cerr
		}
		return err
	})
}

// appendDriverValue appends a value from eachRow as sqltext.AppendValue does its bytes. Numbers the
// driver has parsed are printed back as database/sql would (the shortest exact form); num is a
// scratch buffer for their digits, returned for reuse.
func appendDriverValue(dst, num []byte, v driver.Value, k sqltext.ValueKind) ([]byte, []byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, "NULL"...), num, nil
	case []byte:
		return sqltext.AppendValue(dst, x, k), num, nil
	case int64:
		num = strconv.AppendInt(num[:0], x, 10)
	case uint64:
		num = strconv.AppendUint(num[:0], x, 10)
	case float64:
		num = strconv.AppendFloat(num[:0], x, 'g', -1, 64)
	case float32:
		num = strconv.AppendFloat(num[:0], float64(x), 'g', -1, 32)
	case string:
		num = append(num[:0], x...)
	default:
		return dst, num, fmt.Errorf("internal error: the driver returned a %T", v)
	}
	return sqltext.AppendValue(dst, num, k), num, nil
}

// readBuffer is what a dump connection reads from its socket at once. The driver reads
// at most 4 KiB at a time (its buffer grows only for larger packets): a system call per 4 KiB
// of rows.
const readBuffer = 64 << 10

// dialBuffered connects as the driver would and reads through a buffer of readBuffer.
func dialBuffered(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		// What the driver's own dialer does.
		_ = tc.SetKeepAlive(true)
	}
	return &bufferedConn{Conn: c, r: bufio.NewReaderSize(c, readBuffer)}, nil
}

type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

// Read reads through the buffer.
func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
