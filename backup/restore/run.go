package restore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/go-sql-driver/mysql"
	"golang.org/x/sync/errgroup"

	"github.com/backupctl/backupctl/backup/dbconn"
	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/storage"
)

// ByID restores backup id from b: it loads its manifest, then runs Run with verify.
func ByID(ctx context.Context, target dbconn.Config, b storage.Bucket, id string, opts Options, verify Verifier) (*Report, error) {
	m, err := format.LoadManifest(ctx, b, id)
	if err != nil {
		// LoadManifest's message already says what to do (ErrNoManifest: see `backupctl list`).
		return nil, fmt.Errorf("restore %s: %w", id, err)
	}
	return Run(ctx, target, b, m, opts, verify)
}

// Verifier checks the whole object against the manifest before anything is applied.
type Verifier func(ctx context.Context, b storage.Bucket, m *format.Manifest) error

// Run restores the backup m describes; Restore loads m and passes the verifier.
func Run(ctx context.Context, target dbconn.Config, b storage.Bucket, m *format.Manifest, opts Options, verify Verifier) (*Report, error) {
	start := time.Now()
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	fail := func(err error) error { return fmt.Errorf("restore %s: %w", m.ID, err) }
	p, err := makePlan(m, opts)
	if err != nil {
		return nil, fail(selectionError{err})
	}
	rep := &Report{ID: m.ID, DryRun: opts.DryRun, Databases: p.targetNames()}
	for _, dp := range p.dbs {
		rep.Tables += len(dp.tables)
	}
	if len(opts.Tables) > 0 {
		rep.Warnings = append(rep.Warnings, "--table restores the table's definition, rows and triggers; views and routines that use it are not restored")
	}

	cfg, err := target.MySQLConfig()
	if err != nil {
		return nil, fail(err)
	}
	cfg.DBName = "" // the stream says which database each statement goes to
	conn, closeConn, err := openConn(ctx, cfg)
	if err != nil {
		return nil, fail(&dbconn.ConnectError{Addr: target.Address(), Err: err})
	}
	defer closeConn()

	checks, err := inspect(ctx, conn, p)
	if err != nil {
		return nil, fail(fmt.Errorf("inspect target %s: %w", target.Address(), err))
	}
	refusal := checks.refusal(p, opts.DropExisting, target.Address())

	if opts.DryRun {
		rep.Plan = p.plannedObjects()
		checks.annotate(p, rep.Plan, opts.DropExisting)
		for _, o := range rep.Plan {
			rep.Rows += o.Rows
		}
		rep.DurationSeconds = time.Since(start).Seconds()
		if refusal != nil {
			// The report still says what would happen; the error makes the exit code non-zero.
			return rep, fail(refusal)
		}
		return rep, nil
	}
	if refusal != nil {
		return nil, fail(refusal)
	}

	secs := p.sections()
	if err := checkSize(ctx, b, m); err != nil {
		return nil, fail(err)
	}
	if !opts.NoVerifyFirst {
		if len(opts.Tables) == 0 {
			log.Info("verifying object before restore", "id", m.ID, "object", m.Object.Key, "bytes", m.Object.Size)
			if err := verify(ctx, b, m); err != nil {
				return nil, fail(fmt.Errorf("object %s fails verification; nothing was applied: %w", m.Object.Key, err))
			}
		} else {
			// --table reads only the table's ranges: verify those (their raw lengths and data
			// SHA-256) rather than the whole object, which could be far larger.
			log.Info("verifying table ranges before restore", "id", m.ID, "object", m.Object.Key)
			for _, sp := range spans(secs) {
				if _, err := streamSpan(ctx, b, m, sp, nil); err != nil {
					return nil, fail(fmt.Errorf("object %s fails verification; nothing was applied: %w", m.Object.Key, err))
				}
			}
		}
	}

	a := &applier{conn: conn, plan: p, log: log, rep: rep, checks: checks}
	partial := func(err error) error {
		if len(a.touched) > 0 {
			log.Error("restore failed part way: the target is partial", "id", m.ID, "databases", a.touched)
			err = fmt.Errorf("%w; the target is now partial: drop %s or restore again with --drop-existing", err, listNames(a.touched))
		} else {
			err = fmt.Errorf("%w; nothing was applied", err)
		}
		return fail(err)
	}
	if err := a.prepare(ctx); err != nil {
		return nil, partial(err)
	}
	n := opts.Parallel
	if n <= 0 {
		n = dbconn.DefaultParallel()
	}
	pool := &workerPool{n: n, cfg: cfg, plan: p, b: b, m: m, execHook: execHook}
	defer pool.closeAll()
	// Without verify-first, a database restore verifies the whole object alongside the load,
	// so data can still be loaded in chunks; a mismatch stops the load. A --table restore reads
	// only its ranges and checks each table's data against its SHA-256 as it streams.
	alongside := opts.NoVerifyFirst && len(opts.Tables) == 0
	chunked := !opts.NoVerifyFirst || alongside
	apply := func(ctx context.Context) error {
		for _, step := range steps(secs) {
			for _, sp := range spans(step.seq) {
				n, err := streamSpan(ctx, b, m, sp, a.apply)
				rep.Bytes += n
				if err != nil {
					return err
				}
			}
			if len(step.data) == 0 {
				continue
			}
			pool.header = a.header
			started := time.Now()
			n, rows, err := pool.load(ctx, step.data, chunked)
			rep.Bytes += n
			for _, sec := range step.data {
				a.touch(sec.db.target)
			}
			if err != nil {
				return err
			}
			for _, sec := range step.data {
				a.tableDone(sec, rows[sec.table], started)
			}
		}
		return nil
	}
	if alongside {
		g, gctx := errgroup.WithContext(ctx)
		g.Go(func() error {
			if err := verify(gctx, b, m); err != nil {
				return fmt.Errorf("object %s fails verification: %w", m.Object.Key, err)
			}
			return nil
		})
		g.Go(func() error { return apply(gctx) })
		err = g.Wait()
	} else {
		err = apply(ctx)
	}
	if err != nil {
		return nil, partial(err)
	}
	rep.DurationSeconds = time.Since(start).Seconds()
	log.Info("restore complete", "id", m.ID, "databases", rep.Databases, "tables", rep.Tables, "rows", rep.Rows, "bytes", rep.Bytes, "seconds", rep.DurationSeconds)
	return rep, nil
}

// openConn opens one dedicated connection: session settings and USE must hold for every
// statement, which a pool would not guarantee.
func openConn(ctx context.Context, cfg *mysql.Config) (*sql.Conn, func(), error) {
	cfg.MultiStatements = false // each statement is exec'd alone, so errors point at one
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, nil, err
	}
	db := sql.OpenDB(connector)
	conn, err := db.Conn(ctx)
	if err != nil {
		_ = db.Close()
		return nil, nil, err
	}
	return conn, func() { _ = conn.Close(); _ = db.Close() }, nil
}

// checkSize refuses an object whose stored size differs from the manifest's, a cheap
// check that catches truncation before anything is applied even with NoVerifyFirst.
func checkSize(ctx context.Context, b storage.Bucket, m *format.Manifest) error {
	info, err := b.Stat(ctx, m.Object.Key)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("%w: object %s is missing from %s; nothing was applied", format.ErrVerify, m.Object.Key, b)
		}
		return fmt.Errorf("stat object %s: %w", m.Object.Key, err)
	}
	if info.Size != m.Object.Size {
		return fmt.Errorf("%w: object %s is %d bytes, the manifest says %d; nothing was applied", format.ErrVerify, m.Object.Key, info.Size, m.Object.Size)
	}
	return nil
}
