package restore

import (
	"errors"
	"strings"
	"testing"

	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/internal/testenv"
)

// TestRestoreHostileStatementRefusedFirst restores backups whose checksums are all correct but
// whose last sections hold a statement no dump writes: the check before the restore refuses
// them and nothing is applied, whether the statements are checked in the verifier's pass (the
// whole object) or in a pass of their own (one database of two).
func TestRestoreHostileStatementRefusedFirst(t *testing.T) {
	s := restoreTestEnv(t)
	dst := restoreTestDB(t, s.dst)
	for _, tc := range []struct {
		name string
		edit func(f *restoreFixture)
	}{
		{"GRANT in the post section", func(f *restoreFixture) { f.post += "GRANT ALL ON *.* TO 'x'@'%';\n" }},
		{"a subquery in the last table's rows", func(f *restoreFixture) {
			f.tables[3].data += "INSERT INTO `seq` VALUES ((SELECT 1));\n"
		}},
	} {
		for _, one := range []bool{false, true} {
			name := tc.name + ", whole object"
			if one {
				name = tc.name + ", one database of two"
			}
			t.Run(name, func(t *testing.T) {
				a, b := testenv.UniqueName("rst_hostile_a"), testenv.UniqueName("rst_hostile_b")
				restoreDropAtEnd(t, dst, a, b)
				fa, fb := newRestoreFixture(a), newRestoreFixture(b)
				tc.edit(&fa)
				m := putRestoreFixture(t, s.bucket, fb, fa)
				opts := Options{}
				if one {
					opts.Databases = []string{a}
				}
				restoreUnchanged(t, dst, []string{a, b}, "a refused restore", func() {
					_, err := restoreFixtureRun(t, s.dst, s.bucket, m, opts)
					if !errors.Is(err, format.ErrVerify) || !strings.Contains(err.Error(), "tampered with") || !strings.Contains(err.Error(), "nothing was applied") {
						t.Errorf("err %v; want the statement refused before anything was applied", err)
					}
				})
			})
		}
	}
}
