package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/internal/cli"
)

type keygenCmd struct {
	Out       string `name:"out" env:"BACKUP_KEYGEN_OUT" required:"" help:"File to write the private signing key to (mode 0600; never overwritten), or - to print it on stdout."`
	Namespace string `name:"namespace" short:"n" env:"BACKUP_NAMESPACE" default:"backupctl" help:"Namespace named in the printed kubectl command."`
	Secret    string `name:"secret" env:"BACKUP_SECRET" default:"backupctl" help:"Secret named in the printed kubectl command."`
	Age       bool   `name:"age" env:"BACKUP_KEYGEN_AGE" help:"Make an age identity for encryption (as age-keygen does) instead of a signing key: the secret key to --out, the public key (for --encrypt-to) on stdout."`
}

// keygenResult is what keygen prints with -o json.
type keygenResult struct {
	PublicKey      string `json:"public_key"`
	KeyID          string `json:"key_id"`
	PrivateKeyFile string `json:"private_key_file,omitempty"`
}

func (c *keygenCmd) Run(g *cli.Globals) error {
	if c.Age {
		return c.runAge(g)
	}
	k, err := backup.GenerateSigningKey(rand.Reader)
	if err != nil {
		return err
	}
	pub := k.Public()
	if c.Out == "-" {
		// Asked for explicitly: the private key on stdout, the public key on stderr.
		fmt.Fprintf(g.Err(), "public key (give it to restore, verify, list and prune as --verify-key): %s\n", pub)
		_, err := fmt.Fprintln(g.Out(), k.PrivateText())
		return err
	}
	if err := writeNewFile(c.Out, k.PrivateText()+"\n"); err != nil {
		return err
	}
	if !g.Quiet {
		fmt.Fprintf(g.Err(), "wrote the private signing key %s to %s (mode 0600). Put it in the backup Jobs' Secret as %s, e.g.\n"+
			"  kubectl -n %s patch secret %s --type merge -p \"{\\\"data\\\":{\\\"%s\\\":\\\"$(base64 -w0 < %s)\\\"}}\"\n"+
			"then delete the file or keep it offline. Give the public key to restore, verify, list and prune as --verify-key (or BACKUP_VERIFY_KEY).\n",
			pub.ID(), c.Out, contract.EnvSigningKey, c.Namespace, c.Secret, contract.EnvSigningKey, c.Out)
	}
	if g.Machine() {
		return g.Print(keygenResult{PublicKey: pub.String(), KeyID: pub.ID(), PrivateKeyFile: c.Out})
	}
	_, err = fmt.Fprintln(g.Out(), pub)
	return err
}

// writeNewFile creates path with mode 0600 and writes text; it never replaces an existing file,
// and removes what it created when the write fails.
func writeNewFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return contract.Usagef("--out %s exists: keygen never overwrites a key; choose another file, or remove that one if it is no longer used", path)
	}
	if err != nil {
		return contract.Usagef("--out: %v", err)
	}
	_, err = io.WriteString(f, text)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("write the private key to %s: %w", path, err)
	}
	return nil
}
