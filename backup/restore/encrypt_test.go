package restore_test

// Round trips of encrypted backups (backup/crypt): restore, --into, --table and parallel
// chunks read through the decrypting range reader, verify with the identity, and the refusals.

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/backup/restore"
	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/internal/dbtest"
	"github.com/backupctl/backupctl/storage"
	"github.com/backupctl/backupctl/storage/storagetest"
)

// ageKeys is an age identity and the recipients it decrypts for.
type ageKeys struct {
	secret string
	pub    string
	id     *backup.Identity
	rcpts  *backup.Recipients
}

func newAgeKeys(t *testing.T) ageKeys {
	t.Helper()
	secret, pub, err := backup.GenerateAgeIdentity()
	if err != nil {
		t.Fatal(err)
	}
	id, err := backup.ParseIdentity(secret)
	if err != nil {
		t.Fatal(err)
	}
	rcpts, err := backup.ParseRecipients([]string{pub})
	if err != nil {
		t.Fatal(err)
	}
	return ageKeys{secret: secret, pub: pub, id: id, rcpts: rcpts}
}

// readAll reads a whole object of b.
func readAll(t *testing.T, b storage.Bucket, key string) []byte {
	t.Helper()
	rc, err := b.Get(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// databaseExists says whether s has database db.
func databaseExists(t *testing.T, s *dbtest.Server, db string) bool {
	t.Helper()
	var n int
	if err := s.DB(t, "").QueryRowContext(t.Context(), "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", db).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// oneLine fails unless err is a one-line error matching is.
func oneLine(t *testing.T, what string, err error, is func(error) bool) {
	t.Helper()
	if err == nil || !is(err) || strings.Contains(err.Error(), "\n") {
		t.Errorf("%s: err %v", what, err)
	}
}

func TestRestoreEncryptedRoundTrips(t *testing.T) {
	src, dst := dbtest.Source(t), dbtest.Target(t)
	b := restoreMinIO(t)
	keys := newAgeKeys(t)
	table := map[string]string{"sample": "order_items", "sakila": "payment", "adversarial": "huge_values"}
	for _, ds := range append(dbtest.Cases(t, "sakila"), dbtest.Case{Name: "adversarial", Load: dbtest.LoadAdversarial}) {
		t.Run(ds.Name, func(t *testing.T) {
			name := src.CreateDatabase(t, "rst_age_"+ds.Name)
			ds.Load(t, src, name)
			res, err := backup.Dump(t.Context(), src.Config(), b, backup.DumpOptions{Databases: []string{name}, Recipients: keys.rcpts})
			if err != nil {
				t.Fatalf("dump: %v", err)
			}
			if !res.Encrypted || !strings.HasSuffix(res.Key, ".sql.zst.age") {
				t.Fatalf("result %+v", res)
			}
			stored, err := backup.LoadManifest(t.Context(), b, res.ID)
			if err != nil {
				t.Fatal(err)
			}
			dst.DropAtEnd(t, name)

			t.Run("the bucket shows no name and no identity", func(t *testing.T) {
				manifest := readAll(t, b, backup.ManifestKey(res.ID))
				object := readAll(t, b, res.Key)
				for _, s := range []string{name, table[ds.Name], "AGE-SECRET-KEY", keys.secret[strings.Index(keys.secret, "AGE-SECRET"):]} {
					if bytes.Contains(manifest, []byte(s)) || bytes.Contains(object, []byte(s)) {
						t.Errorf("the stored manifest or object holds %q", s)
					}
				}
				if stored.TableCount() != 0 || stored.Binlog != nil || !strings.Contains(string(manifest), keys.pub) {
					t.Errorf("the plaintext manifest holds %d tables, binlog %v (recipients named: %v)", stored.TableCount(), stored.Binlog, strings.Contains(string(manifest), keys.pub))
				}
			})
			t.Run("refused without the right identity, nothing applied", func(t *testing.T) {
				other := newAgeKeys(t)
				for what, id := range map[string]*backup.Identity{"no identity": nil, "wrong identity": other.id} {
					_, err := backup.Restore(t.Context(), dst.Config(), b, res.ID, backup.RestoreOptions{Identity: id})
					oneLine(t, what, err, func(err error) bool {
						var ue *contract.UsageError
						return errors.As(err, &ue) && strings.Contains(err.Error(), keys.pub)
					})
					_, err = backup.VerifyID(t.Context(), b, res.ID, nil, id)
					oneLine(t, what+" (verify)", err, func(err error) bool { return strings.Contains(err.Error(), keys.pub) })
				}
				if databaseExists(t, dst, name) {
					t.Errorf("a refused restore created %s on the target", name)
				}
			})
			t.Run("verify with the identity", func(t *testing.T) {
				rep, err := backup.VerifyID(t.Context(), b, res.ID, nil, keys.id)
				if err != nil || !rep.Verified || rep.Tables != res.Tables {
					t.Fatalf("verify: %+v, %v", rep, err)
				}
			})
			t.Run("full into the second server", func(t *testing.T) {
				rep, err := backup.Restore(t.Context(), dst.Config(), b, res.ID, backup.RestoreOptions{Identity: keys.id})
				if err != nil {
					t.Fatal(err)
				}
				dbtest.Compare(t, src, name, dst, name)
				if rep.Rows != res.Rows || rep.Tables != res.Tables {
					t.Errorf("restored %d tables, %d rows; the dump had %d, %d", rep.Tables, rep.Rows, res.Tables, res.Rows)
				}
			})
			t.Run("under a new name beside the original", func(t *testing.T) {
				into := src.CreateDatabase(t, "rst_age_into")
				src.Exec(t, "DROP DATABASE "+dbtest.QuoteIdent(into))
				if _, err := backup.Restore(t.Context(), src.Config(), b, res.ID, backup.RestoreOptions{Into: into, Identity: keys.id}); err != nil {
					t.Fatal(err)
				}
				restoreCompareRenamed(t, src, name, src, into)
			})
			t.Run("one table reads only its ranges", func(t *testing.T) {
				restoreEncryptedTable(t, src, b, res.ID, stored, keys, name, table[ds.Name])
			})
		})
	}
}

// restoreEncryptedTable restores one table under a new name and checks that every ranged read
// of the object lies in the age chunks of the header, the table's ranges and the post section,
// or is the age header or final chunk; the object is never read whole.
func restoreEncryptedTable(t *testing.T, src *dbtest.Server, b storage.Bucket, id string, stored *backup.Manifest, keys ageKeys, name, table string) {
	m, err := backup.OpenManifest(stored, keys.id)
	if err != nil {
		t.Fatal(err)
	}
	into := src.CreateDatabase(t, "rst_age_tbl")
	cb := storagetest.NewFaulty(b)
	if _, err := backup.Restore(t.Context(), src.Config(), cb, id, backup.RestoreOptions{Tables: []string{name + "." + table}, Into: into, WithoutForeignKeys: true, WithoutTriggers: true, Identity: keys.id}); err != nil {
		t.Fatal(err)
	}
	a, d := dbtest.InventoryOf(t, src, name).Tables[table], dbtest.InventoryOf(t, src, into).Tables[table]
	if d == nil || a.Checksum != d.Checksum || a.Rows != d.Rows {
		t.Fatalf("%s: source %+v, copy %+v", table, a, d)
	}
	// age: a header of HeaderLength bytes and a 16-byte nonce, then chunks of 64 KiB of
	// plaintext and a 16-byte tag each.
	const chunk, encChunk = 64 << 10, 64<<10 + 16
	payload := stored.Encryption.HeaderLength + 16
	finalOff := payload + (stored.Object.Size-payload-1)/encChunk*encChunk
	allowed := []span{{0, payload}, {finalOff, stored.Object.Size}}
	add := func(r backup.Range) {
		if r.Length > 0 {
			allowed = append(allowed, span{payload + r.Offset/chunk*encChunk, payload + (r.Offset+r.Length+chunk-1)/chunk*encChunk})
		}
	}
	add(m.Header)
	add(m.Databases[0].Post)
	var tableBytes int64
	for _, tb := range m.Databases[0].Tables {
		if tb.Name == table {
			add(tb.Schema)
			add(tb.Data)
			tableBytes = tb.Data.Length
		}
	}
	read, ranges := readOnlyWithin(t, cb, stored.Object.Key, allowed)
	if len(ranges) == 0 || len(ranges) > len(allowed)+2 {
		t.Errorf("%d ranged reads for %d spans", len(ranges), len(allowed))
	}
	t.Logf("encrypted --table %s read %d of %d object bytes in %d ranges (its data is %d)", table, read, stored.Object.Size, len(ranges), tableBytes)
}

// span is a byte range of a stored object, [off, end).
type span struct{ off, end int64 }

// readOnlyWithin checks that a --table restore never read key whole and read only inside
// allowed; it returns the bytes and the ranges read.
func readOnlyWithin(t *testing.T, cb *storagetest.Faulty, key string, allowed []span) (int64, []storagetest.Call) {
	t.Helper()
	if cb.Count(storagetest.MethodGet, key) > 0 {
		t.Errorf("--table read the whole object")
	}
	var read int64
	ranges := cb.Calls(storagetest.MethodGetRange)
	for _, r := range ranges {
		read += r.Length
		ok := false
		for _, a := range allowed {
			ok = ok || (r.Offset >= a.off && r.Offset+r.Length <= a.end)
		}
		if !ok {
			t.Errorf("--table read [%d, +%d), outside its ranges", r.Offset, r.Length)
		}
	}
	return read, ranges
}

// dumpEncrypted loads the sample database on src and dumps it into b, encrypted to keys.
func dumpEncrypted(t *testing.T, src *dbtest.Server, b storage.Bucket, keys ageKeys, prefix string, opts backup.DumpOptions) (string, *backup.Result) {
	t.Helper()
	c := dbtest.Cases(t)[0]
	name := src.CreateDatabase(t, prefix+c.Name)
	c.Load(t, src, name)
	opts.Databases, opts.Recipients = []string{name}, keys.rcpts
	res, err := backup.Dump(t.Context(), src.Config(), b, opts)
	if err != nil {
		t.Fatalf("dump: %v", err)
	}
	return name, res
}

// TestRestoreEncryptedParallelChunks loads chunked tables over several connections from an
// encrypted backup: each chunk is its own ranged read of its age chunks.
func TestRestoreEncryptedParallelChunks(t *testing.T) {
	src, dst := dbtest.Source(t), dbtest.Target(t)
	b := restoreMinIO(t)
	keys := newAgeKeys(t)
	opts := backup.DumpOptions{Parallel: 3}
	restore.SetFrameBytes(&opts, 16<<10)
	name, res := dumpEncrypted(t, src, b, keys, "rst_age_chunks_", opts)
	dst.DropAtEnd(t, name)
	cb := storagetest.NewFaulty(b)
	rep, err := backup.Restore(t.Context(), dst.Config(), cb, res.ID, backup.RestoreOptions{Parallel: 4, NoVerifyFirst: true, Identity: keys.id})
	if err != nil {
		t.Fatal(err)
	}
	dbtest.Compare(t, src, name, dst, name)
	if n := cb.Count(storagetest.MethodGetRange, res.Key); rep.Rows != res.Rows || n <= res.Tables {
		t.Errorf("restored %d rows of %d in %d ranged reads for %d tables", rep.Rows, res.Rows, n, res.Tables)
	}
}

// TestRestoreEncryptedTampered changes the stored object: a byte, the tail, two sections
// swapped. Each is a one-line verification failure and nothing is applied.
func TestRestoreEncryptedTampered(t *testing.T) {
	src, dst := dbtest.Source(t), dbtest.Target(t)
	b := restoreMinIO(t)
	keys := newAgeKeys(t)
	name, res := dumpEncrypted(t, src, b, keys, "rst_age_bad_", backup.DumpOptions{})
	stored, err := backup.LoadManifest(t.Context(), b, res.ID)
	if err != nil {
		t.Fatal(err)
	}
	m, err := backup.OpenManifest(stored, keys.id)
	if err != nil {
		t.Fatal(err)
	}
	obj := readAll(t, b, res.Key)
	// Two sections of the plaintext, as stored: the age chunks of the first and second
	// tables' data, swapped (each whole chunk for chunk).
	const encChunk = 64<<10 + 16
	payload := stored.Encryption.HeaderLength + 16
	first := payload + m.Databases[0].Tables[0].Data.Offset/(64<<10)*encChunk
	tampered := map[string]func([]byte) []byte{
		"one byte":       func(o []byte) []byte { o[len(o)/2] ^= 0x20; return o },
		"truncated tail": func(o []byte) []byte { return o[:len(o)-1000] },
		"swapped sections": func(o []byte) []byte {
			a, z := bytes.Clone(o[first:first+encChunk]), bytes.Clone(o[first+encChunk:first+2*encChunk])
			copy(o[first:], z)
			copy(o[first+encChunk:], a)
			return o
		},
	}
	for what, tamper := range tampered {
		t.Run(what, func(t *testing.T) {
			data := tamper(bytes.Clone(obj))
			if _, err := b.Put(t.Context(), res.Key, bytes.NewReader(data), int64(len(data))); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _, _ = b.Put(t.Context(), res.Key, bytes.NewReader(obj), int64(len(obj))) })
			_, err := backup.Restore(t.Context(), dst.Config(), b, res.ID, backup.RestoreOptions{Identity: keys.id})
			oneLine(t, "restore", err, func(err error) bool { return errors.Is(err, backup.ErrVerify) })
			_, err = backup.VerifyID(t.Context(), b, res.ID, nil, keys.id)
			oneLine(t, "verify", err, func(err error) bool { return errors.Is(err, backup.ErrVerify) })
			if databaseExists(t, dst, name) {
				t.Errorf("a tampered object was applied: %s exists on the target", name)
			}
		})
	}
}

// TestRestoreEncryptedSigned: a backup both signed and encrypted verifies and restores with the
// verify key and the identity; a sealed part replaced by someone holding only the public keys
// (the recipients are public) fails the signature before anything is read or applied.
func TestRestoreEncryptedSigned(t *testing.T) {
	src, dst := dbtest.Source(t), dbtest.Target(t)
	b := restoreMinIO(t)
	keys := newAgeKeys(t)
	sk, err := backup.GenerateSigningKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	name, res := dumpEncrypted(t, src, b, keys, "rst_age_signed_", backup.DumpOptions{SigningKey: sk})
	if !res.Signed || !res.Encrypted {
		t.Fatalf("result %+v", res)
	}
	rep, err := backup.VerifyID(t.Context(), b, res.ID, sk.Public(), keys.id)
	if err != nil || !rep.Verified || !rep.Authenticated {
		t.Fatalf("verify: %+v, %v", rep, err)
	}
	dst.DropAtEnd(t, name)
	if _, err := backup.Restore(t.Context(), dst.Config(), b, res.ID, backup.RestoreOptions{VerifyKey: sk.Public(), Identity: keys.id}); err != nil {
		t.Fatal(err)
	}
	dbtest.Compare(t, src, name, dst, name)

	// The forger re-encrypts another backup's sealed part to the same public recipients and
	// reseals the checksum: the manifest decodes, the signature does not match.
	_, otherRes := dumpEncrypted(t, src, b, keys, "rst_age_other_", backup.DumpOptions{SigningKey: sk})
	m, err := backup.LoadManifest(t.Context(), b, res.ID)
	if err != nil {
		t.Fatal(err)
	}
	om, err := backup.LoadManifest(t.Context(), b, otherRes.ID)
	if err != nil {
		t.Fatal(err)
	}
	m.Encryption.Sealed = om.Encryption.Sealed
	if err := format.PutManifest(t.Context(), b, m); err != nil {
		t.Fatal(err)
	}
	into := name + "_forged"
	_, err = backup.Restore(t.Context(), dst.Config(), b, res.ID, backup.RestoreOptions{VerifyKey: sk.Public(), Identity: keys.id, Into: into})
	oneLine(t, "restore of a forged manifest", err, func(err error) bool { return errors.Is(err, backup.ErrUnauthenticated) })
	if databaseExists(t, dst, into) {
		t.Errorf("a forged backup was applied")
	}
}
