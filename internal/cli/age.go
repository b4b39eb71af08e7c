package cli

import (
	"errors"
	"os"
	"strings"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/contract"
)

// EncryptFlags name the age recipients a backup is encrypted to. They are public keys: flags
// and Job arguments are fine places for them.
type EncryptFlags struct {
	EncryptTo     []string `name:"encrypt-to" env:"BACKUP_AGE_RECIPIENTS" sep:"," help:"Encrypt the backup with age to this recipient: an age public key (age1...) or an SSH ed25519/RSA public key (repeatable, or comma-separated in the env twin)."`
	EncryptToFile string   `name:"encrypt-to-file" env:"BACKUP_AGE_RECIPIENTS_FILE" help:"File of age recipients, one per line (# comments allowed), besides any --encrypt-to."`
}

// Recipients are the recipients given, nil when none (the backup is then not encrypted).
func (f EncryptFlags) Recipients() (*backup.Recipients, error) {
	lines := append([]string(nil), f.EncryptTo...)
	if f.EncryptToFile != "" {
		b, err := os.ReadFile(f.EncryptToFile)
		if err != nil {
			return nil, contract.Usagef("read --encrypt-to-file: %v", err)
		}
		// A file that names nobody must not turn encryption off.
		if r, err := backup.ParseRecipients([]string{string(b)}); err != nil || r == nil {
			if err == nil {
				err = errNoRecipient
			}
			return nil, contract.Usagef("--encrypt-to-file %s: %v", f.EncryptToFile, err)
		}
		lines = append(lines, string(b))
	}
	r, err := backup.ParseRecipients(lines)
	if err != nil {
		return nil, contract.Usagef("--encrypt-to: %v", err)
	}
	return r, nil
}

// errNoRecipient is an --encrypt-to-file without a recipient line.
var errNoRecipient = errors.New("no recipient in it (one age1... or ssh-... public key a line)")

// RecipientArgs are the recipients as a Job passes them: the --encrypt-to-file read here, so
// the Job needs no file.
func (f EncryptFlags) RecipientArgs() ([]string, error) {
	r, err := f.Recipients()
	if r == nil || err != nil {
		return nil, err
	}
	return r.Strings(), nil
}

// IdentityFlags give the age identity that decrypts encrypted backups: the file named here, or
// the secret itself in BACKUP_AGE_IDENTITY, which has no flag so that it never shows in a
// command line.
type IdentityFlags struct {
	AgeIdentityFile string `name:"age-identity-file" env:"BACKUP_AGE_IDENTITY_FILE" help:"File holding the age identity (AGE-SECRET-KEY-1..., or an SSH private key) that decrypts encrypted backups here; or set BACKUP_AGE_IDENTITY to the key itself (no flag: it is a secret). A restore Job reads BACKUP_AGE_IDENTITY from the Secret."`
}

// Identity is the identity given, or nil when none is.
func (f IdentityFlags) Identity() (*backup.Identity, error) {
	text := os.Getenv(contract.EnvAgeIdentity)
	switch {
	case f.AgeIdentityFile != "" && strings.TrimSpace(text) != "":
		return nil, contract.Usagef("both --age-identity-file and %s are set: give the identity once", contract.EnvAgeIdentity)
	case f.AgeIdentityFile != "":
		b, err := os.ReadFile(f.AgeIdentityFile)
		if err != nil {
			return nil, contract.Usagef("read --age-identity-file: %v", err)
		}
		text = string(b)
	case strings.TrimSpace(text) == "":
		return nil, nil
	}
	id, err := backup.ParseIdentity(text)
	if err != nil {
		return nil, contract.Usagef("%v", err)
	}
	return id, nil
}
