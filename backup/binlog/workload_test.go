package binlog_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"
)

// accounts and balance make the transfers' invariant: the balances always sum to
// accounts*balance.
const (
	accounts = 20
	balance  = 1000
)

// workload writes to one database: transfers between accounts (the invariant), inserts and
// deletes of events, each in its own transaction, until stopped. A checkpoint pauses it between
// two transactions.
type workload struct {
	s    server
	db   string
	mu   sync.Mutex // held by each transaction; a checkpoint holds it to pause the writer
	conn *sql.Conn
	last string // @@last_gtid of the writer's last commit
	at   time.Time
	n    int
	stop chan struct{}
	done chan error
}

func startWorkload(t testing.TB, s server, db string) *workload {
	t.Helper()
	exec1(t, s, "CREATE DATABASE `"+db+"`")
	t.Cleanup(func() { _, _ = s.db.ExecContext(context.Background(), "DROP DATABASE IF EXISTS `"+db+"`") })
	exec1(t, s, "CREATE TABLE `"+db+"`.accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL) ENGINE=InnoDB")
	exec1(t, s, "CREATE TABLE `"+db+"`.events (id BIGINT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(200), at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB")
	var vals []string
	for i := range accounts {
		vals = append(vals, fmt.Sprintf("(%d,%d)", i, balance))
	}
	exec1(t, s, "INSERT INTO `"+db+"`.accounts VALUES "+strings.Join(vals, ","))
	conn, err := s.db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	w := &workload{s: s, db: db, conn: conn, stop: make(chan struct{}), done: make(chan error, 1)}
	go func() { w.done <- w.loop() }()
	t.Cleanup(func() { w.halt(t); conn.Close() })
	return w
}

func (w *workload) loop() error {
	rng := rand.New(rand.NewPCG(1, 2))
	for {
		select {
		case <-w.stop:
			return nil
		default:
		}
		if err := w.one(rng); err != nil {
			return err
		}
		time.Sleep(3 * time.Millisecond)
	}
}

// one runs one transaction.
func (w *workload) one(rng *rand.Rand) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	ctx := context.Background()
	var stmts []string
	switch r := rng.IntN(10); {
	case r < 6:
		from, to, amt := rng.IntN(accounts), rng.IntN(accounts), rng.IntN(50)+1
		stmts = []string{
			fmt.Sprintf("UPDATE `%s`.accounts SET balance=balance-%d WHERE id=%d", w.db, amt, from),
			fmt.Sprintf("UPDATE `%s`.accounts SET balance=balance+%d WHERE id=%d", w.db, amt, to),
		}
	case r < 9:
		stmts = []string{fmt.Sprintf("INSERT INTO `%s`.events (note) VALUES ('n%d %s')", w.db, rng.IntN(1e6), strings.Repeat("x", rng.IntN(50)))}
	default:
		stmts = []string{fmt.Sprintf("DELETE FROM `%s`.events ORDER BY id LIMIT 1", w.db)}
	}
	return w.tx(ctx, stmts...)
}

// tx runs statements in one transaction and notes its GTID; the caller holds mu.
func (w *workload) tx(ctx context.Context, stmts ...string) error {
	if _, err := w.conn.ExecContext(ctx, "BEGIN"); err != nil {
		return err
	}
	for _, q := range stmts {
		if _, err := w.conn.ExecContext(ctx, q); err != nil {
			_, _ = w.conn.ExecContext(ctx, "ROLLBACK")
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	if _, err := w.conn.ExecContext(ctx, "COMMIT"); err != nil {
		return err
	}
	w.at = time.Now()
	w.n++
	return w.conn.QueryRowContext(ctx, "SELECT @@last_gtid").Scan(&w.last)
}

// exec runs statements as one paused step of the workload (DDL, a large transaction), each in
// its own transaction (autocommit), and notes the last GTID.
func (w *workload) exec(t testing.TB, stmts ...string) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	ctx := t.Context()
	for _, q := range stmts {
		if _, err := w.conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	w.at = time.Now()
	if err := w.conn.QueryRowContext(ctx, "SELECT @@last_gtid").Scan(&w.last); err != nil {
		t.Fatal(err)
	}
}

// point is the database's state between two of the workload's transactions.
type point struct {
	time        time.Time // every transaction before committed at or before it, none after
	gtid        string    // the last transaction before
	fingerprint string
}

// checkpoint pauses the writer between two transactions and records the state. The time is the
// second of the last commit; the writer resumes only in the next second, so that binlog
// timestamps (seconds) separate the two sides.
func (w *workload) checkpoint(t testing.TB) point {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	sec := w.at.Truncate(time.Second)
	p := point{time: sec.UTC(), gtid: w.last, fingerprint: fingerprint(t, w.s, w.db)}
	time.Sleep(time.Until(sec.Add(time.Second + 50*time.Millisecond)))
	return p
}

// halt stops the writer and fails the test if it failed.
func (w *workload) halt(t testing.TB) {
	t.Helper()
	select {
	case <-w.stop:
		return
	default:
	}
	close(w.stop)
	if err := <-w.done; err != nil {
		t.Fatalf("workload: %v", err)
	}
}

// checkInvariant fails unless the balances on s sum to what the transfers keep.
func checkInvariant(t testing.TB, s server, db string) {
	t.Helper()
	var sum int64
	if err := s.db.QueryRowContext(t.Context(), "SELECT SUM(balance) FROM `"+db+"`.accounts").Scan(&sum); err != nil {
		t.Fatal(err)
	}
	if sum != accounts*balance {
		t.Fatalf("%s: balances sum to %d, want %d", s.name, sum, accounts*balance)
	}
}
