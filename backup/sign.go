package backup

import (
	"context"
	"io"

	"github.com/backupctl/backupctl/backup/crypt"
	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/storage"
)

// SigningKey is the dumper's Ed25519 private key; it never prints itself.
type SigningKey = format.SigningKey

// VerifyKey is the Ed25519 public key that authenticates backups.
type VerifyKey = format.VerifyKey

// AuthError says why a backup is not signed by the verify key.
type AuthError = format.AuthError

// ErrUnauthenticated means a backup is not signed by the verify key given; it is also ErrVerify.
var ErrUnauthenticated = format.ErrUnauthenticated

// GenerateSigningKey makes a new key pair from rand (crypto/rand.Reader).
func GenerateSigningKey(rand io.Reader) (*SigningKey, error) { return format.GenerateSigningKey(rand) }

// ParseSigningKey reads a private key in its text form (backupctl-ed25519-private:BASE64).
func ParseSigningKey(s string) (*SigningKey, error) { return format.ParseSigningKey(s) }

// ParseVerifyKey reads a public key in its text form (backupctl-ed25519:BASE64).
func ParseVerifyKey(s string) (*VerifyKey, error) { return format.ParseVerifyKey(s) }

// VerifyID loads the manifest of backup id and verifies its object. With a key, a backup the
// key does not authenticate is refused (an *AuthError) before its object is read; without
// one, the report says the backup is unauthenticated. An encrypted backup is read with ident.
func VerifyID(ctx context.Context, b storage.Bucket, id string, key *VerifyKey, ident *Identity) (*VerifyReport, error) {
	m, err := LoadManifest(ctx, b, id)
	if err != nil {
		return nil, err
	}
	return VerifyManifest(ctx, b, m, key, ident)
}

// VerifyManifest is VerifyID of a manifest already loaded from b.
func VerifyManifest(ctx context.Context, b storage.Bucket, m *Manifest, key *VerifyKey, ident *Identity) (*VerifyReport, error) {
	var err error
	if err := key.Check(m); err != nil {
		return nil, err
	}
	if m, b, err = crypt.Open(b, m, ident); err != nil {
		return nil, err
	}
	rep, err := Verify(ctx, b, m)
	if err != nil {
		return nil, err
	}
	rep.Authenticated, rep.KeyID = key != nil, m.Signer()
	switch {
	case key != nil:
	case m.Signature != "":
		rep.Note = "unauthenticated: the backup names signing key " + m.Signer() + ", but no --verify-key was given to check it; the checksums alone do not show who wrote it"
	default:
		rep.Note = "unauthenticated: the backup is not signed and no --verify-key was given; the checksums alone do not show who wrote it"
	}
	return rep, nil
}

// OnlyAuthenticated returns the manifests key authenticates, in order; with no key, all of
// them. Prune applies its rules to these only, so a backup not written by the dumper that holds
// the signing key is never counted as newer and never deleted.
func OnlyAuthenticated(all []*Manifest, key *VerifyKey) []*Manifest {
	if key == nil {
		return all
	}
	out := make([]*Manifest, 0, len(all))
	for _, m := range all {
		if key.Authenticated(m) {
			out = append(out, m)
		}
	}
	return out
}
