package dump_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/internal/dbtest"
)

// TestDumpEncryptedStockRestore restores whole encrypted backups with the stock tools alone:
// `age -d -i key.txt dump.sql.zst.age | zstd -dc | mariadb`, as README's Encryption section
// says (Debian's age, which scripts/packages.sh installs).
func TestDumpEncryptedStockRestore(t *testing.T) {
	src, dst := dbtest.Source(t), dbtest.Target(t)
	secret, pub, err := backup.GenerateAgeIdentity()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "key.txt")
	if err := os.WriteFile(keyFile, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	rcpts, err := backup.ParseRecipients([]string{pub})
	if err != nil {
		t.Fatal(err)
	}
	cases := append(dbtest.Cases(t, "sakila"), dbtest.Case{Name: "adversarial", Load: dbtest.LoadAdversarial})
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			db := dbtest.UniqueName("bk_age_" + c.Name)
			c.Load(t, src, db)
			opts := backup.DumpOptions{Databases: []string{db}, Recipients: rcpts}
			res := stockRoundTrip(t, src, dst, opts, `age -d -i '`+keyFile+`' "$1" | zstd -dc`)
			if !res.Encrypted {
				t.Errorf("result %+v is not encrypted", res)
			}
		})
	}
}
