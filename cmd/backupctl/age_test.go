package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/contract"
)

// TestJobArgsEncryption: backup Jobs and the CronJob get the recipients (an --encrypt-to-file
// read here, SSH keys without their comments) as arguments; a restore Job gets no identity,
// from the environment or a file, in its arguments (it reads the Secret's).
func TestJobArgsEncryption(t *testing.T) {
	_, pub, err := backup.GenerateAgeIdentity()
	if err != nil {
		t.Fatal(err)
	}
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(edPub)
	if err != nil {
		t.Fatal(err)
	}
	sshKey := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))
	dir := t.TempDir()
	file := filepath.Join(dir, "recipients.txt")
	if err := os.WriteFile(file, []byte("# escrow\n"+sshKey+" ops@example\n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	identityFile := filepath.Join(dir, "key.txt")
	if err := os.WriteFile(identityFile, []byte("AGE-SECRET-KEY-1INAFILEONLY\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	want := []string{"--encrypt-to=" + pub, "--encrypt-to=" + sshKey}
	for _, args := range [][]string{
		cat([]string{"backup", "now", "--encrypt-to", pub, "--encrypt-to-file", file}, storageArgs),
		cat([]string{"schedule", "set", "--name", "nightly", "--encrypt-to-file", file, "--encrypt-to", pub}, storageArgs),
	} {
		argv, err := jobArgsOf(t, nil, args...)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range argv {
			if strings.HasPrefix(a, "--encrypt-to") {
				got = append(got, a)
			}
		}
		if !slices.Equal(got, want) || strings.Contains(strings.Join(argv, " "), "ops@example") {
			t.Errorf("%s %s: recipients %q, want %q", args[0], args[1], got, want)
		}
	}
	argv, err := jobArgsOf(t, map[string]string{"BACKUP_AGE_RECIPIENTS": pub + "," + sshKey}, cat([]string{"backup", "now"}, storageArgs)...)
	if err != nil || !slices.Contains(argv, want[0]) || !slices.Contains(argv, want[1]) {
		t.Errorf("BACKUP_AGE_RECIPIENTS: argv %q, err %v", argv, err)
	}
	argv, err = jobArgsOf(t, nil, cat([]string{"restore", "20261126T220000Z-ab12cd", "--age-identity-file", identityFile}, storageArgs)...)
	if err != nil {
		t.Fatal(err)
	}
	if j := strings.Join(argv, " "); strings.Contains(j, "AGE-SECRET") || strings.Contains(j, "identity") {
		t.Errorf("restore argv %q names the identity", argv)
	}
	for _, bad := range []string{"age1notakey", "not-a-recipient", "AGE-SECRET-KEY-1QQQQ"} {
		_, err := jobArgsOf(t, nil, cat([]string{"backup", "now", "--encrypt-to", bad}, storageArgs)...)
		var ue *contract.UsageError
		if !errors.As(err, &ue) || strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "AGE-SECRET-KEY-1QQQQ") {
			t.Errorf("--encrypt-to %s: err %v, want a one-line usage error that does not echo a private key", bad, err)
		}
	}
}

// TestEncryptToFileWithoutRecipients: a recipients file that names nobody is an error, never a
// backup left unencrypted.
func TestEncryptToFileWithoutRecipients(t *testing.T) {
	file := filepath.Join(t.TempDir(), "recipients.txt")
	if err := os.WriteFile(file, []byte("# nobody yet\n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := jobArgsOf(t, nil, cat([]string{"backup", "now", "--encrypt-to-file", file}, storageArgs)...)
	var ue *contract.UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "no recipient in it") || strings.Contains(err.Error(), "\n") {
		t.Errorf("err %v, want a one-line usage error", err)
	}
}
