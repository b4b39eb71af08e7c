package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/internal/cli"
)

func TestKeygen(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "signing.key")
	var out, errOut bytes.Buffer
	g := &cli.Globals{Output: "text", Stdout: &out, Stderr: &errOut}
	if err := (&keygenCmd{Out: file, Namespace: "prod", Secret: "backups"}).Run(g); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(file)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v; want 0600", err, st.Mode().Perm())
	}
	data, _ := os.ReadFile(file)
	priv, err := backup.ParseSigningKey(string(data))
	if err != nil {
		t.Fatalf("the file does not hold a private key: %v", err)
	}
	if got := strings.TrimSpace(out.String()); got != priv.Public().String() {
		t.Errorf("stdout %q, want the public key %q only", got, priv.Public())
	}
	secret := strings.TrimSpace(strings.TrimPrefix(string(data), "backupctl-ed25519-private:"))
	if strings.Contains(out.String()+errOut.String(), secret) {
		t.Error("keygen printed the private key")
	}
	if !strings.Contains(errOut.String(), "kubectl -n prod patch secret backups") || !strings.Contains(errOut.String(), "BACKUP_SIGNING_KEY") {
		t.Errorf("stderr does not say how to put the key in the Secret:\n%s", errOut.String())
	}

	// Never overwrites.
	err = (&keygenCmd{Out: file}).Run(g)
	if cli.ExitCode(err) != contract.ExitUsage || !strings.Contains(err.Error(), "never overwrites") {
		t.Errorf("second keygen to the same file: %v (exit %d)", err, cli.ExitCode(err))
	}
	if again, _ := os.ReadFile(file); !bytes.Equal(again, data) {
		t.Error("the key file changed")
	}

	// --out - prints the private key on stdout, the public key on stderr.
	out.Reset()
	errOut.Reset()
	if err := (&keygenCmd{Out: "-"}).Run(g); err != nil {
		t.Fatal(err)
	}
	k, err := backup.ParseSigningKey(out.String())
	if err != nil || !strings.Contains(errOut.String(), k.Public().String()) {
		t.Errorf("--out -: stdout %v, stderr %q", err, errOut.String())
	}
}
