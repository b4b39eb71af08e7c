package crypt

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"filippo.io/age"

	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/storage"
)

// Upload encrypts one new backup: the object to the recipients and to an identity made for this
// run only, with which the dump reads the object back before the manifest exists. Seal drops
// that identity.
type Upload struct {
	rcpts  *Recipients
	run    age.Identity
	runR   age.Recipient
	out    counter
	hdrLen int64
	rb     *Bucket
}

// NewUpload prepares the encryption of one backup to r.
func NewUpload(r *Recipients) (*Upload, error) {
	u := &Upload{rcpts: r}
	if r.postQuantum() {
		id, err := age.GenerateHybridIdentity()
		if err != nil {
			return nil, fmt.Errorf("generate the run's age identity: %w", err)
		}
		u.run, u.runR = id, id.Recipient()
	} else {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			return nil, fmt.Errorf("generate the run's age identity: %w", err)
		}
		u.run, u.runR = id, id.Recipient()
	}
	return u, nil
}

// ObjectKey is the key of the encrypted object: the plaintext one with .age.
func ObjectKey(plain string) string { return plain + ".age" }

// Encrypt returns the writer the compressed stream goes through to dst; Close writes the last
// chunk. It is called once.
func (u *Upload) Encrypt(dst io.Writer) (io.WriteCloser, error) {
	u.out.w = dst
	w, err := age.Encrypt(&u.out, append(slices.Clone(u.rcpts.list), u.runR)...)
	if err != nil {
		return nil, fmt.Errorf("start the age encryption: %w", err)
	}
	u.hdrLen = u.out.n - nonceSize // age writes the header and the nonce at once
	return w, nil
}

// Stored is the number of encrypted bytes written so far.
func (u *Upload) Stored() int64 { return u.out.n }

// ReadBack is b showing the new object's plaintext, of plainSize bytes, read with the run's
// identity; its whole read records the stored SHA-256 that Seal puts in the manifest.
func (u *Upload) ReadBack(b storage.Bucket, key string, plainSize int64) *Bucket {
	u.rb = &Bucket{Bucket: b, key: key, encSize: u.out.n, plainSize: plainSize, hdrLen: u.hdrLen, id: []age.Identity{u.run}}
	return u.rb
}

// ReadBackBytes is the number of stored bytes the read-back of ReadBack took.
func (u *Upload) ReadBackBytes() int64 {
	u.rb.mu.Lock()
	defer u.rb.mu.Unlock()
	return u.rb.readBack
}

// Seal returns the manifest to store for inner, the manifest of the verified plaintext stream:
// the fields list and prune need, the stored object's size and SHA-256, and inner itself
// encrypted to the recipients (not to the run's identity, which it forgets).
func (u *Upload) Seal(inner *format.Manifest) (*format.Manifest, error) {
	u.run, u.runR = nil, nil
	if u.rb == nil || u.rb.recorded == "" {
		return nil, errors.New("the encrypted object was not read back: nothing to seal")
	}
	enc := &format.Encryption{Scheme: format.EncryptionAge, Recipients: u.rcpts.Strings(), HeaderLength: u.hdrLen}
	if inner.Set == "" {
		enc.SetDigest = format.SetDigest(inner)
	}
	plain, err := inner.Encode()
	if err != nil {
		return nil, err
	}
	var sealed bytes.Buffer
	w, err := age.Encrypt(&sealed, u.rcpts.list...)
	if err == nil {
		_, err = w.Write(plain)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("encrypt the manifest: %w", err)
	}
	enc.Sealed = base64.StdEncoding.EncodeToString(sealed.Bytes())
	return &format.Manifest{
		Format: inner.Format, ID: inner.ID, StartedAt: inner.StartedAt, FinishedAt: inner.FinishedAt,
		Tool: inner.Tool, ToolVersion: inner.ToolVersion, Set: inner.Set, Origin: inner.Origin,
		Databases:  []format.Database{},
		Object:     format.Object{Key: inner.Object.Key, Size: u.rb.encSize, SHA256: u.rb.recorded, Compression: inner.Object.Compression},
		Encryption: enc,
	}, nil
}

// counter counts what it passes on.
type counter struct {
	w io.Writer
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// OpenManifest returns the whole manifest of m: m itself when the backup is not encrypted,
// else its sealed part decrypted with id, carrying m's encryption and signature fields. A
// missing identity or one that fits none of the recipients is a usage error naming them.
func OpenManifest(m *format.Manifest, id *Identity) (*format.Manifest, error) {
	e := m.Encryption
	if e == nil {
		return m, nil
	}
	if e.Scheme != format.EncryptionAge {
		return nil, fmt.Errorf("%w: backup %s is encrypted with %q, which this backupctl does not know", format.ErrVerify, m.ID, e.Scheme)
	}
	if id == nil {
		return nil, contract.Usagef("backup %s is encrypted to %s: give the identity of one of them in BACKUP_AGE_IDENTITY or --age-identity-file", m.ID, recipientList(e))
	}
	sealed, err := base64.StdEncoding.DecodeString(e.Sealed)
	if err != nil {
		return nil, fmt.Errorf("%w: manifest of backup %s: its sealed part is not base64; the manifest is damaged", format.ErrVerify, m.ID)
	}
	r, err := age.Decrypt(bytes.NewReader(sealed), id.ids...)
	var nomatch *age.NoIdentityMatchError
	if errors.As(err, &nomatch) {
		return nil, contract.Usagef("backup %s is encrypted to %s, and the age identity given is none of them: give the identity of one of these recipients", m.ID, recipientList(e))
	}
	var plain []byte
	if err == nil {
		plain, err = io.ReadAll(io.LimitReader(r, format.MaxManifestBytes+1))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: the sealed part of backup %s's manifest does not decrypt (%v): it was changed after it was written", format.ErrVerify, m.ID, err)
	}
	inner, err := format.DecodeManifest(plain)
	if err != nil {
		return nil, fmt.Errorf("sealed part of backup %s: %w", m.ID, err)
	}
	if err := matches(m, inner); err != nil {
		return nil, err
	}
	inner.Encryption, inner.KeyID, inner.Signature, inner.Checksum = e, m.KeyID, m.Signature, m.Checksum
	return inner, nil
}

// matches checks that the sealed manifest is the one of m's backup and object.
func matches(m, inner *format.Manifest) error {
	same := inner.ID == m.ID && inner.Object.Key == m.Object.Key && inner.Object.Compression == m.Object.Compression &&
		inner.Set == m.Set && inner.Origin == m.Origin && inner.StartedAt.Equal(m.StartedAt) && inner.Encryption == nil
	if !same {
		return fmt.Errorf("%w: the sealed part of backup %s's manifest is not this backup's: it was swapped", format.ErrVerify, m.ID)
	}
	return nil
}

// Open returns the whole manifest of m (OpenManifest) and the bucket to read its object
// through: b itself for a plaintext backup, else a Bucket that decrypts it with id.
func Open(b storage.Bucket, m *format.Manifest, id *Identity) (*format.Manifest, storage.Bucket, error) {
	inner, err := OpenManifest(m, id)
	if err != nil || m.Encryption == nil {
		return inner, b, err
	}
	return inner, &Bucket{Bucket: b, key: m.Object.Key, encSize: m.Object.Size, encSHA: m.Object.SHA256,
		plainSize: inner.Object.Size, hdrLen: m.Encryption.HeaderLength, id: id.ids}, nil
}

// recipientList names the recipients for a one-line error.
func recipientList(e *format.Encryption) string {
	if len(e.Recipients) == 0 {
		return "no recipient the manifest names"
	}
	return strings.Join(e.Recipients, ", ")
}
