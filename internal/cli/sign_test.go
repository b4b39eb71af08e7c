package cli

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/contract"
)

func TestVerifyKeyFlags(t *testing.T) {
	k, err := backup.GenerateSigningKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub := k.Public().String()
	file := filepath.Join(t.TempDir(), "pub")
	if err := os.WriteFile(file, []byte(pub+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range []VerifyKeyFlags{{VerifyKey: pub}, {VerifyKeyFile: file}} {
		got, err := f.Key()
		if err != nil || got.ID() != k.Public().ID() {
			t.Errorf("%+v: %v, %v", f, got, err)
		}
	}
	if got, err := (VerifyKeyFlags{}).Key(); got != nil || err != nil {
		t.Errorf("no key: %v, %v", got, err)
	}
	for _, tc := range []struct {
		f    VerifyKeyFlags
		want string
	}{
		{VerifyKeyFlags{VerifyKey: pub, VerifyKeyFile: file}, "both --verify-key and --verify-key-file"},
		{VerifyKeyFlags{VerifyKeyFile: file + ".missing"}, "read --verify-key-file"},
		{VerifyKeyFlags{VerifyKey: k.PrivateText()}, "is a private key"},
	} {
		_, err := tc.f.Key()
		if err == nil || ExitCode(err) != contract.ExitUsage || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), k.PrivateText()) {
			t.Errorf("%s: %v, want a usage error saying %q", tc.want, err, tc.want)
		}
	}
}

func TestSigningKeyFromEnv(t *testing.T) {
	k, err := backup.GenerateSigningKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(contract.EnvSigningKey, "")
	if got, err := SigningKeyFromEnv(); got != nil || err != nil {
		t.Errorf("unset: %v, %v", got, err)
	}
	t.Setenv(contract.EnvSigningKey, k.PrivateText()+"\n")
	if got, err := SigningKeyFromEnv(); err != nil || got.Public().ID() != k.Public().ID() {
		t.Errorf("set: %v, %v", got, err)
	}
	t.Setenv(contract.EnvSigningKey, "backupctl-ed25519-private:c2hvcnQ=")
	if _, err := SigningKeyFromEnv(); err == nil || ExitCode(err) != contract.ExitUsage || !strings.Contains(err.Error(), "BACKUP_SIGNING_KEY") {
		t.Errorf("a bad key: %v, want a usage error naming BACKUP_SIGNING_KEY", err)
	}
}
