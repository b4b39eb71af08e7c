package restore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/backupctl/backupctl/backup/sqltext"
)

// tableState is what the target holds under a table's name.
type tableState struct {
	exists  bool
	kind    string // TABLE_TYPE: BASE TABLE, SYSTEM VERSIONED, SEQUENCE, VIEW
	hasRows bool
}

// targetState is what the target server already holds where the restore would write.
type targetState struct {
	dbExists  map[string]bool
	dbObjects map[string]int
	tables    map[string]tableState // key: db + "\x00" + table
}

func tableKey(db, table string) string { return db + "\x00" + table }

// inspect looks, read-only, at the target databases and tables the plan writes.
func inspect(ctx context.Context, conn *sql.Conn, p *plan) (*targetState, error) {
	st := &targetState{dbExists: map[string]bool{}, dbObjects: map[string]int{}, tables: map[string]tableState{}}
	for _, dp := range p.dbs {
		var one int
		err := conn.QueryRowContext(ctx, "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", dp.target).Scan(&one)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			continue
		case err != nil:
			return nil, fmt.Errorf("look up database %s: %w", dp.target, err)
		}
		st.dbExists[dp.target] = true
		if dp.whole {
			var n int
			err := conn.QueryRowContext(ctx, `SELECT
				(SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?) +
				(SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?) +
				(SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?)`,
				dp.target, dp.target, dp.target).Scan(&n)
			if err != nil {
				return nil, fmt.Errorf("count objects in database %s: %w", dp.target, err)
			}
			st.dbObjects[dp.target] = n
			continue
		}
		for _, t := range dp.tables {
			var kind string
			err := conn.QueryRowContext(ctx, "SELECT TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", dp.target, t.Name).Scan(&kind)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("look up table %s.%s: %w", dp.target, t.Name, err)
			}
			ts := tableState{exists: true, kind: kind}
			switch kind {
			case "BASE TABLE", "SYSTEM VERSIONED":
				q := "SELECT 1 FROM " + sqltext.QuoteIdent(dp.target) + "." + sqltext.QuoteIdent(t.Name)
				if kind == "SYSTEM VERSIONED" {
					q += " FOR SYSTEM_TIME ALL" // history rows are data too
				}
				err := conn.QueryRowContext(ctx, q+" LIMIT 1").Scan(&one)
				if err != nil && !errors.Is(err, sql.ErrNoRows) {
					return nil, fmt.Errorf("look into table %s.%s: %w", dp.target, t.Name, err)
				}
				ts.hasRows = err == nil
			default:
				// A sequence always holds its state, and a view is a definition someone wrote.
				ts.hasRows = true
			}
			st.tables[tableKey(dp.target, t.Name)] = ts
		}
	}
	return st, nil
}

// refusal returns why the restore must not proceed without DropExisting, or nil.
func (s *targetState) refusal(p *plan, drop bool, addr string) error {
	if drop {
		return nil
	}
	var msgs []string
	for _, dp := range p.dbs {
		if dp.whole {
			if n := s.dbObjects[dp.target]; n > 0 {
				msgs = append(msgs, fmt.Sprintf("database %s already holds %d objects", dp.target, n))
			}
			continue
		}
		for _, t := range dp.tables {
			if ts := s.tables[tableKey(dp.target, t.Name)]; ts.hasRows {
				what := "rows"
				if ts.kind == "VIEW" || ts.kind == "SEQUENCE" {
					what = "a " + strings.ToLower(ts.kind) + " of that name"
				}
				msgs = append(msgs, fmt.Sprintf("table %s.%s already holds %s", dp.target, t.Name, what))
			}
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	hint := "pass --drop-existing to replace it"
	if len(msgs) > 1 {
		hint = "pass --drop-existing to replace them"
	}
	if len(p.dbs) == 1 && p.dbs[0].whole {
		hint += ", or restore under another name with --into"
	}
	return fmt.Errorf("%w: on %s %s; %s", ErrTargetNotEmpty, addr, strings.Join(msgs, "; "), hint)
}

// annotate marks in a dry-run plan what a real restore would drop or refuse.
func (s *targetState) annotate(p *plan, objs []PlannedObject, drop bool) {
	for i := range objs {
		o := &objs[i]
		switch o.Kind {
		case "database":
			if !s.dbExists[o.Database] {
				continue
			}
			switch {
			case s.dbObjects[o.Database] == 0:
				o.Action = "exists empty: recreate"
			case drop:
				o.Action = fmt.Sprintf("exists with %d objects: drop and replace", s.dbObjects[o.Database])
			default:
				o.Action = fmt.Sprintf("exists with %d objects: refused without --drop-existing", s.dbObjects[o.Database])
			}
		case "table", "sequence":
			ts, ok := s.tables[tableKey(o.Database, o.Name)]
			if !ok {
				continue
			}
			switch {
			case !ts.hasRows:
				o.Action = "exists empty: drop and recreate"
			case drop:
				o.Action = "exists with data: drop and replace"
			default:
				o.Action = "exists with data: refused without --drop-existing"
			}
		}
	}
}
