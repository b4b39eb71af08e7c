package cli

import (
	"os"
	"strings"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/contract"
)

// VerifyKeyFlags give the public key backups must be signed by. It is public: a flag, an
// argument of a Job or a line in a script are fine places for it.
type VerifyKeyFlags struct {
	VerifyKey     string `name:"verify-key" env:"BACKUP_VERIFY_KEY" help:"Public key (backupctl-ed25519:..., from backupctl keygen) backups must be signed by: unsigned or wrongly signed backups are refused."`
	VerifyKeyFile string `name:"verify-key-file" env:"BACKUP_VERIFY_KEY_FILE" help:"File holding the public key, instead of --verify-key."`
}

// Key is the verify key, or nil when none is given.
func (f VerifyKeyFlags) Key() (*backup.VerifyKey, error) {
	text := f.VerifyKey
	switch {
	case f.VerifyKey != "" && f.VerifyKeyFile != "":
		return nil, contract.Usagef("both --verify-key and --verify-key-file are set: give the public key once")
	case f.VerifyKeyFile != "":
		b, err := os.ReadFile(f.VerifyKeyFile)
		if err != nil {
			return nil, contract.Usagef("read --verify-key-file: %v", err)
		}
		text = string(b)
	case text == "":
		return nil, nil
	}
	k, err := backup.ParseVerifyKey(strings.TrimSpace(text))
	if err != nil {
		return nil, contract.Usagef("%v", err)
	}
	return k, nil
}

// SigningKeyFromEnv is the dumper's signing key from BACKUP_SIGNING_KEY, or nil when it is not
// set (the backup is then written unsigned).
func SigningKeyFromEnv() (*backup.SigningKey, error) {
	text := strings.TrimSpace(os.Getenv(contract.EnvSigningKey))
	if text == "" {
		return nil, nil
	}
	k, err := backup.ParseSigningKey(text)
	if err != nil {
		return nil, contract.Usagef("%s: %v", contract.EnvSigningKey, err)
	}
	return k, nil
}
