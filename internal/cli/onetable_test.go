package cli

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/internal/dbtest"
)

// testRestoreCmd is `restore ID --local` as backupctl and the dumper run it.
type testRestoreCmd struct {
	ID             string `arg:""`
	RestoreOptions `embed:""`
	DBFlags        `embed:""`
	StorageFlags   `embed:""`
}

func (c *testRestoreCmd) Run(ctx context.Context, g *Globals) error {
	res, err := LocalRestore(ctx, g, c.DBFlags, c.StorageFlags, c.ID, c.RestoreOptions)
	if err != nil {
		return err
	}
	return g.Print(res)
}

type testRestoreCLI struct {
	Globals
	Restore testRestoreCmd `cmd:""`
}

// TestRestoreTableIntoCLI: `restore -t db.t --into other --dry-run` prints the plan of the table
// under other and changes nothing; a table whose foreign key points at a table the target lacks
// is refused with exit 2, naming the key and --without-foreign-keys; the env twin of the flag
// lets it through.
func TestRestoreTableIntoCLI(t *testing.T) {
	src, dst := dbtest.Source(t), dbtest.Target(t)
	name := src.CreateDatabase(t, "cli_one")
	into := dbtest.UniqueName("cli_one_into")
	dst.DropAtEnd(t, name)
	dst.DropAtEnd(t, into)
	src.Exec(t, "CREATE TABLE "+dbtest.QuoteIdent(name)+".p (id INT PRIMARY KEY)",
		"CREATE TABLE "+dbtest.QuoteIdent(name)+".c (id INT PRIMARY KEY, pid INT, CONSTRAINT fk_c FOREIGN KEY (pid) REFERENCES p (id))",
		"INSERT INTO "+dbtest.QuoteIdent(name)+".p VALUES (1)",
		"INSERT INTO "+dbtest.QuoteIdent(name)+".c VALUES (1, 1), (2, 1)")
	to := "file://" + t.TempDir()
	b, err := StorageFlags{To: to, S3PartSize: "8MiB"}.Open(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	res, err := backup.Dump(t.Context(), src.Config(), b, backup.DumpOptions{Databases: []string{name}})
	if err != nil {
		t.Fatal(err)
	}
	run := func(env map[string]string, args ...string) (int, string, string) {
		t.Helper()
		for k, v := range map[string]string{"BACKUP_DB_HOST": dst.Host, "BACKUP_DB_PORT": strconv.Itoa(dst.Port), "BACKUP_DB_SOCKET": dst.Socket,
			"BACKUP_DB_USER": dst.User, "BACKUP_DB_PASSWORD": string(dst.Password), "BACKUP_TO": to} {
			t.Setenv(k, v)
		}
		for k, v := range env {
			t.Setenv(k, v)
		}
		for _, k := range []string{"BACKUP_S3_ENDPOINT", "BACKUP_S3_BUCKET", "BACKUP_S3_PREFIX", "BACKUP_OUTPUT"} {
			t.Setenv(k, "") // restored after the test
			os.Unsetenv(k)
		}
		var out, errb bytes.Buffer
		c := &testRestoreCLI{}
		c.Stdout, c.Stderr = &out, &errb
		kctx, err := Parse(context.Background(), "backupctl", "test", c, append([]string{"restore", res.ID, "-q"}, args...))
		if err == nil {
			err = kctx.Run()
		}
		return Exit(&c.Globals, "backupctl", err), out.String(), errb.String()
	}
	schemas := func() int {
		var n int
		if err := dst.DB(t, "").QueryRowContext(t.Context(), "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN (?, ?)", name, into).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	code, out, stderr := run(nil, "-t", name+".p", "--into", into, "--dry-run")
	t.Logf("restore -t %s.p --into %s --dry-run:\n%s", name, into, out)
	if code != contract.ExitOK || !strings.Contains(out, "database: "+into) || !strings.Contains(out, "name: p") || !strings.Contains(out, "dry_run: true") {
		t.Errorf("--dry-run: exit %d, stdout:\n%s\nstderr: %s", code, out, stderr)
	}
	if n := schemas(); n != 0 {
		t.Errorf("the dry run created %d databases", n)
	}

	code, _, stderr = run(nil, "-t", name+".c", "--into", into)
	if code != contract.ExitUsage || !strings.Contains(stderr, "foreign key fk_c references "+into+".p") || !strings.Contains(stderr, "--without-foreign-keys") {
		t.Errorf("refused restore: exit %d, stderr: %s", code, stderr)
	}
	if n := schemas(); n != 0 {
		t.Errorf("the refused restore created %d databases", n)
	}

	code, out, stderr = run(map[string]string{"BACKUP_RESTORE_WITHOUT_FOREIGN_KEYS": "true"}, "-t", name+".c", "--into", into)
	if code != contract.ExitOK || !strings.Contains(out, "left out (--without-foreign-keys)") {
		t.Errorf("BACKUP_RESTORE_WITHOUT_FOREIGN_KEYS: exit %d, stdout:\n%s\nstderr: %s", code, out, stderr)
	}
	var rows int
	if err := dst.DB(t, "").QueryRowContext(t.Context(), "SELECT COUNT(*) FROM "+dbtest.QuoteIdent(into)+".c").Scan(&rows); err != nil || rows != 2 {
		t.Errorf("%s.c holds %d rows (%v), want 2", into, rows, err)
	}
}
