package restore

import (
	"database/sql"
	"testing"

	"github.com/backupctl/backupctl/backup/dump"
)

// SetFrameBytes makes a dump cut its tables into chunks of about n bytes, so that tests on small
// data sets exercise chunked dumps and restores.
func SetFrameBytes(o *dump.Options, n int) { o.FrameBytes = n }

// SetRestoreExecHook runs hook before every data statement, and every ALTER TABLE adding
// indexes back, of the parallel restores of test t.
func SetRestoreExecHook(t *testing.T, hook func(conn *sql.Conn, q string) error) {
	execHook = hook
	t.Cleanup(func() { execHook = nil })
}

// TxStatements is how many data statements a restore worker runs per transaction.
const TxStatements = txStatements

// SetDeferMinBytes makes the restores of test t create every table of more than n bytes of data
// without its plain secondary indexes (0: every table with rows), added after its rows.
func SetDeferMinBytes(t *testing.T, n int64) {
	old := deferMinBytes
	deferMinBytes = n
	t.Cleanup(func() { deferMinBytes = old })
}
