package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/internal/dbtest"
)

// keyPair is what `backupctl keygen` made: the public key it printed, the private key file.
type keyPair struct{ pub, id, privFile, priv string }

// keygen runs `backupctl keygen --out FILE -o json` and checks the file: mode 0600, the private
// key only, never printed. The private key joins the scanned secrets.
func (e *env) keygen(name string) keyPair {
	e.t.Helper()
	file := filepath.Join(e.home, name)
	out := decode[struct {
		PublicKey      string `json:"public_key"`
		KeyID          string `json:"key_id"`
		PrivateKeyFile string `json:"private_key_file"`
	}](e.t, must(e.t, e.runEnv(nil, "keygen", "--out", file, "-o", "json")))
	st, err := os.Stat(file)
	if err != nil {
		e.t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		e.t.Errorf("private key file mode %v, want 0600", st.Mode().Perm())
	}
	b, err := os.ReadFile(file)
	if err != nil {
		e.t.Fatal(err)
	}
	priv := strings.TrimSpace(string(b))
	if !strings.HasPrefix(priv, format.PrivateKeyPrefix) || !strings.HasPrefix(out.PublicKey, format.PublicKeyPrefix) || out.PrivateKeyFile != file {
		e.t.Fatalf("keygen wrote %d bytes and printed %+v", len(b), out)
	}
	e.mu.Lock()
	e.secrets = append(e.secrets, priv[len(format.PrivateKeyPrefix):])
	e.mu.Unlock()
	return keyPair{pub: out.PublicKey, id: out.KeyID, privFile: file, priv: priv}
}

// backupWith takes a --local backup of db, signed when priv is not empty.
func (e *env) backupWith(priv, db string, extra ...string) backupResult {
	e.t.Helper()
	env := e.allSecrets()
	if priv != "" {
		env = append(env, "BACKUP_SIGNING_KEY="+priv)
	}
	args := append([]string{"backup", "now", "--local", "-d", db, "-o", "json", "-q"}, extra...)
	b := decode[backupResult](e.t, must(e.t, e.runEnv(env, args...)))
	checkVerified(e.t, b)
	time.Sleep(1100 * time.Millisecond) // ids and start times in whole seconds: keep them apart
	return b
}

// restoreLocal restores id --local into a new database on the target server.
func (e *env) restoreLocal(id, into string, extra ...string) res {
	e.t.Helper()
	e.dst.DropAtEnd(e.t, into)
	env := append(e.allSecrets(), "BACKUP_DB_HOST="+e.dst.Host, "BACKUP_DB_PORT="+strconv.Itoa(e.dst.Port))
	return e.runEnv(env, append([]string{"restore", id, "--local", "--into", into, "-q"}, extra...)...)
}

// databaseExists says whether the target server has database name.
func (e *env) databaseExists(name string) bool {
	e.t.Helper()
	var n int
	if err := e.dst.DB(e.t, "").QueryRowContext(e.t.Context(), "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", name).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n > 0
}

type verifyReport struct {
	ID            string `json:"id"`
	Verified      bool   `json:"verified"`
	Authenticated bool   `json:"authenticated"`
	KeyID         string `json:"key_id"`
	Note          string `json:"note"`
}

