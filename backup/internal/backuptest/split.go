package backuptest

import (
	"errors"
	"io"
	"testing"

	"github.com/backupctl/backupctl/backup/sqltext"
)

// SplitAll splits everything r holds into statements.
func SplitAll(t testing.TB, r io.Reader) ([]sqltext.Statement, error) {
	t.Helper()
	s := sqltext.NewSplitter(r, 0)
	var out []sqltext.Statement
	for {
		st, err := s.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, st)
		if len(out) > 1<<20 {
			t.Fatal("splitter does not progress")
		}
	}
}
