package dump

import (
	"context"
	"io"

	"github.com/backupctl/backupctl/backup/crypt"
	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/backup/verify"
	"github.com/backupctl/backupctl/storage"
)

// encryptedWrite writes the dump through age to w when the backup is encrypted (opts.Recipients),
// and closes the age stream after the whole dump, so its last chunk is written.
func (d *dumper) encryptedWrite(ctx context.Context, w io.Writer, m *format.Manifest) (*objectWriter, error) {
	if d.enc == nil {
		return d.write(ctx, w, m)
	}
	ew, err := d.enc.Encrypt(w)
	if err != nil {
		return nil, err
	}
	ow, err := d.write(ctx, ew, m)
	if err == nil {
		err = ew.Close()
	}
	return ow, err
}

// storedSize is the size of the object as stored: m's, or the encrypted size.
func (d *dumper) storedSize(m *format.Manifest) int64 {
	if d.enc == nil {
		return m.Object.Size
	}
	return d.enc.Stored()
}

// recordAndSeal verifies the new object by reading it back (decrypting it with the run's own
// identity when encrypted) and returns the manifest to store: m, or m sealed into an encrypted
// backup's manifest.
func (d *dumper) recordAndSeal(ctx context.Context, b storage.Bucket, m *format.Manifest, written verify.Written) (*format.Manifest, *verify.Report, error) {
	rb := b
	if d.enc != nil {
		rb = d.enc.ReadBack(b, m.Object.Key, m.Object.Size)
	}
	rep, err := verify.Record(ctx, rb, m, written)
	if err != nil || d.enc == nil {
		return m, rep, err
	}
	rep.BytesRead = d.enc.ReadBackBytes() // stored bytes, as for a plaintext backup
	out, err := d.enc.Seal(m)
	return out, rep, err
}

// newEncryption prepares the encryption of the backup, when it has recipients.
func newEncryption(r *crypt.Recipients) (*crypt.Upload, error) {
	if r == nil {
		return nil, nil
	}
	return crypt.NewUpload(r)
}
