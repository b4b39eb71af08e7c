package faults

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/internal/dbtest"
	"github.com/backupctl/backupctl/internal/testenv"
)

// bigRows is the size of the big table: rows of 1000 random bytes, about 100 MB stored (hex in
// the dump, which zstd brings back to about the binary size). Large enough that a fault lands
// while the dump or the restore is still running on 2 cores; no larger.
const bigRows = 100_000

// loadBig creates database db on m: a_big (random, incompressible rows), then small tables
// that the dump reaches only after a_big (tables are dumped by name).
func loadBig(t testing.TB, m *mariaDB, db string, rows int) {
	t.Helper()
	m.root(t, fmt.Sprintf(`CREATE DATABASE %[1]s; USE %[1]s;
		CREATE TABLE %[1]s.a_big (id INT PRIMARY KEY, pad VARBINARY(1000) NOT NULL) ENGINE=InnoDB;
		INSERT INTO %[1]s.a_big SELECT seq, RANDOM_BYTES(1000) FROM seq_1_to_%[2]d;
		CREATE TABLE %[1]s.z_victim (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(40) NOT NULL, at DATETIME(6) NOT NULL) ENGINE=InnoDB;
		INSERT INTO %[1]s.z_victim (name, at) SELECT CONCAT('row ', seq), '2024-01-02 03:04:05.123456' + INTERVAL seq SECOND FROM seq_1_to_1000;
		CREATE TABLE %[1]s.z_keep (k VARCHAR(10) PRIMARY KEY, v TEXT) ENGINE=InnoDB;
		INSERT INTO %[1]s.z_keep VALUES ('a', 'kept'), ('b', NULL);`, dbtest.QuoteIdent(db), rows))
}

// faultEnv joins the settings of a private source and a private MinIO under prefix.
func faultEnv(src *mariaDB, s3 *minIO, prefix string, extra ...string) []string {
	env := append(append(src.env(), s3.env()...), "BACKUP_S3_PREFIX="+prefix)
	return append(env, extra...)
}

// sameInventory fails when db on s differs from before: the source must be untouched.
func sameInventory(t testing.TB, before *dbtest.Inventory, s *dbtest.Server, db string) bool {
	t.Helper()
	diffs := dbtest.Diff(before, dbtest.InventoryOf(t, s, db))
	for _, d := range diffs {
		t.Errorf("source changed: %s", d)
	}
	return len(diffs) == 0
}

// sameAfterCrash is sameInventory for a server that crashed: InnoDB recomputes AUTO_INCREMENT
// from MAX(id)+1 during crash recovery, so a value reserved but never used is forgotten. That
// is the server's doing, not backupctl's, and is not counted as a change.
func sameAfterCrash(t testing.TB, before *dbtest.Inventory, s *dbtest.Server, db string) bool {
	t.Helper()
	after := dbtest.InventoryOf(t, s, db)
	autoInc := regexp.MustCompile(` AUTO_INCREMENT=[0-9]+`)
	for _, inv := range []*dbtest.Inventory{before, after} {
		for _, tb := range inv.Tables {
			if c := autoInc.ReplaceAllString(tb.Create, ""); c != tb.Create {
				tb.Create = c
			}
		}
	}
	diffs := dbtest.Diff(before, after)
	for _, d := range diffs {
		t.Errorf("source changed: %s", d)
	}
	return len(diffs) == 0
}

// wantFailed checks a fault's exit code is 1: a failure, not "interrupted" (130), which would
// blame the user, nor any other.
func wantFailed(t testing.TB, r testenv.Result) {
	t.Helper()
	if r.Code != exitFailed {
		t.Errorf("exit %d, want %d (the operation failed): %s", r.Code, exitFailed, r.Message())
	}
}

