package main

import (
	"fmt"
	"io"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/contract"
)

// openForList is the manifest list shows: an encrypted backup's sealed part decrypted when the
// identity is given (a wrong one is an error naming the recipients), else the plaintext part.
func openForList(m *backup.Manifest, ident *backup.Identity) (*backup.Manifest, error) {
	if m.Encryption == nil || ident == nil {
		return m, nil
	}
	return backup.OpenManifest(m, ident)
}

// sealedOr is s, or "(encrypted)" for what an encrypted backup listed without its identity
// keeps hidden.
func sealedOr(e listEntry, s string) string {
	if e.Sealed {
		return "(encrypted)"
	}
	return s
}

// sealedNote says how to see what the encrypted backups listed keep hidden, when there are any.
func sealedNote(w io.Writer, entries []listEntry) {
	n := 0
	for _, e := range entries {
		if e.Sealed {
			n++
		}
	}
	if n > 0 {
		fmt.Fprintf(w, "%d backup(s) are encrypted: their databases, tables and rows show with the identity (%s or --age-identity-file)\n", n, contract.EnvAgeIdentity)
	}
}
