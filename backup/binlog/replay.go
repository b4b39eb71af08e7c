package binlog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/backupctl/backupctl/backup/dbconn"
	"github.com/backupctl/backupctl/storage"
)

// Replay applies a plan's transactions to the target through one session, as mariadb-binlog
// piped into mariadb would: row events as BINLOG statements after the format description,
// statements with their session context, each transaction whole with its source GTID. Every
// segment was checked by MakePlan; each is hashed again as it is applied.
func Replay(ctx context.Context, db dbconn.Config, b storage.Bucket, p *Plan, log *slog.Logger) (Counts, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	pool, err := openDB(db)
	if err != nil {
		return Counts{}, err
	}
	defer pool.Close()
	conn, err := pool.Conn(ctx)
	if err != nil {
		return Counts{}, &dbconn.ConnectError{Addr: db.Address(), Err: err}
	}
	defer conn.Close()
	for _, q := range []string{
		// As mariadb-binlog's output starts: the session applies events as a replica would.
		"SET @@session.pseudo_slave_mode=1",
		"SET @@session.max_delayed_threads=0",
		"SET @@session.completion_type=0",
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return Counts{}, fmt.Errorf("prepare the replay session (%s): %w", q, err)
		}
	}
	a := &applier{exec: conn, dbs: p.dbs, from: p.from, stop: stopRule{last: p.last}}
	if p.last == nil {
		return a.counts, nil // nothing after the backup up to the target
	}
	for _, e := range p.entries {
		if a.done {
			break
		}
		err := readSegment(ctx, b, e, func(r io.Reader) error { return feed(ctx, a, r) })
		if err != nil {
			if a.began {
				_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
			}
			return a.counts, fmt.Errorf("replay segment %d: %w", e.Seq, err)
		}
		log.Info("binlog segment replayed", "seq", e.Seq, "transactions", a.counts.Transactions, "last_gtid", gtidString(a.lastGTID))
	}
	if !a.done {
		return a.counts, fmt.Errorf("%w: the replay ended before transaction %s", ErrCorrupt, p.last)
	}
	return a.counts, nil
}

func gtidString(g *GTID) string {
	if g == nil {
		return ""
	}
	return g.String()
}

// ErrLock marks a target that cannot be closed to other writers for the restore.
var ErrLock = errors.New("cannot close the target to other writers")

// CloseTarget sets the target read-only (SET GLOBAL read_only=1) so that no other client
// writes while a point-in-time restore loads and replays; the restoring user needs the
// READ_ONLY ADMIN privilege (or SUPER before MariaDB 10.11) to write through it. reopen puts
// back the value it found.
func CloseTarget(ctx context.Context, db dbconn.Config) (reopen func(context.Context) error, err error) {
	pool, err := openDB(db)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	if err := canWriteReadOnly(ctx, pool, db.User); err != nil {
		return nil, err
	}
	var was string
	if err := pool.QueryRowContext(ctx, "SELECT @@global.read_only").Scan(&was); err != nil {
		return nil, &dbconn.ConnectError{Addr: db.Address(), Err: err}
	}
	if _, err := pool.ExecContext(ctx, "SET GLOBAL read_only=1"); err != nil {
		return nil, fmt.Errorf("%w: SET GLOBAL read_only=1: %v", ErrLock, oneLine(err))
	}
	return func(ctx context.Context) error {
		if was == "1" || strings.EqualFold(was, "ON") {
			return nil
		}
		p, err := openDB(db)
		if err != nil {
			return err
		}
		defer p.Close()
		if _, err := p.ExecContext(ctx, "SET GLOBAL read_only=0"); err != nil {
			return fmt.Errorf("reopen the target (SET GLOBAL read_only=0): %w", err)
		}
		return nil
	}, nil
}

// canWriteReadOnly checks the grants for a privilege that writes through read_only.
func canWriteReadOnly(ctx context.Context, pool *sql.DB, user string) error {
	rows, err := pool.QueryContext(ctx, "SHOW GRANTS")
	if err != nil {
		return fmt.Errorf("%w: SHOW GRANTS: %v", ErrLock, oneLine(err))
	}
	defer rows.Close()
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			return err
		}
		up := strings.ToUpper(g)
		if strings.Contains(up, " ON *.* ") && (strings.Contains(up, "ALL PRIVILEGES") || strings.Contains(up, "READ_ONLY ADMIN") || strings.Contains(up, "READ ONLY ADMIN")) {
			return nil
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return fmt.Errorf("%w: user %s lacks READ_ONLY ADMIN, so it could not write once the target is read-only: GRANT READ_ONLY ADMIN ON *.* TO it, or restore with --replay-lock=none when nothing else writes", ErrLock, user)
}
