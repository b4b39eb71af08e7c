package e2e

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/internal/dbtest"
	"github.com/backupctl/backupctl/jobs"
)

// ageKeygen runs `backupctl keygen --age --out FILE -o json` and checks the file: mode 0600,
// the secret key, never printed. The secret key joins the scanned secrets.
func (e *env) ageKeygen(name string) (recipient, file, secret string) {
	e.t.Helper()
	file = filepath.Join(e.home, name)
	out := decode[struct {
		Recipient    string `json:"recipient"`
		IdentityFile string `json:"identity_file"`
	}](e.t, must(e.t, e.runEnv(nil, "keygen", "--age", "--out", file, "-o", "json")))
	st, err := os.Stat(file)
	if err != nil {
		e.t.Fatal(err)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		e.t.Fatal(err)
	}
	i := strings.Index(string(b), "AGE-SECRET-KEY-1")
	if st.Mode().Perm() != 0o600 || i < 0 || !strings.HasPrefix(out.Recipient, "age1") || out.IdentityFile != file {
		e.t.Fatalf("keygen --age wrote %d bytes (mode %v) and printed %+v", len(b), st.Mode().Perm(), out)
	}
	secret = strings.TrimSpace(string(b[i:]))
	e.mu.Lock()
	e.secrets = append(e.secrets, secret, secret[len("AGE-SECRET-KEY-1"):])
	e.mu.Unlock()
	return out.Recipient, file, secret
}

// TestEncryptedBackupsLocal: a backup encrypted to keygen --age's recipient lists without its
// names, verifies and restores with the identity (from the environment or a file), and is
// refused, on one line naming the recipient, without it or with another; a bad recipient is a
// usage error. The identity appears in no output, manifest or object (the secrets scan).
func TestEncryptedBackupsLocal(t *testing.T) {
	e := newParallelEnv(t)
	db := e.smallDB()
	pub, keyFile, secret := e.ageKeygen("age.key")
	otherPub, otherFile, _ := e.ageKeygen("other.key")

	fails(t, e.local("backup", "now", "--local", "-d", db, "--encrypt-to", "age1notakey"), 2, `--encrypt-to: recipient "age1notakey" is not an age public key`)
	fails(t, e.local("backup", "now", "--local", "-d", db, "--encrypt-to", secret), 2, `a recipient is a private key`)

	b := e.backupWith("", db, "--encrypt-to", pub, "--encrypt-to", otherPub)
	if !strings.HasSuffix(b.Key, ".sql.zst.age") {
		t.Errorf("object %s", b.Key)
	}
	e.recordObject(b.Key)

	// list: sealed without the identity, whole with it.
	type entry struct {
		ID        string   `json:"id"`
		Databases []string `json:"databases"`
		Tables    int      `json:"tables"`
		Encrypted bool     `json:"encrypted"`
		Sealed    bool     `json:"sealed"`
	}
	sealed := decode[[]entry](t, must(t, e.withKeys("list", "-o", "json")))
	if len(sealed) != 1 || !sealed[0].Encrypted || !sealed[0].Sealed || len(sealed[0].Databases) != 0 {
		t.Errorf("list without the identity: %+v", sealed)
	}
	text := must(t, e.withKeys("list"))
	if !strings.Contains(text.Stdout, "(encrypted)") || strings.Contains(text.Stdout, db) || !strings.Contains(text.Stderr, "BACKUP_AGE_IDENTITY") {
		t.Errorf("list without the identity:\n%s", text)
	}
	opened := decode[[]entry](t, must(t, e.withKeys("list", "-o", "json", "--age-identity-file", keyFile)))
	if len(opened) != 1 || opened[0].Sealed || len(opened[0].Databases) != 1 || opened[0].Databases[0] != db || opened[0].Tables == 0 {
		t.Errorf("list with the identity: %+v", opened)
	}

	// verify: the identity from the environment or a file; refused without it.
	fails(t, e.withKeys("verify", b.ID), 2, `backup `+b.ID+` is encrypted to `+pub+`, `+otherPub+`: give the identity of one of them in BACKUP_AGE_IDENTITY or --age-identity-file`)
	v := decode[verifyReport](t, must(t, e.runEnv(append(e.s3Keys(), "BACKUP_AGE_IDENTITY="+secret), "verify", b.ID, "-o", "json")))
	if !v.Verified {
		t.Errorf("verify with the identity: %+v", v)
	}
	must(t, e.withKeys("verify", b.ID, "--age-identity-file", otherFile)) // the escrow key reads it too

	// restore: a wrong identity is refused before anything is applied; the right one restores.
	wrongFile := filepath.Join(e.home, "wrong.key")
	wrong, _, err := backup.GenerateAgeIdentity()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(wrongFile, []byte(wrong), 0o600); err != nil {
		t.Fatal(err)
	}
	into := dbtest.UniqueName("e2e_age")
	fails(t, e.restoreLocal(b.ID, into, "--age-identity-file", wrongFile), 2, `is encrypted to `+pub+`, `+otherPub+`, and the age identity given is none of them`)
	fails(t, e.restoreLocal(b.ID, into), 2, `is encrypted to `+pub)
	if e.databaseExists(into) {
		t.Errorf("a refused restore created %s", into)
	}
	must(t, e.restoreLocal(b.ID, into, "--age-identity-file", keyFile))
	dbtest.Compare(t, e.src, db, e.dst, into)
}