// afterFailure checks what every failed run must leave: a non-zero exit, one line, no
// manifest and no object under prefix.
func afterFailure(t *testing.T, o *outcome, r testenv.Result, st *s3Store, prefix string) {
	t.Helper()
	o.set(r)
	if r.Code == 0 {
		t.Errorf("exit 0 after the fault; stdout: %s", r.Stdout)
	}
	if msgs := r.Messages(); len(msgs) != 1 {
		t.Errorf("stderr has %d lines besides the JSON log, want 1 line naming the cause: %q", len(msgs), msgs)
	}
	if ms := st.manifests(t, prefix+"/"); len(ms) > 0 {
		t.Errorf("manifest written for a failed backup: %v", ms)
	}
	o.check("no manifest")
	if ks := st.keys(t, prefix+"/"); len(ks) > 0 {
		t.Errorf("objects left under the prefix by a failed backup: %v", ks)
	} else {
		o.check("no object")
	}
}

// noIncompleteUpload checks that a failed backup aborted its multipart upload of key.
func noIncompleteUpload(t *testing.T, o *outcome, st *s3Store, key string) {
	t.Helper()
	if left := st.incomplete(t, key); len(left) > 0 {
		t.Errorf("incomplete uploads left: %v", left)
	} else {
		o.check("no incomplete upload")
	}
}

// waitID waits for the "snapshot taken" log line and returns the backup's id.
func waitID(t testing.TB, r running) string {
	t.Helper()
	rec, ok := r.WaitRecord(2*time.Minute, testenv.MsgIs("snapshot taken"))
	if !ok {
		t.Fatalf("no \"snapshot taken\" log line; stderr: %s", tailString(r.wait(t, time.Minute).Stderr, 2000))
	}
	id, _ := rec["id"].(string)
	return id
}

// objectKey is the dump object of backup id under prefix (zstd).
func objectKey(prefix, id string) string { return prefix + "/" + id + "/dump.sql.zst" }

