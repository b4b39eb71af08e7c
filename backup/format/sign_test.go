package format

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func testManifest() *Manifest {
	return &Manifest{
		Format: FormatVersion, ID: "20261129T050000Z-abcdef", StartedAt: time.Date(2026, 11, 29, 5, 0, 0, 0, time.UTC),
		Object: Object{Key: "20261129T050000Z-abcdef/dump.sql", Size: 10, SHA256: strings.Repeat("a", 64), Compression: CompressNone, RawSize: 10},
		Databases: []Database{{Name: "shop", Tables: []Table{{Name: "t", Kind: "table", Rows: 2,
			Data: Range{Offset: 3, Length: 4, RawOffset: 3, RawLength: 4}, DataSHA256: strings.Repeat("b", 64)}}}},
	}
}

func newKey(t *testing.T) *SigningKey {
	t.Helper()
	k, err := GenerateSigningKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// signedRoundTrip signs m with k, encodes and decodes it as a reader would.
func signedRoundTrip(t *testing.T, m *Manifest, k *SigningKey) *Manifest {
	t.Helper()
	if err := m.Sign(k); err != nil {
		t.Fatal(err)
	}
	enc, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeManifest(enc)
	if err != nil {
		t.Fatalf("decode a signed manifest: %v", err)
	}
	return got
}

func TestSignAndCheck(t *testing.T) {
	k := newKey(t)
	m := signedRoundTrip(t, testManifest(), k)
	if err := k.Public().Check(m); err != nil {
		t.Fatalf("the signing key's public half refuses its own manifest: %v", err)
	}
	if m.KeyID != k.Public().ID() || len(m.KeyID) != 16 {
		t.Errorf("key id %q, want %q (16 hex digits)", m.KeyID, k.Public().ID())
	}
	// The public key read back from its text form checks the same.
	pub, err := ParseVerifyKey(k.Public().String())
	if err != nil || pub.Check(m) != nil || pub.ID() != k.Public().ID() {
		t.Errorf("parsed public key: %v, check %v", err, pub.Check(m))
	}
	priv, err := ParseSigningKey(k.PrivateText() + "\n")
	if err != nil || priv.Public().String() != k.Public().String() {
		t.Errorf("parsed private key: %v", err)
	}
}

func TestCheckRefuses(t *testing.T) {
	k, other := newKey(t), newKey(t)
	want := k.Public()
	// signedThen is a manifest signed by key, then changed by edit.
	signedThen := func(key *SigningKey, edit func(m *Manifest)) func() *Manifest {
		return func() *Manifest {
			m := signedRoundTrip(t, testManifest(), key)
			edit(m)
			return m
		}
	}
	cases := []struct {
		name   string
		m      func() *Manifest
		reason string
	}{
		{"unsigned", testManifest, "it is unsigned"},
		{"signed by another key", func() *Manifest { return signedRoundTrip(t, testManifest(), other) }, "it names key " + other.Public().ID()},
		{"a table's checksum changed and the manifest resealed", signedThen(k, func(m *Manifest) {
			m.Databases[0].Tables[0].DataSHA256 = strings.Repeat("c", 64)
			m.Databases[0].Tables[0].Data.RawLength++
		}), "its signature does not match"},
		{"the object's SHA-256 changed", signedThen(k, func(m *Manifest) { m.Object.SHA256 = strings.Repeat("d", 64) }), "its signature does not match"},
		{"the key id kept, the signature dropped", signedThen(k, func(m *Manifest) { m.Signature = "" }), "its signature is malformed"},
		{"another key's signature under this key's id", signedThen(other, func(m *Manifest) { m.KeyID = want.ID() }), "its signature does not match"},
		{"a key id with a newline", signedThen(other, func(m *Manifest) { m.KeyID = "x\ny" }), `it names key "x\ny"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := c.m()
			// What an attacker without the key can do: reseal the checksum; it still decodes.
			enc, err := m.Encode()
			if err != nil {
				t.Fatal(err)
			}
			m, err = DecodeManifest(enc)
			if err != nil {
				t.Fatalf("a resealed manifest should decode (the checksum is not authentication): %v", err)
			}
			err = want.Check(m)
			var ae *AuthError
			if !errors.As(err, &ae) || !errors.Is(err, ErrVerify) || !errors.Is(err, ErrUnauthenticated) {
				t.Fatalf("Check = %v, want an AuthError that is ErrVerify and ErrUnauthenticated", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, "backup "+m.ID+" is not signed by key "+want.ID()) || !strings.Contains(msg, c.reason) || strings.ContainsAny(msg, "\n\r") {
				t.Errorf("message %q does not name the backup, the key %s and %q on one line", msg, want.ID(), c.reason)
			}
			if want.Authenticated(m) {
				t.Error("Authenticated is true")
			}
		})
	}
	var none *VerifyKey
	if none.Check(testManifest()) != nil || none.Authenticated(testManifest()) {
		t.Error("without a key nothing is checked and nothing is authenticated")
	}
}

// TestUnsignedEncodingUnchanged: an unsigned manifest encodes without the new fields, so the
// checksums of manifests written before signing existed still match.
func TestUnsignedEncodingUnchanged(t *testing.T) {
	enc, err := testManifest().Encode()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(enc, []byte("signature")) || bytes.Contains(enc, []byte("key_id")) {
		t.Errorf("an unsigned manifest carries the signature fields:\n%s", enc)
	}
	if _, err := DecodeManifest(enc); err != nil {
		t.Fatal(err)
	}
}

func TestParseKeys(t *testing.T) {
	k := newKey(t)
	if _, err := ParseVerifyKey(k.PrivateText()); err == nil || !strings.Contains(err.Error(), "is a private key") {
		t.Errorf("a private key as the verify key: %v", err)
	}
	if _, err := ParseSigningKey(k.Public().String()); err == nil || !strings.Contains(err.Error(), "is a public key") {
		t.Errorf("a public key as the signing key: %v", err)
	}
	for _, bad := range []string{"", "backupctl-ed25519:", "backupctl-ed25519:AAAA", "ssh-ed25519 AAAA", "backupctl-ed25519:!!!"} {
		if _, err := ParseVerifyKey(bad); err == nil || !strings.Contains(err.Error(), "backupctl keygen") {
			t.Errorf("ParseVerifyKey(%q) = %v, want an error pointing at keygen", bad, err)
		}
	}
	// The private key never prints itself.
	secret := k.PrivateText()[len(PrivateKeyPrefix):]
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(f, k); strings.Contains(s, secret) || !strings.Contains(s, k.Public().ID()) {
			t.Errorf("%s of a signing key = %q", f, s)
		}
	}
}