// recordObject adds a stored object to what the secrets scan reads.
func (e *env) recordObject(key string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.t.Context(), time.Minute)
	defer cancel()
	bk, err := e.openBucket(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	rc, err := bk.Get(ctx, key)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		e.t.Fatal(err)
	}
	e.record("object "+key, string(data))
}

// TestAgeIdentityOnlyInRestoreJobs puts an age identity in the Secret and takes an encrypted
// backup through a Job (recipient only) and restores it through a Job: the restore Job reads it
// as an optional secretKeyRef, the backup Job never references it, and the secrets scan finds
// its value in no Job, Pod, Event, log line or argv. Then a backup without -q logs nothing of it.
func TestAgeIdentityOnlyInRestoreJobs(t *testing.T) {
	e := newParallelEnv(t)
	db := e.smallDB()
	pub, _, secret := e.ageKeygen("age.key")
	sec, err := e.kube.CoreV1().Secrets(e.ns).Get(t.Context(), "backupctl", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sec.Data[jobs.KeyAgeIdentity] = []byte(secret)
	if _, err := e.kube.CoreV1().Secrets(e.ns).Update(t.Context(), sec, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	// The backup Job gets the recipient only; the restore Job decrypts with the Secret's identity.
	b := decode[backupResult](t, must(t, e.job("backup", "now", "-d", db, "--encrypt-to", pub, "-o", "json")))
	if !strings.HasSuffix(b.Key, ".age") {
		t.Fatalf("the backup Job with --encrypt-to wrote %s; want an age object", b.Key)
	}
	into := dbtest.UniqueName("e2e_age_job")
	e.dst.DropAtEnd(t, into)
	must(t, e.job("restore", b.ID, "--db-host", e.st.podDBHost, "--db-port", strconv.Itoa(e.dst.Port), "--into", into))
	dbtest.Compare(t, e.src, db, e.dst, into)
	seen := map[string]bool{}
	for _, j := range e.jobsIn() {
		checkJobSecrets(t, &j, "backupctl")
		for _, ev := range j.Spec.Template.Spec.Containers[0].Env {
			if ev.Name == jobs.KeyAgeIdentity {
				seen[j.Labels[jobs.LabelComponent]] = true
			}
		}
	}
	if !seen[jobs.ComponentRestore] || seen[jobs.ComponentBackup] {
		t.Errorf("%s is referenced by %v Jobs; want the restore Job only", jobs.KeyAgeIdentity, seen)
	}

	// Logs at the default level, with the identity in the environment: the scan reads them.
	env := append(e.allSecrets(), "BACKUP_AGE_IDENTITY="+secret)
	enc := must(t, e.runEnv(env, "backup", "now", "--local", "-d", db, "--encrypt-to", pub, "-o", "json"))
	must(t, e.runEnv(env, "verify", decode[backupResult](t, enc).ID))
}
