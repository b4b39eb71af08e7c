package jobs

import "github.com/backupctl/backupctl/contract"

// KeyAgeIdentity is the Secret's optional key holding the age identity that decrypts encrypted
// backups. Only restore Jobs get it; backup Jobs and the CronJob get the public recipients as
// arguments, so a backup pod cannot read any backup.
const KeyAgeIdentity = contract.EnvAgeIdentity

// withAgeIdentity gives a restore Job's pod BACKUP_AGE_IDENTITY from the Secret, optional so
// that restores of plaintext backups run without it.
func withAgeIdentity(s Spec) Spec { return withOptionalSecret(s, KeyAgeIdentity) }
