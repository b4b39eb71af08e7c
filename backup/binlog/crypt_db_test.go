package binlog_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/backup/binlog"
	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/backup/internal/backuptest"
	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/internal/cli"
	"github.com/backupctl/backupctl/internal/testenv"
)

// TestEncryptedArchive: an archiver given recipients stores each segment as an age file whose
// index entry keeps the GTIDs, positions and binlog hash sealed; a restore to a time with
// BACKUP_AGE_IDENTITY is exact, from a plaintext base and from an encrypted one; no identity,
// or a wrong one, is a one-line usage error naming the recipient, and a segment changed by one
// byte is refused, each before the target changes.
func TestEncryptedArchive(t *testing.T) {
	src := startPrivate(t, "src")
	tgt := startPrivate(t, "tgt")
	st, b := fileBucket(t)
	db := testenv.UniqueName("pitr")
	secret, pub, err := backup.GenerateAgeIdentity()
	if err != nil {
		t.Fatal(err)
	}
	wrong, _, err := backup.GenerateAgeIdentity()
	if err != nil {
		t.Fatal(err)
	}
	rcpts, err := backup.ParseRecipients([]string{pub})
	if err != nil {
		t.Fatal(err)
	}
	seed(t, src, st, db, "id INT AUTO_INCREMENT PRIMARY KEY, v TEXT") // a plaintext base
	archive := archiveName(t, src.server)
	a := startArchiver(t, src.server, b, binlog.ArchiveOptions{SegmentInterval: time.Second, Recipients: rcpts})
	time.Sleep(1100 * time.Millisecond) // the base finished a second before the target time
	const marker = "plaintext-marker-5f3a"
	for i := range 3 {
		exec1(t, src.server, fmt.Sprintf("INSERT INTO `%s`.t (v) VALUES ('%s %d')", db, marker, i))
	}
	atGTID := lastGTID(t, src.server)
	atState := fingerprint(t, src.server, db)
	at := time.Now().UTC().Truncate(time.Second) // every transaction so far is stamped at or before it
	time.Sleep(time.Until(at.Add(1100 * time.Millisecond)))
	for i := range 3 {
		exec1(t, src.server, fmt.Sprintf("INSERT INTO `%s`.t (v) VALUES ('after %d')", db, i))
	}
	// A later base, encrypted as the segments are.
	if _, err := cli.LocalBackup(t.Context(), globals(t), src.server.dbf, st, cli.BackupOptions{Database: []string{db}, Compression: "zstd",
		EncryptFlags: cli.EncryptFlags{EncryptTo: []string{pub}}}); err != nil {
		t.Fatal(err)
	}
	waitArchived(t, b, archive, lastGTID(t, src.server), 30*time.Second)
	if err := a.stop(); err != nil {
		t.Fatal(err)
	}
	// A restarted archiver, which has no identity, resumes after the last sealed entry.
	a = startArchiver(t, src.server, b, binlog.ArchiveOptions{SegmentInterval: time.Second, Recipients: rcpts})
	exec1(t, src.server, "UPDATE `"+db+"`.t SET v = CONCAT(v, '!') WHERE id = 1")
	last := lastGTID(t, src.server)
	es := waitArchived(t, b, archive, last, 30*time.Second)
	if err := a.stop(); err != nil {
		t.Fatal(err)
	}
	ident, err := backup.ParseIdentity(secret)
	if err != nil {
		t.Fatal(err)
	}
	opened, err := binlog.OpenIndex(es, ident)
	if err != nil {
		t.Fatal(err)
	}
	checkChain(t, opened)
	if status, err := binlog.Status(t.Context(), b, nil); err != nil || len(status) != 1 || status[0].Segments != len(es) || status[0].ToGTID != es[len(es)-1].EndState {
		t.Errorf("status without the identity: %+v, %v", status, err)
	}
	latest := fingerprint(t, src.server, db)

	for _, e := range es {
		if e.Encryption == nil || !strings.HasSuffix(e.Key, ".binlog.zst.age") || e.Encryption.Recipients[0] != pub {
			t.Fatalf("segment %d is stored as %s, encryption %+v", e.Seq, e.Key, e.Encryption)
		}
		if e.FirstGTID != "" || e.LastGTID != "" || e.RawSHA256 != "" || e.RawSize != 0 || e.SourceFile != "" || e.Transactions != 0 {
			t.Errorf("index entry %d shows what it should seal: %+v", e.Seq, e)
		}
		obj := backuptest.ReadObject(t, b, e.Key)
		entry := backuptest.ReadObject(t, b, binlog.EntryKey(archive, e.Seq))
		for _, s := range []string{marker, db, "AGE-SECRET-KEY"} {
			if bytes.Contains(obj, []byte(s)) || bytes.Contains(entry, []byte(s)) {
				t.Errorf("segment %d or its entry shows %q", e.Seq, s)
			}
		}
	}

	keyFile := t.TempDir() + "/wrong.key"
	writeFile(t, keyFile, wrong)
	tgt.root(t, "CREATE DATABASE `"+db+"`; CREATE TABLE `"+db+"`.sentinel (i INT); INSERT INTO `"+db+"`.sentinel VALUES (7)")
	before := fingerprint(t, tgt.server, db)
	pitr := func(f cli.PITRFlags, idf cli.IdentityFlags) (*cli.PITRReport, error) {
		f.ReplayLock = "read-only"
		return cli.LocalPITR(t.Context(), globals(t), tgt.dbf, st, "", cli.RestoreOptions{DropExisting: true, PITR: f, IdentityFlags: idf})
	}
	refused := func(name string, err error, want ...string) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: the restore went ahead", name)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", name, err, w)
			}
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %q is not one line", name, err)
		}
		if after := fingerprint(t, tgt.server, db); after != before {
			t.Errorf("%s: the target changed:\n%s\nwas:\n%s", name, after, before)
		}
	}
	toTime := cli.PITRFlags{ToTime: at.Format(time.RFC3339)}

	t.Setenv(contract.EnvAgeIdentity, "")
	_, err = pitr(toTime, cli.IdentityFlags{})
	refused("no identity", err, "binlog archive", "encrypted to "+pub, contract.EnvAgeIdentity)
	if code := cli.ExitCode(err); code != contract.ExitUsage {
		t.Errorf("no identity: exit %d, want %d", code, contract.ExitUsage)
	}
	_, err = pitr(toTime, cli.IdentityFlags{AgeIdentityFile: keyFile})
	refused("wrong identity", err, "encrypted to "+pub, "none of them")

	t.Setenv(contract.EnvAgeIdentity, secret)
	rep, err := pitr(toTime, cli.IdentityFlags{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Plan.LastGTID != atGTID || fingerprint(t, tgt.server, db) != atState {
		t.Errorf("restored to %s: last transaction %s (want %s), state:\n%s\nwant:\n%s", toTime.ToTime, rep.Plan.LastGTID, atGTID, fingerprint(t, tgt.server, db), atState)
	}
	if !strings.Contains(rep.StockPath, ".binlog ") || strings.Contains(rep.StockPath, ".age") {
		t.Errorf("stock path %q", rep.StockPath)
	}
	rep, err = pitr(cli.PITRFlags{ToLatest: true}, cli.IdentityFlags{})
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := backup.LoadManifest(t.Context(), b, rep.Plan.Backup); m == nil || m.Encryption == nil {
		t.Errorf("to the latest from backup %s, not the encrypted one", rep.Plan.Backup)
	}
	if rep.Plan.LastGTID != last || fingerprint(t, tgt.server, db) != latest {
		t.Errorf("restored to the latest: last transaction %s, want %s", rep.Plan.LastGTID, last)
	}

	// One byte of the last segment's ciphertext changes.
	tgt.root(t, "DROP DATABASE `"+db+"`; CREATE DATABASE `"+db+"`; CREATE TABLE `"+db+"`.sentinel (i INT); INSERT INTO `"+db+"`.sentinel VALUES (7)")
	before = fingerprint(t, tgt.server, db)
	seg := es[len(es)-1]
	data := backuptest.ReadObject(t, b, seg.Key)
	data[len(data)-40] ^= 0x01
	if _, err := b.Put(t.Context(), seg.Key, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	_, err = pitr(cli.PITRFlags{ToLatest: true}, cli.IdentityFlags{})
	refused("tampered segment", err, fmt.Sprintf("segment %d", seg.Seq))
	if !errors.Is(err, format.ErrVerify) {
		t.Errorf("tampered segment: %v is not a verification failure", err)
	}
}

func writeFile(t *testing.T, name, text string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}
