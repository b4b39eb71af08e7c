package main

import (
	"os"

	"github.com/backupctl/backupctl/backup"
)

// openEncrypted is the whole manifest of an encrypted backup, opened with the identity in
// BACKUP_AGE_IDENTITY (the bench's encrypted runs set it); m itself otherwise.
func openEncrypted(m *backup.Manifest) (*backup.Manifest, error) {
	if m.Encryption == nil {
		return m, nil
	}
	id, err := backup.ParseIdentity(os.Getenv("BACKUP_AGE_IDENTITY"))
	if err != nil {
		return nil, err
	}
	return backup.OpenManifest(m, id)
}