// waitParts waits until the multipart upload of key has at least n parts stored. (MinIO lists
// multipart uploads by exact object name only, not by prefix.)
func waitParts(t testing.TB, s3 *minIO, key string, n int, d time.Duration) bool {
	t.Helper()
	core := minio.Core{Client: s3.client(t)}
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		res, err := core.ListMultipartUploads(t.Context(), s3.bucket, key, "", "", "", 10)
		if err == nil {
			for _, u := range res.Uploads {
				parts, err := core.ListObjectParts(t.Context(), s3.bucket, u.Key, u.UploadID, 0, 100)
				if err == nil && len(parts.ObjectParts) >= n {
					return true
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// midBackup is what the cases that strike a running backup share: a private source with the big
// database (its inventory taken first), a private MinIO, and `backup now` to prefix in parts of
// 5 MiB, past its snapshot.
type midBackup struct {
	o      *outcome
	src    *mariaDB
	before *dbtest.Inventory
	s3     *minIO
	prefix string
	env    []string
	r      running
	key    string // the backup's object
}

// startMidBackup records the case (name, injected), then starts it; pw names the servers'
// passwords, extra is added to the backup's environment.
func startMidBackup(t *testing.T, name, injected, pw, prefix string, extra ...string) *midBackup {
	t.Helper()
	f := &midBackup{o: record(t, "fault", name, injected), prefix: prefix}
	f.src = startMariaDB(t, "src", "db-pw-"+pw)
	loadBig(t, f.src, "faultsrc", bigRows)
	f.before = dbtest.InventoryOf(t, f.src.server(), "faultsrc")
	f.s3 = startMinIO(t, "s3-pw-"+pw, nil)
	f.env = faultEnv(f.src, f.s3, prefix, append([]string{"BACKUP_S3_PART_SIZE=5MiB"}, extra...)...)
	f.r = startCLI(t, f.env, "backup", "now", "--local", "-o", "json")
	f.key = objectKey(prefix, waitID(t, f.r))
	return f
}

// waitParts waits until n parts of the upload are stored; otherwise it fails the test with
// what and the backup's stderr.
func (f *midBackup) waitParts(t *testing.T, n int, what string) {
	t.Helper()
	if !waitParts(t, f.s3, f.key, n, 2*time.Minute) {
		t.Fatalf("%s; stderr: %s", what, tailString(f.r.wait(t, time.Minute).Stderr, 2000))
	}
}

// sourceUnchanged notes in the report when the source's checksums are still those of before.
func (f *midBackup) sourceUnchanged(t *testing.T) {
	t.Helper()
	if sameInventory(t, f.before, f.src.server(), "faultsrc") {
		f.o.check("source checksums unchanged")
	}
}

func TestFaultMinIOStoppedMidUpload(t *testing.T) {
	needPrivate(t)
	f := startMidBackup(t, "MinIO stopped mid-upload", "SIGKILL to MinIO once 2 parts of 5 MiB are stored, restarted after backupctl ended",
		"mid-upload", "mid-upload")
	o, s3, prefix, r, key := f.o, f.s3, f.prefix, f.r, f.key
	f.waitParts(t, 2, "no multipart upload with 2 parts appeared")
	s3.kill()
	res := r.wait(t, 3*time.Minute)
	s3.start(t)
	st := s3.store(t)
	afterFailure(t, o, res, st, prefix)
	// The endpoint refused the connection: a transient failure, which a Job retries.
	if res.Code != contract.ExitTransient {
		t.Errorf("exit %d, want %d (transient: the endpoint went away): %s", res.Code, contract.ExitTransient, res.Message())
	}
	left := st.incomplete(t, key)
	if !strings.Contains(res.Message(), "upload") && !strings.Contains(res.Message(), s3.endpoint()) {
		t.Errorf("BUG: the message does not say the upload to S3 failed: %q", res.Message())
	}
	if len(left) > 0 {
		// The abort runs when the upload fails, while MinIO is down: it cannot reach it.
		t.Logf("incomplete uploads left after MinIO came back (the abort could not reach it): %v", left)
		o.check(fmt.Sprintf("%d incomplete multipart upload left (abort sent while MinIO was down; expected, removed by the test, a bucket lifecycle rule removes such uploads)", len(left)))
		st.removeIncomplete(t, key)
	} else {
		o.check("no incomplete upload")
	}
	f.sourceUnchanged(t)
}

func TestFaultMinIORestartedMidVerification(t *testing.T) {
	needPrivate(t)
	f := startMidBackup(t, "MinIO restarted mid-verification", "SIGKILL to MinIO at the \"uploaded\" log line, restarted 1 s later",
		"mid-verify", "mid-verify")
	o, s3, prefix, env, r, key := f.o, f.s3, f.prefix, f.env, f.r, f.key
	if _, ok := r.WaitRecord(3*time.Minute, testenv.MsgIs("uploaded")); !ok {
		t.Fatalf("no \"uploaded\" log line; stderr: %s", tailString(r.wait(t, time.Minute).Stderr, 2000))
	}
	s3.kill()
	time.Sleep(time.Second)
	s3.start(t)
	res := r.wait(t, 3*time.Minute)
	st := s3.store(t)
	o.set(res)
	if res.Code == 0 {
		id := resultID(t, res)
		o.check("exit 0: the read-back retried through the restart")
		if ms := st.manifests(t, prefix+"/"); len(ms) != 1 {
			t.Errorf("exit 0 but manifests under the prefix: %v", ms)
		}
		v := runCLI(t, env, "verify", id, "-q")
		if v.Code != 0 {
			t.Errorf("verify %s after a successful backup: exit %d: %s", id, v.Code, v.Message())
		} else {
			o.check("`verify` passes afterwards")
		}
	} else {
		afterFailure(t, o, res, st, prefix)
		noIncompleteUpload(t, o, st, key)
	}
	f.sourceUnchanged(t)
}

func TestFaultMariaDBKilledMidDump(t *testing.T) {
	needPrivate(t)
	f := startMidBackup(t, "MariaDB killed mid-dump", "SIGKILL to the source mariadbd once 1 part of the dump is stored; restarted afterwards",
		"killed", "db-killed")
	o, src, before, s3, prefix, r, key := f.o, f.src, f.before, f.s3, f.prefix, f.r, f.key
	f.waitParts(t, 1, "no part stored")
	src.kill(syscall.SIGKILL)
	src.waitDead(t)
	res := r.wait(t, 3*time.Minute)
	st := s3.store(t)
	afterFailure(t, o, res, st, prefix)
	wantFailed(t, res)
	noIncompleteUpload(t, o, st, key)
	src.start(t)
	if sameAfterCrash(t, before, src.server(), "faultsrc") {
		o.check("source rows, definitions and checksums unchanged after crash recovery (AUTO_INCREMENT aside: InnoDB recomputes it)")
	}
}

func TestFaultMariaDBStalled(t *testing.T) {
	needPrivate(t)
	const timeout = 5 * time.Second
	f := startMidBackup(t, "MariaDB stalled (SIGSTOP) past --db-io-timeout", "SIGSTOP to the source mariadbd mid-dump, --db-io-timeout 5s; SIGCONT after the check",
		"stalled", "db-stalled", "BACKUP_DB_IO_TIMEOUT="+timeout.String())
	o, src, s3, prefix, r, key := f.o, f.src, f.s3, f.prefix, f.r, f.key
	f.waitParts(t, 1, "no part stored")
	src.kill(syscall.SIGSTOP)
	stopped := time.Now()
	defer src.kill(syscall.SIGCONT)
	// The configured timeout plus a generous margin for the upload's own retries.
	grace := timeout + 45*time.Second
	select {
	case <-r.Done():
	case <-time.After(grace):
		t.Errorf("backupctl still runs %s after MariaDB stalled with --db-io-timeout %s: a stalled server hangs the dump; interrupting it with SIGTERM",
			time.Since(stopped).Round(time.Second), timeout)
		o.check(fmt.Sprintf("still running %s after the stall: interrupted with SIGTERM", grace))
		_ = r.Signal(syscall.SIGTERM)
	}
	res := r.wait(t, 2*time.Minute)
	src.kill(syscall.SIGCONT)
	st := s3.store(t)
	afterFailure(t, o, res, st, prefix)
	noIncompleteUpload(t, o, st, key)
	f.sourceUnchanged(t)
}

func TestFaultFullDisk(t *testing.T) {
	needPrivate(t)
	o := record(t, "fault", "full disk under file://", "--to file:// on a 24 MiB tmpfs; the dump is about 100 MB")
	src := startMariaDB(t, "src", "db-pw-full-disk")
	loadBig(t, src, "faultsrc", bigRows)
	before := dbtest.InventoryOf(t, src.server(), "faultsrc")
	mnt, err := os.MkdirTemp(workDir, "disk-")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Fatalf("mount a small tmpfs (the test needs root): %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", mnt).Run() })
	res := runCLI(t, append(src.env(), "BACKUP_TO=file://"+mnt), "backup", "now", "--local", "-o", "json")
	o.set(res)
	if res.Code == 0 {
		t.Errorf("exit 0 on a full disk; stdout: %s", res.Stdout)
	}
	if msgs := res.Messages(); len(msgs) != 1 {
		t.Errorf("stderr has %d lines besides the JSON log, want 1: %q", len(msgs), msgs)
	}
	if !strings.Contains(res.Message(), "no space left") {
		t.Errorf("message does not name the full disk: %q", res.Message())
	}
	var files []string
	_ = filepath.Walk(mnt, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			files = append(files, strings.TrimPrefix(p, mnt+"/"))
		}
		return nil
	})
	if len(files) > 0 {
		t.Errorf("files left on the full disk (half-written object or manifest): %v", files)
	} else {
		o.check("no file left (no temp file, no object, no manifest)")
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(mnt, &st); err == nil {
		if used := (st.Blocks - st.Bfree) * uint64(st.Bsize); used > 1<<20 {
			t.Errorf("%d bytes still used on the disk after the failure", used)
		} else {
			o.check("disk space released")
		}
	}
	if sameInventory(t, before, src.server(), "faultsrc") {
		o.check("source checksums unchanged")
	}
}

func TestFaultDDLDuringDump(t *testing.T) {
	needPrivate(t)
	src := startMariaDB(t, "src", "db-pw-ddl")
	dst := startMariaDB(t, "dst", "db-pw-ddl-dst")
	s3 := startMinIO(t, "s3-pw-ddl", nil)
	cases := []struct{ name, ddl string }{
		{"ALTER TABLE ADD COLUMN", "ALTER TABLE %s.z_victim ADD COLUMN extra INT NOT NULL DEFAULT 7"},
		{"ALTER TABLE (copying) on a table not yet dumped", "ALTER TABLE %s.z_victim MODIFY name VARCHAR(60) NOT NULL, ALGORITHM=COPY"},
		{"RENAME TABLE", "RENAME TABLE %[1]s.z_victim TO %[1]s.z_renamed"},
		{"DROP TABLE", "DROP TABLE %s.z_victim"},
		{"ALTER TABLE on the table being dumped", "SET SESSION lock_wait_timeout = 5; ALTER TABLE %s.a_big ADD COLUMN extra INT NOT NULL DEFAULT 7"},
	}
	for i, tc := range cases {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			db := fmt.Sprintf("ddl%d", i)
			o := record(t, "fault", "DDL during the dump: "+tc.name, "`"+fmt.Sprintf(tc.ddl, db)+"` run as soon as the snapshot is taken, while a_big (40 MB) is being dumped")
			loadBig(t, src, db, 40_000)
			before := dbtest.InventoryOf(t, src.server(), db)
			prefix := "ddl-" + db
			env := faultEnv(src, s3, prefix)
			r := startCLI(t, env, "backup", "now", "--local", "-o", "json", "-d", db)
			waitID(t, r)
			ddlErr := make(chan error, 1)
			go func() {
				out, err := exec.Command("mariadb", "--no-defaults", "-uroot", "--socket="+src.sock, "-e", fmt.Sprintf(tc.ddl, db)).CombinedOutput()
				if err != nil {
					err = fmt.Errorf("%v: %s", err, strings.TrimSpace(string(out)))
				}
				ddlErr <- err
			}()
			res := r.wait(t, 3*time.Minute)
			derr := <-ddlErr
			if derr != nil {
				o.check("the DDL itself failed: " + derr.Error())
			} else {
				o.check("the DDL succeeded")
			}
			st := s3.store(t)
			if res.Code != 0 {
				afterFailure(t, o, res, st, prefix)
				if !strings.Contains(res.Message(), "z_victim") && !strings.Contains(res.Message(), "a_big") {
					t.Errorf("the failure does not name the table the DDL changed: %q", res.Message())
				}
				return
			}
			o.set(res)
			id := resultID(t, res)
			rr := runCLI(t, append(dst.env(), s3.env()...), "restore", id, "--local", "-q", "--prefix", prefix)
			if rr.Code != 0 {
				t.Fatalf("BUG: exit 0 for a backup whose restore fails: exit %d: %s", rr.Code, rr.Message())
			}
			diffs := dbtest.Diff(before, dbtest.InventoryOf(t, dst.server(), db))
			for _, d := range diffs {
				t.Errorf("BUG: exit 0 but the restore differs from the source at snapshot time: %s", d)
			}
			if len(diffs) == 0 {
				o.check("exit 0; restored into another server: equal to the pre-DDL state (definitions, rows, checksums)")
			}
		})
	}
}

