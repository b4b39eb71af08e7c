package dump

import (
	"fmt"

	"github.com/backupctl/backupctl/backup/format"
)

// sign signs the manifest with the options' key, or says the backup is unsigned.
func (d *dumper) sign(m *format.Manifest) error {
	k := d.opts.SigningKey
	if k == nil {
		d.log.Warn("no signing key (BACKUP_SIGNING_KEY): the backup is not signed, and restore or verify with --verify-key will refuse it", "id", d.id)
		return nil
	}
	if err := m.Sign(k); err != nil {
		return fmt.Errorf("sign the manifest: %w", err)
	}
	d.log.Info("manifest signed", "id", d.id, "key_id", k.Public().ID())
	return nil
}
