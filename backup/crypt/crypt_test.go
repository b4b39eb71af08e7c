package crypt

import (
	"bytes"
	"crypto/ed25519"
	crand "crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"golang.org/x/crypto/ssh"

	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/backup/internal/backuptest"
	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/storage/storagetest"
)

const testKey = "20261129T080000Z-abcdef/dump.sql.zst.age"

// sealed is one encrypted object stored in a MemBucket, with its plaintext and manifest.
type sealed struct {
	b      *backuptest.MemBucket
	plain  []byte
	stored *format.Manifest
	secret string
	pub    string
}

// sealObject encrypts n bytes of random plaintext as the dump does: through Upload, read back
// with the run's identity, then sealed.
func sealObject(t *testing.T, n int) *sealed {
	t.Helper()
	secret, pub, err := GenerateIdentity()
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseRecipients([]string{pub})
	if err != nil {
		t.Fatal(err)
	}
	u, err := NewUpload(r)
	if err != nil {
		t.Fatal(err)
	}
	plain := make([]byte, n)
	rng := rand.NewChaCha8([32]byte{1})
	_, _ = rng.Read(plain)
	var obj bytes.Buffer
	w, err := u.Encrypt(&obj)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(plain); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b := backuptest.NewMemBucket()
	b.SetObject(testKey, obj.Bytes())
	rb := u.ReadBack(b, testKey, int64(n))
	rc, err := rb.Get(t.Context(), testKey)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("read back with the run's identity: %d bytes, err %v", len(got), err)
	}
	sum := sha256.Sum256(plain)
	inner := &format.Manifest{Format: format.FormatVersion, ID: "20261129T080000Z-abcdef", StartedAt: time.Unix(1e9, 0).UTC(),
		ServerID: "db1:3306", Databases: []format.Database{{Name: "secret_db", Tables: []format.Table{{Name: "secret_table", Rows: 42}}}},
		Object: format.Object{Key: testKey, Size: int64(n), SHA256: hex.EncodeToString(sum[:]), Compression: format.CompressZstd}}
	stored, err := u.Seal(inner)
	if err != nil {
		t.Fatal(err)
	}
	if u.run != nil {
		t.Error("the run's identity is kept after Seal")
	}
	return &sealed{b: b, plain: plain, stored: stored, secret: secret, pub: pub}
}

func (s *sealed) open(t *testing.T, b *storagetest.Faulty) (*format.Manifest, *Bucket) {
	t.Helper()
	id, err := ParseIdentity(s.secret)
	if err != nil {
		t.Fatal(err)
	}
	m, rb, err := Open(b, s.stored, id)
	if err != nil {
		t.Fatal(err)
	}
	return m, rb.(*Bucket)
}

func TestSealedManifestHidesTheIndex(t *testing.T) {
	s := sealObject(t, 200<<10)
	enc, err := s.stored.Encode()
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"secret_db", "secret_table", "db1:3306", s.secret, "AGE-SECRET-KEY"} {
		obj, _ := s.b.Object(testKey)
		if bytes.Contains(enc, []byte(secret)) || bytes.Contains(obj, []byte(secret)) {
			t.Errorf("the stored manifest or object shows %q", secret)
		}
	}
	if !strings.HasPrefix(s.stored.SetName(), format.EncryptedSetPrefix) || s.stored.Encryption.Recipients[0] != s.pub {
		t.Errorf("set %q, recipients %q", s.stored.SetName(), s.stored.Encryption.Recipients)
	}
	m, _ := s.open(t, storagetest.NewFaulty(s.b))
	if m.Databases[0].Tables[0].Name != "secret_table" || m.RowCount() != 42 || m.SetName() != s.stored.SetName() {
		t.Errorf("opened manifest %+v, set %q", m.Databases, m.SetName())
	}
}