// TestSignedBackups: a backup signed by the dumper's key verifies and restores with the public
// key; an attacker who can write to the bucket appends a statement to a table's data, recomputes
// every SHA-256 and reseals the manifest, which passes a verify without a key but is refused by
// verify and restore with it, before anything is applied; an unsigned backup and a wrong key
// are refused too, naming the key ids; list marks what the key does not authenticate.
func TestSignedBackups(t *testing.T) {
	e := newParallelEnv(t)
	db := e.smallDB()
	k := e.keygen("signing.key")

	// keygen never overwrites a key.
	before, _ := os.ReadFile(k.privFile)
	fails(t, e.runEnv(nil, "keygen", "--out", k.privFile), 2, `exists: keygen never overwrites a key`)
	if after, _ := os.ReadFile(k.privFile); !bytes.Equal(before, after) {
		t.Error("a refused keygen changed the key file")
	}

	signed := e.backupWith(k.priv, db, "--compression", "none")
	v := decode[verifyReport](t, must(t, e.withKeys("verify", signed.ID, "--verify-key", k.pub, "-o", "json")))
	if !v.Verified || !v.Authenticated || v.KeyID != k.id || v.Note != "" {
		t.Errorf("verify with the key: %+v, want verified and authenticated by %s", v, k.id)
	}
	// The key from a file works the same; without a key the report says it is unauthenticated.
	pubFile := filepath.Join(e.home, "signing.pub")
	if err := os.WriteFile(pubFile, []byte(k.pub+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	must(t, e.withKeys("verify", signed.ID, "--verify-key-file", pubFile))
	nokey := decode[verifyReport](t, must(t, e.withKeys("verify", signed.ID, "-o", "json")))
	if !nokey.Verified || nokey.Authenticated || !strings.HasPrefix(nokey.Note, "unauthenticated") {
		t.Errorf("verify without a key: %+v, want verified, unauthenticated", nokey)
	}
	into := dbtest.UniqueName("e2e_signed")
	must(t, e.restoreLocal(signed.ID, into, "--verify-key", k.pub))
	dbtest.Compare(t, e.src, db, e.dst, into)

	// The attack: a second signed backup, rewritten by someone without the key.
	victim := e.backupWith(k.priv, db, "--compression", "none")
	e.appendStatement(victim.ID, "INSERT INTO `t` VALUES (666,'planted by an attacker');\n")
	must(t, e.withKeys("verify", victim.ID)) // the checksums alone cannot tell
	fails(t, e.withKeys("verify", victim.ID, "--verify-key", k.pub), 3,
		`backup `+victim.ID+` is not signed by key `+k.id+` \(its signature does not match its contents\): it was not written by your backups' dumper or was changed after`)
	into2 := dbtest.UniqueName("e2e_attack")
	fails(t, e.restoreLocal(victim.ID, into2, "--verify-key", k.pub), 3, `is not signed by key `+k.id+` \(its signature does not match`)
	fails(t, e.restoreLocal(victim.ID, into2, "--verify-key", k.pub, "--no-verify-first"), 3, `is not signed by key `+k.id)
	if e.databaseExists(into2) {
		t.Errorf("a refused restore created %s", into2)
	}

	// An unsigned backup, refused when a key is given.
	unsigned := e.backupWith("", db)
	fails(t, e.withKeys("verify", unsigned.ID, "--verify-key", k.pub), 3, `backup `+unsigned.ID+` is not signed by key `+k.id+` \(it is unsigned\)`)
	into3 := dbtest.UniqueName("e2e_unsigned")
	fails(t, e.restoreLocal(unsigned.ID, into3, "--verify-key", k.pub), 3, `is not signed by key `+k.id+` \(it is unsigned\)`)
	if e.databaseExists(into3) {
		t.Errorf("a refused restore created %s", into3)
	}

	// A wrong key names both ids.
	other := e.keygen("other.key")
	fails(t, e.withKeys("verify", signed.ID, "--verify-key", other.pub), 3, `is not signed by key `+other.id+` \(it names key `+k.id+`\)`)

	l := decode[[]listEntry](t, must(t, e.withKeys("list", "--verify-key", k.pub, "-o", "json")))
	got := map[string]bool{}
	for _, x := range l {
		got[x.ID] = x.Authenticated
	}
	want := map[string]bool{signed.ID: true, victim.ID: false, unsigned.ID: false}
	for id, auth := range want {
		if a, ok := got[id]; !ok || a != auth {
			t.Errorf("list: %s authenticated=%v (listed %v), want %v", id, a, ok, auth)
		}
	}
	text := must(t, e.withKeys("list", "--verify-key", k.pub))
	if !strings.Contains(text.Stderr, "2 backup(s) marked NO are not signed by key "+k.id) {
		t.Errorf("list does not warn about the unauthenticated backups:\n%s", text)
	}
}

// appendStatement rewrites backup id as an attacker with write access but without the signing
// key would: the statement goes at the end of table t's data section (the object is stored
// uncompressed), every later range moves, and the table's, the object's SHA-256 and the
// manifest's checksum are recomputed; the signature is left as it was.
func (e *env) appendStatement(id, stmt string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, m, obj := e.readBackup(ctx, id)
	tbl := &m.Databases[0].Tables[0]
	if m.Object.Compression != backup.CompressNone || tbl.Name != "t" || len(tbl.Chunks) != 0 || tbl.Data.Offset != tbl.Data.RawOffset {
		e.t.Fatalf("the attack expects one uncompressed table t without chunks: %+v", m.Object)
	}
	at, n := tbl.Data.Offset+tbl.Data.Length, int64(len(stmt))
	obj = slices.Concat(obj[:at], []byte(stmt), obj[at:])
	ranges := []*backup.Range{&m.Header, &m.Footer}
	for i := range m.Databases {
		d := &m.Databases[i]
		ranges = append(ranges, &d.Create, &d.Post)
		for j := range d.Tables {
			ranges = append(ranges, &d.Tables[j].Schema, &d.Tables[j].Data)
		}
	}
	for _, r := range ranges {
		if r.Offset >= at {
			r.Offset += n
			r.RawOffset += n
		}
	}
	tbl.Data.Length += n
	tbl.Data.RawLength += n
	sum := func(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }
	tbl.DataSHA256 = sum(obj[tbl.Data.Offset : tbl.Data.Offset+tbl.Data.Length])
	m.Object.Size, m.Object.RawSize, m.Object.SHA256 = int64(len(obj)), int64(len(obj)), sum(obj)
	enc, err := m.Encode()
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := b.Put(ctx, m.Object.Key, bytes.NewReader(obj), int64(len(obj))); err != nil {
		e.t.Fatal(err)
	}
	if _, err := b.Put(ctx, backup.ManifestKey(id), bytes.NewReader(enc), int64(len(enc))); err != nil {
		e.t.Fatal(err)
	}
}

// TestPruneSigned: with a verify key, prune's rules count only the backups the key signed: an
// unsigned backup, even the newest, neither pushes a signed one out nor is deleted. A backup Job
// with a signing key prunes the same way after its backup.
func TestPruneSigned(t *testing.T) {
	e := newParallelEnv(t)
	db := e.smallDB()
	k := e.keygen("signing.key")
	s1 := e.backupWith(k.priv, db)
	u1 := e.backupWith("", db)
	s2 := e.backupWith(k.priv, db)
	u2 := e.backupWith("", db) // the newest

	rep := decode[pruneReport](t, must(t, e.withKeys("prune", "--keep-last", "1", "--include-manual", "--verify-key", k.pub, "-o", "json")))
	if !slices.Equal(rep.kept(), []string{s2.ID}) || !slices.Equal(rep.deleted(), []string{s1.ID}) {
		t.Errorf("prune --keep-last 1 with the key: %+v, want %s kept and %s deleted (unsigned %s, %s left alone)", rep, s2.ID, s1.ID, u1.ID, u2.ID)
	}
	left := func() []string { return slices.Sorted(slices.Values(ids(e.list()))) }
	if got, want := left(), slices.Sorted(slices.Values([]string{u1.ID, s2.ID, u2.ID})); !slices.Equal(got, want) {
		t.Errorf("backups after prune: %v, want %v", got, want)
	}

	// Retention after a signed backup uses the signing key's public half.
	s3 := decode[backupResult](t, must(t, e.runEnv(append(e.allSecrets(), "BACKUP_SIGNING_KEY="+k.priv),
		"backup", "now", "--local", "-d", db, "--keep-last", "1", "--include-manual", "-o", "json", "-q")))
	if got, want := left(), slices.Sorted(slices.Values([]string{u1.ID, u2.ID, s3.ID})); !slices.Equal(got, want) {
		t.Errorf("backups after a signed backup with --keep-last 1: %v, want %v", got, want)
	}
}
