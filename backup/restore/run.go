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

	"github.com/backupctl/backupctl/backup/crypt"
	"github.com/backupctl/backupctl/backup/dbconn"
	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/backup/sqltext"
	"github.com/backupctl/backupctl/storage"
)

// ByID restores backup id from b: it loads its manifest, then runs Run with verify.
func ByID(ctx context.Context, target dbconn.Config, b storage.Bucket, id string, opts Options, verify Verifier) (*Report, error) {
	m, err := format.LoadManifest(ctx, b, id)
	if err != nil {
		// LoadManifest's message already says what to do (ErrNoManifest: see `backupctl list`).
		return nil, fmt.Errorf("restore %s: %w", id, err)
	}
	if err := opts.VerifyKey.Check(m); err != nil {
		return nil, fmt.Errorf("restore %s: %w", id, err)
	}
	m, b, err = crypt.Open(b, m, opts.Identity)
	if err != nil {
		return nil, fmt.Errorf("restore %s: %w", id, err)
	}
	return Run(ctx, target, b, m, opts, verify)
}

// Verifier checks the whole object against the manifest before anything is applied.
type Verifier func(ctx context.Context, b storage.Bucket, m *format.Manifest) error

// Run restores the backup m describes; ByID loads m and passes the verifier. It runs the phases
// in order: plan the selection, connect and inspect the target, then either report a dry run or
// verify first, and apply (verifying alongside when not verified first).
func Run(ctx context.Context, target dbconn.Config, b storage.Bucket, m *format.Manifest, opts Options, verify Verifier) (*Report, error) {
	s := &session{target: target, b: b, m: m, opts: opts, verify: verify, start: time.Now(), log: opts.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if err := s.plan(); err != nil {
		return nil, s.fail(err)
	}
	closeConn, err := s.connect(ctx)
	if err != nil {
		return nil, s.fail(err)
	}
	defer closeConn()
	fkRefusal, err := s.readDefinitions(ctx)
	if err != nil {
		return nil, s.fail(err)
	}
	refusal := s.checks.refusal(s.p, opts.DropExisting, target.Address())
	if refusal == nil {
		refusal = fkRefusal
	}
	refusal = s.withAccountsRefusal(ctx, refusal)
	if opts.DryRun {
		return s.dryRun(refusal)
	}
	if refusal != nil {
		return nil, s.fail(refusal)
	}
	secs := s.p.sections()
	if err := s.verifyFirst(ctx, secs); err != nil {
		return nil, s.fail(err)
	}
	if err := s.checkAccountsSection(ctx); err != nil {
		return nil, s.fail(err)
	}
	s.logStart(secs)
	if err := s.apply(ctx, secs); err != nil {
		return nil, err
	}
	rep := s.rep
	rep.DurationSeconds = time.Since(s.start).Seconds()
	s.log.Info("restore complete", "id", m.ID, "databases", rep.Databases, "tables", rep.Tables, "rows", rep.Rows, "bytes", rep.Bytes, "seconds", rep.DurationSeconds)
	return rep, nil
}

// session is one restore in progress: what the phases of Run share.
type session struct {
	target dbconn.Config
	b      storage.Bucket
	m      *format.Manifest
	opts   Options
	verify Verifier
	start  time.Time
	log    *slog.Logger

	p      *plan         // what to restore, from plan
	rep    *Report       // filled in as the phases go
	cfg    *mysql.Config // the target, from connect
	conn   *sql.Conn     // the connection that applies definitions in stream order
	checks *targetState  // what the target holds, from connect
}

// fail wraps an error of the restore with its id.
func (s *session) fail(err error) error { return fmt.Errorf("restore %s: %w", s.m.ID, err) }

// plan selects what to restore from the manifest and starts the report; it reads nothing.
func (s *session) plan() error {
	p, err := makePlan(s.m, s.opts)
	if err != nil {
		return selectionError{err}
	}
	s.p = p
	s.rep = &Report{ID: s.m.ID, DryRun: s.opts.DryRun, Databases: p.targetNames()}
	for _, dp := range p.dbs {
		s.rep.Tables += len(dp.tables)
		for _, t := range dp.tables {
			if t.NoHistory {
				w := fmt.Sprintf("table %s.%s is system-versioned by transaction id: its current rows are restored, its history is not in the backup (MariaDB cannot insert transaction ids)", dp.target, t.Name)
				s.log.Warn(w)
				s.rep.Warnings = append(s.rep.Warnings, w)
			}
		}
	}
	if err := s.planAccounts(); err != nil {
		return err
	}
	if len(s.opts.Tables) > 0 {
		what := "definition, rows and triggers"
		if s.opts.WithoutTriggers {
			what = "definition and rows"
		}
		s.rep.Warnings = append(s.rep.Warnings, "--table restores the table's "+what+"; views and routines that use it are not restored")
	}
	return nil
}

// connect opens the connection to the target and inspects what it already holds; the caller
// closes the connection with the returned function.
func (s *session) connect(ctx context.Context) (func(), error) {
	cfg, err := s.target.MySQLConfig()
	if err != nil {
		return nil, err
	}
	cfg.DBName = "" // the stream says which database each statement goes to
	conn, closeConn, err := openConn(ctx, cfg)
	if err != nil {
		return nil, &dbconn.ConnectError{Addr: s.target.Address(), Err: err}
	}
	checks, err := inspect(ctx, conn, s.p)
	if err != nil {
		closeConn()
		return nil, fmt.Errorf("inspect target %s: %w", s.target.Address(), err)
	}
	if s.p.accounts != nil {
		if err := inspectAccounts(ctx, conn, s.p.accounts); err != nil {
			closeConn()
			return nil, fmt.Errorf("inspect target %s: %w", s.target.Address(), err)
		}
	}
	s.cfg, s.conn, s.checks = cfg, conn, checks
	return closeConn, nil
}

// dryRun completes the report of a dry run: the plan, annotated with what a real restore would
// drop or refuse. A refusal is returned with the report.
func (s *session) dryRun(refusal error) (*Report, error) {
	rep := s.rep
	rep.Plan = append(s.p.plannedObjects(), s.p.accounts.planned(s.opts.DropExisting)...)
	s.checks.annotate(s.p, rep.Plan, s.opts.DropExisting)
	for _, o := range rep.Plan {
		rep.Rows += o.Rows
	}
	rep.DurationSeconds = time.Since(s.start).Seconds()
	if refusal != nil {
		// The report still says what would happen; the error makes the exit code non-zero.
		return rep, s.fail(refusal)
	}
	return rep, nil
}

// verifyFirst checks the object before anything is applied: its size always, then, unless
// NoVerifyFirst, the whole object (or, for --table, the table's ranges).
func (s *session) verifyFirst(ctx context.Context, secs []*section) error {
	m := s.m
	if err := checkSize(ctx, s.b, m); err != nil {
		return err
	}
	if s.opts.NoVerifyFirst {
		return nil
	}
	// Every statement the restore would run is checked against what a dump writes in its
	// section before the first one runs (see confine); for a database restore that pass reads
	// the object while the verifier reads it too.
	check := func(ctx context.Context) error {
		s.log.Info("checking the statements before restore", "id", m.ID, "object", m.Object.Key)
		fn := func(_ context.Context, st sqltext.Statement, sec *section) error { return confine(sec, st) }
		// A --table restore has read (and confined) its tables' definitions already.
		for _, sp := range spans(s.p.unread(secs)) {
			if _, err := streamSpan(ctx, s.b, m, sp, fn); err != nil {
				return err
			}
		}
		return nil
	}
	fail := func(err error) error {
		return fmt.Errorf("object %s fails verification; nothing was applied: %w", m.Object.Key, err)
	}
	if len(s.opts.Tables) > 0 {
		// --table reads only the table's ranges: the check verifies those (their raw lengths
		// and data SHA-256) rather than the whole object, which could be far larger.
		s.log.Info("verifying table ranges before restore", "id", m.ID, "object", m.Object.Key)
		if err := check(ctx); err != nil {
			return fail(err)
		}
		return nil
	}
	s.log.Info("verifying object before restore", "id", m.ID, "object", m.Object.Key, "bytes", m.Object.Size)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cerr := make(chan error, 1)
	go func() { cerr <- check(cctx) }()
	// The verifier's finding comes first: a damaged object is reported as damaged.
	if err := s.verify(ctx, s.b, m); err != nil {
		cancel()
		<-cerr
		return fail(err)
	}
	if err := <-cerr; err != nil {
		return fail(err)
	}
	return nil
}

// apply applies secs to the target: definitions in stream order on the session's connection,
// table data on a pool of workers. Without verify-first, a database restore verifies the whole
// object alongside the load. Its error is wrapped, and says whether the target is partial.
func (s *session) apply(ctx context.Context, secs []*section) error {
	a := &applier{conn: s.conn, plan: s.p, log: s.log, rep: s.rep, checks: s.checks}
	partial := func(err error) error {
		if len(a.touched) > 0 || a.accountsTouched {
			s.log.Error("restore failed part way: the target is partial", "id", s.m.ID, "databases", a.touched, "accounts_changed", a.accountsTouched)
			what := listNames(a.touched)
			switch {
			case a.accountsTouched && len(a.touched) == 0:
				what = "the accounts of the backup"
			case a.accountsTouched:
				what += " and the accounts of the backup"
			}
			err = fmt.Errorf("%w; the target is now partial: drop %s or restore again with --drop-existing", err, what)
		} else {
			err = fmt.Errorf("%w; nothing was applied", err)
		}
		return s.fail(err)
	}
	if err := a.prepare(ctx); err != nil {
		return partial(err)
	}
	n := s.opts.Parallel
	if n <= 0 {
		n = dbconn.DefaultParallel()
	}
	pool := &workerPool{n: n, cfg: s.cfg, plan: s.p, b: s.b, m: s.m, execHook: execHook}
	defer pool.closeAll()
	// Without verify-first, a database restore verifies the whole object alongside the load,
	// so data can still be loaded in chunks; a mismatch stops the load. A --table restore reads
	// only its ranges and checks each table's data against its SHA-256 as it streams.
	alongside := s.opts.NoVerifyFirst && len(s.opts.Tables) == 0
	chunked := !s.opts.NoVerifyFirst || alongside
	load := func(ctx context.Context) error { return s.load(ctx, a, pool, secs, chunked) }
	var err error
	if alongside {
		err = s.verifyAlongside(ctx, load)
	} else {
		err = load(ctx)
	}
	if ferr := a.finishAccounts(ctx); err == nil {
		err = ferr
	} else if ferr != nil {
		s.log.Error("could not take back the roles the failed restore's CREATE ROLE gave", "id", s.m.ID, "err", ferr)
	}
	if err != nil {
		return partial(err)
	}
	return nil
}

// load streams secs step by step: each step's definitions through a, then its tables' data
// through the pool.
func (s *session) load(ctx context.Context, a *applier, pool *workerPool, secs []*section, chunked bool) error {
	rep := s.rep
	for _, step := range steps(secs) {
		for _, sp := range spans(step.seq) {
			n, err := streamSpan(ctx, s.b, s.m, sp, a.apply)
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

// verifyAlongside runs load while the whole object is verified; a mismatch stops the load.
func (s *session) verifyAlongside(ctx context.Context, load func(context.Context) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := s.verify(gctx, s.b, s.m); err != nil {
			return fmt.Errorf("object %s fails verification: %w", s.m.Object.Key, err)
		}
		return nil
	})
	g.Go(func() error { return load(gctx) })
	return g.Wait()
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
