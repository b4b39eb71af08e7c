package backup

import "github.com/backupctl/backupctl/backup/crypt"

// Identity is the age identity that decrypts encrypted backups; it never prints itself.
type Identity = crypt.Identity

// Recipients are the age public keys a backup is encrypted to.
type Recipients = crypt.Recipients

// ParseIdentity reads an age identity (AGE-SECRET-KEY-1...) or an SSH private key.
func ParseIdentity(text string) (*Identity, error) { return crypt.ParseIdentity(text) }

// ParseRecipients reads age (age1...) and SSH (ssh-ed25519, ssh-rsa) public keys; none is nil.
func ParseRecipients(lines []string) (*Recipients, error) { return crypt.ParseRecipients(lines) }

// GenerateAgeIdentity makes an age X25519 pair: the secret key file's text and the public key.
func GenerateAgeIdentity() (secret, public string, err error) { return crypt.GenerateIdentity() }

// OpenManifest is the whole manifest of m: m itself, or an encrypted backup's sealed part
// decrypted with ident.
func OpenManifest(m *Manifest, ident *Identity) (*Manifest, error) {
	return crypt.OpenManifest(m, ident)
}
