package format

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// A backup's manifest is signed with an Ed25519 key that is not stored in the bucket: the
// dumper holds the private key (from its Job's Secret), and whoever reads backups holds only the
// public key. The signature covers the manifest's canonical encoding, which carries the object's
// SHA-256 and every section's range and checksum, so a signed manifest pins every byte a restore
// applies. See docs/FORMAT.md, "Signatures".

// Text forms of the keys: a prefix, then standard base64 of the 32-byte public key or of the
// 32-byte private seed.
const (
	PublicKeyPrefix  = "backupctl-ed25519:"
	PrivateKeyPrefix = "backupctl-ed25519-private:"
)

// signingDomain is prepended to the manifest's canonical bytes before signing, so a signature
// made for anything else with the same key never passes as a manifest's.
const signingDomain = "backupctl manifest signature v1\n"

// ErrUnauthenticated marks a backup that is not signed by the verify key given: unsigned,
// signed by another key, or changed after it was signed. It is also ErrVerify.
var ErrUnauthenticated = errors.New("backup is not authenticated")

// SigningKey is the dumper's private key. It never prints itself.
type SigningKey struct {
	priv ed25519.PrivateKey
	pub  *VerifyKey
}

// VerifyKey is the public key that restore, verify, list and prune check signatures with.
type VerifyKey struct {
	pub ed25519.PublicKey
	id  string
}

// KeyIDOf is the id of a public key: the first 8 bytes of its SHA-256, in hex. Manifests record
// it, and errors name it, so that a wrong key is told from a forged backup.
func KeyIDOf(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return hex.EncodeToString(h[:8])
}

// GenerateSigningKey makes a new key pair from rand (crypto/rand.Reader in real use).
func GenerateSigningKey(rand io.Reader) (*SigningKey, error) {
	_, priv, err := ed25519.GenerateKey(rand)
	if err != nil {
		return nil, fmt.Errorf("generate an Ed25519 key: %w", err)
	}
	return newSigningKey(priv), nil
}

func newSigningKey(priv ed25519.PrivateKey) *SigningKey {
	pub := priv.Public().(ed25519.PublicKey)
	return &SigningKey{priv: priv, pub: &VerifyKey{pub: pub, id: KeyIDOf(pub)}}
}

// ParseSigningKey reads the text form of a private key (backupctl-ed25519-private:BASE64).
func ParseSigningKey(s string) (*SigningKey, error) {
	seed, err := decodeKey(s, PrivateKeyPrefix, ed25519.SeedSize)
	if err != nil {
		if strings.HasPrefix(strings.TrimSpace(s), PublicKeyPrefix) {
			return nil, errors.New("the signing key is a public key (backupctl-ed25519:...): the dumper needs the private key that `backupctl keygen` wrote to its --out file")
		}
		return nil, fmt.Errorf("the signing key is not a backupctl private key (%s...): %v; make a pair with `backupctl keygen`", PrivateKeyPrefix, err)
	}
	return newSigningKey(ed25519.NewKeyFromSeed(seed)), nil
}

// ParseVerifyKey reads the text form of a public key (backupctl-ed25519:BASE64).
func ParseVerifyKey(s string) (*VerifyKey, error) {
	if strings.HasPrefix(strings.TrimSpace(s), PrivateKeyPrefix) {
		return nil, errors.New("the verify key is a private key: give the public key (backupctl-ed25519:..., printed by `backupctl keygen`), and keep the private key only in the backup Jobs' Secret")
	}
	b, err := decodeKey(s, PublicKeyPrefix, ed25519.PublicKeySize)
	if err != nil {
		return nil, fmt.Errorf("the verify key is not a backupctl public key (%s...): %v; `backupctl keygen` prints one", PublicKeyPrefix, err)
	}
	pub := ed25519.PublicKey(b)
	return &VerifyKey{pub: pub, id: KeyIDOf(pub)}, nil
}

func decodeKey(s, prefix string, size int) ([]byte, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), prefix)
	if !ok {
		return nil, errors.New("wrong prefix")
	}
	b, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return nil, errors.New("not base64")
	}
	if len(b) != size {
		return nil, fmt.Errorf("%d bytes, want %d", len(b), size)
	}
	return b, nil
}

