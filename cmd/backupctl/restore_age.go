package main

import (
	"fmt"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/internal/cli"
)

// openEncrypted is the whole manifest of m for checking a restore here: m itself, or an
// encrypted backup's decrypted with the identity given here. Without one it returns nil and says
// that the Job, which has the identity from the Secret, checks the selection.
func (c *restoreCmd) openEncrypted(m *backup.Manifest, g *cli.Globals) (*backup.Manifest, error) {
	if m.Encryption == nil {
		return m, nil
	}
	ident, err := c.Identity()
	if err != nil || ident == nil {
		if err == nil && !g.Quiet {
			fmt.Fprintf(g.Err(), "not checked here: what backup %s holds (it is encrypted and no %s or --age-identity-file is given here); the Job checks it with the Secret's\n",
				m.ID, contract.EnvAgeIdentity)
		}
		return nil, err
	}
	return backup.OpenManifest(m, ident)
}
