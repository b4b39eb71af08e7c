package crypt

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"

	"filippo.io/age"

	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/storage"
)

// ErrWrongIdentity is OpenSealed's error when the identity is none of the recipients.
var ErrWrongIdentity = errors.New("the age identity given is none of the recipients")

// SealBytes encrypts plain to the recipients only (never to the run's identity), as standard
// base64 text: the sealed part of a manifest or an index entry.
func (r *Recipients) SealBytes(plain []byte) (string, error) {
	var sealed bytes.Buffer
	w, err := age.Encrypt(&sealed, r.list...)
	if err == nil {
		_, err = w.Write(plain)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		return "", fmt.Errorf("age encryption: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sealed.Bytes()), nil
}

// OpenSealed decrypts a sealed part with id, reading at most limit bytes of plaintext. An
// identity that fits no recipient is ErrWrongIdentity; anything else that does not decrypt is
// ErrVerify (the text was changed).
func OpenSealed(sealed string, id *Identity, limit int64) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil {
		return nil, fmt.Errorf("%w: its sealed part is not base64", format.ErrVerify)
	}
	r, err := age.Decrypt(bytes.NewReader(raw), id.ids...)
	var nomatch *age.NoIdentityMatchError
	if errors.As(err, &nomatch) {
		return nil, ErrWrongIdentity
	}
	var plain []byte
	if err == nil {
		plain, err = io.ReadAll(io.LimitReader(r, limit+1))
	}
	if err == nil && int64(len(plain)) > limit {
		err = fmt.Errorf("more than %d bytes", limit)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: its sealed part does not decrypt (%v): it was changed after it was written", format.ErrVerify, err)
	}
	return plain, nil
}

// ReadBackChecked is b showing the new object's plaintext, of plainSize bytes, read with the
// run's identity, for an object whose stored size and SHA-256 the writer took: a whole read
// decrypts it and checks both.
func (u *Upload) ReadBackChecked(b storage.Bucket, key string, plainSize int64, storedSHA string) *Bucket {
	return &Bucket{Bucket: b, key: key, encSize: u.out.n, encSHA: storedSHA, plainSize: plainSize, hdrLen: u.hdrLen, id: []age.Identity{u.run}}
}

// Forget drops the run's identity: after the read-back check nothing here can decrypt the
// object any more.
func (u *Upload) Forget() { u.run, u.runR = nil, nil }

// HeaderLength is the length of the object's age header (known once Encrypt was called).
func (u *Upload) HeaderLength() int64 { return u.hdrLen }

// Recipients are the recipients the upload encrypts to (besides the run's identity).
func (u *Upload) Recipients() *Recipients { return u.rcpts }

// OpenObject is b showing the plaintext, of plainSize bytes, of the encrypted object at key,
// stored as encSize bytes with SHA-256 encSHA and an age header of hdrLen bytes, decrypted with
// id (as Open does for a backup's object).
func OpenObject(b storage.Bucket, key string, encSize int64, encSHA string, plainSize, hdrLen int64, id *Identity) *Bucket {
	return &Bucket{Bucket: b, key: key, encSize: encSize, encSHA: encSHA, plainSize: plainSize, hdrLen: hdrLen, id: slices.Clone(id.ids)}
}