// Public is the key's public half.
func (k *SigningKey) Public() *VerifyKey { return k.pub }

// PrivateText is the private key's text form, for `backupctl keygen` to write to a file.
func (k *SigningKey) PrivateText() string {
	return PrivateKeyPrefix + base64.StdEncoding.EncodeToString(k.priv.Seed())
}

// String names the key by its id and never shows it.
func (k *SigningKey) String() string { return "signing key " + k.pub.id }

// GoString keeps %#v from printing the key.
func (k *SigningKey) GoString() string { return k.String() }

// ID is the key's id (KeyIDOf).
func (k *VerifyKey) ID() string { return k.id }

// String is the public key's text form.
func (k *VerifyKey) String() string {
	return PublicKeyPrefix + base64.StdEncoding.EncodeToString(k.pub)
}

// signedBytes are the bytes a manifest's signature covers: the domain, then the manifest's JSON
// encoding with Checksum and Signature empty (KeyID included).
func (m *Manifest) signedBytes() ([]byte, error) {
	c := *m
	c.Checksum, c.Signature = "", ""
	b, err := json.Marshal(&c)
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	return append([]byte(signingDomain), b...), nil
}

// Sign records k's id and signs the manifest. It is the last change before Encode (which
// seals the checksum over the signature too).
func (m *Manifest) Sign(k *SigningKey) error {
	m.KeyID, m.Signature = k.pub.id, ""
	b, err := m.signedBytes()
	if err != nil {
		return err
	}
	m.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(k.priv, b))
	return nil
}

// AuthError says why a backup is not authenticated by a verify key; it is ErrUnauthenticated
// and ErrVerify.
type AuthError struct {
	ID     string
	Want   string // the verify key's id
	Signer string // the key id the manifest names; empty when unsigned
	Reason string
}

// Error is one line naming the backup and the key ids.
func (e *AuthError) Error() string {
	return fmt.Sprintf("%v: backup %s is not signed by key %s (%s): it was not written by your backups' dumper or was changed after; check --verify-key, or do not use this backup",
		ErrVerify, e.ID, e.Want, e.Reason)
}

// Unwrap makes the error ErrUnauthenticated and ErrVerify.
func (e *AuthError) Unwrap() []error { return []error{ErrUnauthenticated, ErrVerify} }

// Check returns nil when m is signed by k, else an *AuthError. A nil k checks nothing.
func (k *VerifyKey) Check(m *Manifest) error {
	if k == nil {
		return nil
	}
	e := &AuthError{ID: m.ID, Want: k.id, Signer: m.KeyID}
	switch {
	case m.Signature == "" && m.KeyID == "":
		e.Reason = "it is unsigned"
		return e
	case m.KeyID != k.id:
		e.Reason = fmt.Sprintf("it names key %s", oneLine(m.KeyID))
		if m.KeyID == "" {
			e.Reason = "it names no key"
		}
		return e
	}
	sig, err := base64.StdEncoding.DecodeString(m.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		e.Reason = "its signature is malformed"
		return e
	}
	b, err := m.signedBytes()
	if err != nil {
		return err
	}
	if !ed25519.Verify(k.pub, b, sig) {
		e.Reason = "its signature does not match its contents"
		return e
	}
	return nil
}

// Authenticated says whether m is signed by k; with no key nothing is authenticated.
func (k *VerifyKey) Authenticated(m *Manifest) bool {
	return k != nil && k.Check(m) == nil
}

// Signer is the key id the manifest names, safe to print: quoted when it is not hex.
func (m *Manifest) Signer() string {
	if m.KeyID == "" {
		return ""
	}
	return oneLine(m.KeyID)
}

// oneLine keeps a key id read from a manifest on one line and short in a message.
func oneLine(s string) string {
	if _, err := hex.DecodeString(s); err == nil && len(s) <= 64 {
		return s
	}
	return strconv.Quote(s[:min(len(s), 64)])
}
