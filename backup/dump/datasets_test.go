package dump_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/backup/sqltext"
	"github.com/backupctl/backupctl/internal/dbtest"
	"github.com/backupctl/backupctl/storage/storagetest"
)

// datasetRoundTrip dumps db from the source into a file:// bucket, replays the object into the
// target with the stock tools (`zstd -dc OBJ | mariadb`), and compares the two databases.
func datasetRoundTrip(t *testing.T, src, dst *dbtest.Server, db, compression string) *backup.Result {
	t.Helper()
	dec := map[string]string{backup.CompressZstd: "zstd -dc", backup.CompressGzip: "gzip -dc", backup.CompressNone: "cat"}[compression]
	return stockRoundTrip(t, src, dst, backup.DumpOptions{Databases: []string{db}, Compression: compression}, dec+` "$1"`)
}

// stockRoundTrip dumps opts.Databases[0] with opts into a file:// bucket, replays the object
// into the target with the shell command replay (the object's path is $1, the client reads its
// output), and compares the two databases.
func stockRoundTrip(t *testing.T, src, dst *dbtest.Server, opts backup.DumpOptions, replay string) *backup.Result {
	t.Helper()
	db := opts.Databases[0]
	b, dir := storagetest.Local(t)
	res, err := backup.Dump(t.Context(), src.Config(), b, opts)
	if err != nil {
		t.Fatalf("Dump: %v", err)
	}
	if !res.Verified || res.BytesRead != res.Size {
		t.Fatalf("result %+v", res)
	}
	t.Logf("%s: %d tables, %d rows, %d raw bytes, %d stored (%s, encrypted %v), %.2fs with verification",
		db, res.Tables, res.Rows, res.RawSize, res.Size, res.Compression, res.Encrypted, res.DurationSeconds)
	// The object is replayed with the stock decompressor and client, as a user without
	// backupctl would, without --comments: the objects' statements travel as hex, so the
	// client cannot strip the comments inside routine bodies.
	file := filepath.Join(dir, filepath.FromSlash(res.Key))
	conn := fmt.Sprintf("-h %s -P %d -u %s", dst.Host, dst.Port, dst.User)
	replayDir := t.TempDir()
	cmd := exec.CommandContext(t.Context(), "sh", "-c", replay+` | mariadb --no-defaults `+conn, "sh", file)
	cmd.Dir = replayDir // a shell command hidden in a name, were it run, would land here
	cmd.Env = append(os.Environ(), "MYSQL_PWD="+string(dst.Password))
	t.Cleanup(func() {
		drop := exec.Command("mariadb", "--no-defaults", "-h", dst.Host, "-P", fmt.Sprint(dst.Port), "-u", dst.User,
			"-e", "DROP DATABASE IF EXISTS "+sqltext.QuoteIdent(db))
		drop.Env = cmd.Env
		if out, err := drop.CombinedOutput(); err != nil {
			t.Logf("drop %s on the target: %v %s", db, err, out)
		}
	})
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("replay with the stock client: %v\n%s", err, out)
	}
	dbtest.AssertNoShellEscape(t, replayDir)
	dbtest.Compare(t, src, db, dst, db)
	return res
}

// TestDumpDatasetRoundTrips runs on the generated sample database, which every clone has, and
// on Sakila when the shared data sets are here.
func TestDumpDatasetRoundTrips(t *testing.T) {
	src, dst := dbtest.Source(t), dbtest.Target(t)
	least := map[string]struct {
		tables int
		rows   int64
	}{"sample": {13, 50000}, "sakila": {16, 40000}}
	for _, c := range dbtest.Cases(t, "sakila") {
		t.Run(c.Name, func(t *testing.T) {
			db := dbtest.UniqueName("bk_" + c.Name)
			c.Load(t, src, db)
			res := datasetRoundTrip(t, src, dst, db, backup.CompressZstd)
			if want := least[c.Name]; res.Tables < want.tables || res.Rows < want.rows {
				t.Errorf("%s: %d tables, %d rows; want at least %d, %d", c.Name, res.Tables, res.Rows, want.tables, want.rows)
			}
		})
	}
}

func TestDumpEmployeesRoundTrip(t *testing.T) {
	src, dst := dbtest.Source(t), dbtest.Target(t)
	dir, ok := dbtest.DatasetDir(t, "employees")
	if !ok {
		return
	}
	db := dbtest.UniqueName("bk_emp_")
	dbtest.LoadEmployees(t, src, db)
	// objects.sql adds the data set's functions, procedures and views (with comments in their
	// bodies); it names its database on its first line.
	objects, err := os.ReadFile(filepath.Join(dir, "objects.sql"))
	if err != nil {
		t.Fatal(err)
	}
	objects = bytes.Replace(objects, []byte("use employees;"), []byte("USE "+sqltext.QuoteIdent(db)+";"), 1)
	dbtest.RunClient(t, src, db, bytes.NewReader(objects), dbtest.ClientOptions{})
	res := datasetRoundTrip(t, src, dst, db, backup.CompressGzip)
	if len(res.Databases) != 1 {
		t.Errorf("databases %v", res.Databases)
	}
}

func TestDumpAdversarialDatasetRoundTrip(t *testing.T) {
	src, dst := dbtest.Source(t), dbtest.Target(t)
	db := dbtest.UniqueName("bk_adv_")
	dbtest.LoadAdversarial(t, src, db)
	res := datasetRoundTrip(t, src, dst, db, backup.CompressZstd)
	if strings.Contains(res.Key, "\n") {
		t.Errorf("key %q", res.Key)
	}
}
