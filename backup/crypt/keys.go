package crypt

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"golang.org/x/crypto/ssh"
)

// Recipients are the public keys a backup is encrypted to, with the text that names each.
type Recipients struct {
	list []age.Recipient
	text []string
}

// ParseRecipients reads recipients: age X25519 (age1...), age post-quantum (age1pq1...) and SSH
// ed25519 or RSA public keys (ssh-ed25519 AAAA... [comment]). Blank lines and lines starting
// with # are skipped, so a file's lines can be given as they are. None is nil, not an error.
func ParseRecipients(lines []string) (*Recipients, error) {
	r := &Recipients{}
	for _, line := range strings.Split(strings.Join(lines, "\n"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		rcpt, text, err := parseRecipient(line)
		if err != nil {
			return nil, err
		}
		r.list, r.text = append(r.list, rcpt), append(r.text, text)
	}
	if len(r.list) == 0 {
		return nil, nil
	}
	if _, err := age.Encrypt(discard{}, r.list...); err != nil {
		return nil, fmt.Errorf("recipients %s cannot be used together: %v", strings.Join(r.text, ", "), err)
	}
	return r, nil
}

// parseRecipient reads one recipient and the text that names it: an SSH key without its
// comment. A private key is refused without being echoed.
func parseRecipient(s string) (age.Recipient, string, error) {
	switch {
	case strings.HasPrefix(s, "AGE-SECRET-KEY-") || strings.Contains(s, "PRIVATE KEY"):
		return nil, "", errors.New("a recipient is a private key: give its public key (age1..., printed by `backupctl keygen --age` or age-keygen -y), and keep the private key for restores")
	case strings.HasPrefix(s, "ssh-"):
		r, err := agessh.ParseRecipient(s)
		if err != nil {
			return nil, "", fmt.Errorf("recipient %q is not an SSH ed25519 or RSA public key age accepts: %v", clip(s), err)
		}
		pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(s))
		if err != nil {
			return nil, "", fmt.Errorf("recipient %q: %v", clip(s), err)
		}
		return r, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk))), nil
	case strings.HasPrefix(s, "age1pq1"):
		r, err := age.ParseHybridRecipient(s)
		if err != nil {
			return nil, "", fmt.Errorf("recipient %q is not an age public key: %v", clip(s), err)
		}
		return r, s, nil
	case strings.HasPrefix(s, "age1"):
		r, err := age.ParseX25519Recipient(s)
		if err != nil {
			return nil, "", fmt.Errorf("recipient %q is not an age public key: %v", clip(s), err)
		}
		return r, s, nil
	}
	return nil, "", fmt.Errorf("recipient %q is neither an age public key (age1...) nor an SSH public key (ssh-ed25519 or ssh-rsa AAAA...)", clip(s))
}

// clip shortens a bad recipient for a one-line error.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// Strings are the recipients' texts, as a manifest records them.
func (r *Recipients) Strings() []string { return append([]string(nil), r.text...) }

// postQuantum says whether the recipients are age's hybrid ones, which age does not mix with
// classic ones: the dump's own recipient must then be hybrid too.
func (r *Recipients) postQuantum() bool {
	for _, x := range r.list {
		if _, ok := x.(*age.HybridRecipient); ok {
			return true
		}
	}
	return false
}

// Identity is the secret that decrypts backups. It never prints itself.
type Identity struct {
	ids []age.Identity
}

// ParseIdentity reads an identity: age secret keys (AGE-SECRET-KEY-1..., one a line, as
// age-keygen and `backupctl keygen --age` write them, comments allowed) or an unencrypted
// OpenSSH ed25519 or RSA private key. The error never quotes the text.
func ParseIdentity(text string) (*Identity, error) {
	if strings.Contains(text, "PRIVATE KEY-----") {
		id, err := agessh.ParseIdentity([]byte(strings.TrimSpace(text) + "\n"))
		if err != nil {
			var pe *ssh.PassphraseMissingError
			if errors.As(err, &pe) {
				return nil, errors.New("the age identity is an SSH key protected by a passphrase: backupctl reads keys without one (ssh-keygen -p -N '' on a copy, or use an age identity)")
			}
			return nil, fmt.Errorf("the age identity is not an SSH ed25519 or RSA private key age accepts: %v", err)
		}
		return &Identity{ids: []age.Identity{id}}, nil
	}
	ids, err := age.ParseIdentities(strings.NewReader(text))
	if err != nil {
		if strings.HasPrefix(strings.TrimSpace(text), "age1") {
			return nil, errors.New("the age identity is a public key (age1...): give the secret key (AGE-SECRET-KEY-1...) that `backupctl keygen --age` or age-keygen wrote")
		}
		return nil, fmt.Errorf("the age identity is not an age secret key (AGE-SECRET-KEY-1...) or SSH private key: %v", err)
	}
	return &Identity{ids: ids}, nil
}

// String keeps the identity out of logs and messages.
func (i *Identity) String() string { return "age identity (redacted)" }

// GoString keeps %#v from printing the identity.
func (i *Identity) GoString() string { return i.String() }

// GenerateIdentity makes a new X25519 pair: the secret key's text, in age-keygen's file form,
// and the public key (age1...).
func GenerateIdentity() (secret, public string, err error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return "", "", fmt.Errorf("generate an age identity: %w", err)
	}
	pub := id.Recipient().String()
	var b bytes.Buffer
	fmt.Fprintf(&b, "# public key: %s\n%s\n", pub, id)
	return b.String(), pub, nil
}

// discard is an io.Writer that drops everything: the recipients' compatibility is checked by
// encrypting nothing.
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
