package main

import (
	"fmt"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/internal/cli"
)

// ageKeygenResult is what keygen --age prints with -o json.
type ageKeygenResult struct {
	Recipient    string `json:"recipient"`
	IdentityFile string `json:"identity_file,omitempty"`
}

// runAge makes an age identity: the secret key file as age-keygen writes it, the public key
// printed for --encrypt-to.
func (c *keygenCmd) runAge(g *cli.Globals) error {
	secret, pub, err := backup.GenerateAgeIdentity()
	if err != nil {
		return err
	}
	if c.Out == "-" {
		fmt.Fprintf(g.Err(), "public key (give it to backup now and schedule set as --encrypt-to): %s\n", pub)
		_, err := fmt.Fprint(g.Out(), secret)
		return err
	}
	if err := writeNewFile(c.Out, secret); err != nil {
		return err
	}
	if !g.Quiet {
		fmt.Fprintf(g.Err(), "wrote the age identity to %s (mode 0600). Restore Jobs read it from the Secret as %s, e.g.\n"+
			"  kubectl -n %s patch secret %s --type merge -p \"{\\\"data\\\":{\\\"%s\\\":\\\"$(base64 -w0 < %s)\\\"}}\"\n"+
			"and local restores, verify and list from %s or --age-identity-file. Keep a copy offline: without it no encrypted backup can be read.\n"+
			"Give the public key to backup now and schedule set as --encrypt-to (or BACKUP_AGE_RECIPIENTS); never give the identity to a backup Job.\n",
			c.Out, contract.EnvAgeIdentity, c.Namespace, c.Secret, contract.EnvAgeIdentity, c.Out, contract.EnvAgeIdentity)
	}
	if g.Output == "json" {
		return g.Print(ageKeygenResult{Recipient: pub, IdentityFile: c.Out})
	}
	_, err = fmt.Fprintln(g.Out(), pub)
	return err
}