func TestFaultTwoBackupsAtOnce(t *testing.T) {
	needPrivate(t)
	o := record(t, "fault", "two backups of the same server at once", "two `backup now --local` processes started together")
	src := startMariaDB(t, "src", "db-pw-twice")
	loadBig(t, src, "faultsrc", 20_000)
	dst := startMariaDB(t, "dst", "db-pw-twice-dst")
	s3 := startMinIO(t, "s3-pw-twice", nil)
	prefix := "twice"
	env := faultEnv(src, s3, prefix)
	var wg sync.WaitGroup
	res := make([]testenv.Result, 2)
	for i := range res {
		wg.Go(func() { res[i] = runCLI(t, env, "backup", "now", "--local", "-o", "json") })
	}
	wg.Wait()
	o.Exit = fmt.Sprintf("%d, %d", res[0].Code, res[1].Code)
	ids := make([]string, 2)
	for i, r := range res {
		if r.Code != 0 {
			o.Message = r.Message()
			t.Fatalf("backup %d: exit %d: %s", i, r.Code, r.Message())
		}
		ids[i] = resultID(t, r)
	}
	if ids[0] == ids[1] {
		t.Fatalf("both backups have id %s", ids[0])
	}
	o.check("two distinct ids")
	for i, id := range ids {
		if v := runCLI(t, env, "verify", id, "-q"); v.Code != 0 {
			t.Errorf("verify %s: exit %d: %s", id, v.Code, v.Message())
		}
		into := fmt.Sprintf("restored%d", i)
		rr := runCLI(t, append(dst.env(), s3.env()...), "restore", id, "--local", "-q", "--prefix", prefix, "--into", into)
		if rr.Code != 0 {
			t.Errorf("restore %s: exit %d: %s", id, rr.Code, rr.Message())
			continue
		}
		dbtest.Compare(t, src.server(), "faultsrc", dst.server(), into)
	}
	if !t.Failed() {
		o.check("both verify", "both restore equal to the source")
	}
}