// TestRangeReadsDecryptAlone reads ranges of the plaintext: each decrypts from one ranged read
// of the chunks it spans (after the header and final chunk, read once).
func TestRangeReadsDecryptAlone(t *testing.T) {
	s := sealObject(t, 1<<20+12345)
	fb := storagetest.NewFaulty(s.b)
	_, rb := s.open(t, fb)
	ranges := [][2]int64{{0, 10}, {65535, 2}, {300000, 200000}, {int64(len(s.plain)) - 5, 5}, {5, 0}, {0, int64(len(s.plain))}}
	for i, r := range ranges {
		fb.Reset()
		rc, err := rb.GetRange(t.Context(), testKey, r[0], r[1])
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, s.plain[r[0]:r[0]+r[1]]) {
			t.Fatalf("range %v: %d bytes, err %v", r, len(got), err)
		}
		want := 1 // the chunks of the range, in one read
		if i == 0 {
			want = 3 // and, first, the header and the final chunk
		}
		if r[1] == 0 || r[0] >= int64(len(s.plain))-5 {
			want-- // nothing, or the final chunk alone: from memory
		}
		if n := len(fb.Calls(storagetest.MethodGetRange)); n != want || fb.Count(storagetest.MethodGet, "") != 0 {
			t.Errorf("range %v: %d ranged reads, want %d; calls %+v", r, n, want, fb.Calls())
		}
	}
	info, err := rb.Stat(t.Context(), testKey)
	if err != nil || info.Size != int64(len(s.plain)) {
		t.Errorf("Stat: %+v %v", info, err)
	}
}

func TestTamperedObjectFails(t *testing.T) {
	s := sealObject(t, 300<<10)
	obj, _ := s.b.Object(testKey)
	cases := map[string]func([]byte) []byte{
		"one byte":       func(o []byte) []byte { o[len(o)/2] ^= 1; return o },
		"header byte":    func(o []byte) []byte { o[40] ^= 1; return o },
		"truncated tail": func(o []byte) []byte { return o[:len(o)-100] },
		"swapped chunks": func(o []byte) []byte {
			h := s.stored.Encryption.HeaderLength + nonceSize
			a, b := bytes.Clone(o[h:h+encChunkSize]), bytes.Clone(o[h+encChunkSize:h+2*encChunkSize])
			copy(o[h:], b)
			copy(o[h+encChunkSize:], a)
			return o
		},
	}
	for name, tamper := range cases {
		t.Run(name, func(t *testing.T) {
			s.b.SetObject(testKey, tamper(bytes.Clone(obj)))
			defer s.b.SetObject(testKey, obj)
			_, rb := s.open(t, storagetest.NewFaulty(s.b))
			for _, read := range []func() (io.ReadCloser, error){
				func() (io.ReadCloser, error) { return rb.Get(t.Context(), testKey) },
				func() (io.ReadCloser, error) { return rb.GetRange(t.Context(), testKey, 0, 3*chunkSize) },
			} {
				rc, err := read()
				if err == nil {
					_, err = io.ReadAll(rc)
					rc.Close()
				}
				if !errors.Is(err, format.ErrVerify) || strings.Contains(err.Error(), "\n") {
					t.Errorf("err %v, want a one-line ErrVerify", err)
				}
			}
		})
	}
}

func TestIdentityErrors(t *testing.T) {
	s := sealObject(t, 1000)
	other, _, err := GenerateIdentity()
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := ParseIdentity(other)
	if err != nil {
		t.Fatal(err)
	}
	for name, id := range map[string]*Identity{"wrong identity": wrong, "no identity": nil} {
		_, _, err := Open(s.b, s.stored, id)
		var ue *contract.UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), s.pub) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: err %v, want a one-line usage error naming %s", name, err, s.pub)
		}
	}
	for _, bad := range []string{"age1notakey", "hello", "ssh-ed25519 AAAAnotbase64", other} {
		_, err := ParseRecipients([]string{bad})
		if err == nil || strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), other) {
			t.Errorf("recipient %.20q: err %v", bad, err)
		}
	}
	if _, err := ParseIdentity(s.pub); err == nil || !strings.Contains(err.Error(), "public key") {
		t.Errorf("a public key as identity: %v", err)
	}
	if id, _ := ParseIdentity(s.secret); strings.Contains(id.String()+id.GoString(), "AGE-SECRET") {
		t.Error("the identity prints itself")
	}
}

