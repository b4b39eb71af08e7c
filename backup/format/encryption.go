package format

import (
	"crypto/sha256"
	"encoding/hex"
)

// EncryptionAge names age (age-encryption.org/v1), the one scheme of Encryption.Scheme.
const EncryptionAge = "age"

// EncryptedSetPrefix starts the derived set name of an encrypted backup: a digest stands for
// the server and database names, which only the sealed part holds.
const EncryptedSetPrefix = "encrypted/"

// Encryption describes an encrypted backup (docs/FORMAT.md, "Encryption"). The object is one
// age file of the compressed stream; the plaintext manifest keeps only what list and prune need
// without the identity, and Sealed holds the rest.
type Encryption struct {
	Scheme string `json:"scheme"`
	// Recipients are the public keys the object and Sealed are encrypted to, as given (an SSH
	// key without its comment): errors name them when no identity fits.
	Recipients []string `json:"recipients"`
	// HeaderLength is the length of the object's age header: the payload nonce follows it.
	HeaderLength int64 `json:"header_length"`
	// SetDigest stands for the derived set (server and databases) when no --set was given.
	SetDigest string `json:"set_digest,omitempty"`
	// Sealed is the age file (standard base64) of the whole manifest as a plaintext backup's
	// would be for the decrypted object.
	Sealed string `json:"sealed"`
}

// SetDigest is the digest an encrypted backup records for the set m would derive.
func SetDigest(m *Manifest) string {
	h := sha256.Sum256([]byte(m.SetName()))
	return hex.EncodeToString(h[:8])
}