func TestFaultRestoreTargetDies(t *testing.T) {
	needPrivate(t)
	o := record(t, "fault", "restore target dies mid-restore", "SIGKILL to the target mariadbd 1 s after `restoring database`")
	src := startMariaDB(t, "src", "db-pw-target-dies")
	loadBig(t, src, "faultsrc", bigRows)
	dst := startMariaDB(t, "dst", "db-pw-target-dies-dst")
	s3 := startMinIO(t, "s3-pw-target-dies", nil)
	prefix := "target-dies"
	b := runCLI(t, faultEnv(src, s3, prefix), "backup", "now", "--local", "-o", "json")
	if b.Code != 0 {
		t.Fatalf("backup: exit %d: %s", b.Code, b.Message())
	}
	id := resultID(t, b)
	renv := append(append(dst.env(), s3.env()...), "BACKUP_S3_PREFIX="+prefix)
	r := startCLI(t, renv, "restore", id, "--local")
	if _, ok := r.WaitRecord(2*time.Minute, testenv.MsgIs("restoring database")); !ok {
		t.Fatalf("no \"restoring database\" log line; stderr: %s", tailString(r.wait(t, time.Minute).Stderr, 2000))
	}
	time.Sleep(time.Second)
	if !r.Alive() {
		t.Fatal("the restore ended before the target could be killed: make the data set larger")
	}
	dst.kill(syscall.SIGKILL)
	res := r.wait(t, 2*time.Minute)
	o.set(res)
	wantFailed(t, res)
	if msgs := res.Messages(); len(msgs) != 1 {
		t.Errorf("stderr has %d lines besides the JSON log, want 1: %q", len(msgs), msgs)
	}
	if !strings.Contains(res.Message(), "partial") {
		t.Errorf("BUG: the error line does not say the target is partial (only a JSON log record does): %q", res.Message())
	} else {
		o.check("the message says the target is partial")
	}
	if v := runCLI(t, renv, "verify", id, "-q"); v.Code != 0 {
		t.Errorf("the backup no longer verifies after the failed restore: exit %d: %s", v.Code, v.Message())
	} else {
		o.check("the backup still verifies")
	}
}