// TestSealedPartIsBound refuses a sealed part moved to another backup's manifest.
func TestSealedPartIsBound(t *testing.T) {
	s := sealObject(t, 1000)
	id, _ := ParseIdentity(s.secret)
	moved := *s.stored
	moved.ID = "20261129T080001Z-abcdef"
	if _, err := OpenManifest(&moved, id); !errors.Is(err, format.ErrVerify) {
		t.Errorf("a sealed part under another id: %v", err)
	}
	garbled := *s.stored
	enc := *garbled.Encryption
	enc.Sealed = enc.Sealed[:len(enc.Sealed)-8] + "AAAAAAA="
	garbled.Encryption = &enc
	if _, err := OpenManifest(&garbled, id); !errors.Is(err, format.ErrVerify) {
		t.Errorf("a changed sealed part: %v", err)
	}
}

// TestFullFinalChunk: a plaintext of whole chunks ends in a full-length final chunk, which age
// marks only by its flag; whole and ranged reads both end there.
func TestFullFinalChunk(t *testing.T) {
	for _, n := range []int{0, chunkSize, 2 * chunkSize} {
		s := sealObject(t, n)
		_, rb := s.open(t, storagetest.NewFaulty(s.b))
		rc, err := rb.Get(t.Context(), testKey)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		if err != nil || !bytes.Equal(got, s.plain) {
			t.Errorf("%d bytes: whole read gave %d bytes, err %v", n, len(got), err)
		}
		for _, r := range [][2]int64{{0, int64(n)}, {int64(max(n-10, 0)), int64(min(n, 10))}} {
			rc, err := rb.GetRange(t.Context(), testKey, r[0], r[1])
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			if err != nil || !bytes.Equal(got, s.plain[r[0]:r[0]+r[1]]) {
				t.Errorf("%d bytes: range %v gave %d bytes, err %v", n, r, len(got), err)
			}
		}
	}
}

// TestSSHKeys: SSH ed25519 and RSA public keys are recipients, their private keys identities;
// the manifest names a key without its comment.
func TestSSHKeys(t *testing.T) {
	edPub, edPriv, err := ed25519.GenerateKey(crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaPriv, err := rsa.GenerateKey(crand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for name, keys := range map[string][2]any{"ed25519": {edPub, edPriv}, "rsa": {&rsaPriv.PublicKey, rsaPriv}} {
		t.Run(name, func(t *testing.T) {
			pub, err := ssh.NewPublicKey(keys[0])
			if err != nil {
				t.Fatal(err)
			}
			block, err := ssh.MarshalPrivateKey(keys[1], "test key")
			if err != nil {
				t.Fatal(err)
			}
			line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
			r, err := ParseRecipients([]string{line + " someone@example"})
			if err != nil {
				t.Fatal(err)
			}
			if r.Strings()[0] != line {
				t.Errorf("recipient recorded as %q, want %q", r.Strings()[0], line)
			}
			id, err := ParseIdentity(string(pem.EncodeToMemory(block)))
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			w, err := age.Encrypt(&buf, r.list...)
			if err == nil {
				_, err = io.WriteString(w, "hello")
			}
			if err == nil {
				err = w.Close()
			}
			if err != nil {
				t.Fatal(err)
			}
			out, err := age.Decrypt(&buf, id.ids...)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := io.ReadAll(out); string(got) != "hello" {
				t.Errorf("decrypted %q", got)
			}
		})
	}
}
