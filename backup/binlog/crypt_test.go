package binlog

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/backupctl/backupctl/backup/crypt"
	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/contract"
)

// TestOpenIndex: sealed index entries open with the identity to the whole entries; no
// identity or a wrong one is a usage error naming the recipient; a sealed part changed, or
// moved from another segment, is refused as corrupt.
func TestOpenIndex(t *testing.T) {
	secret, pub, err := crypt.GenerateIdentity()
	if err != nil {
		t.Fatal(err)
	}
	wrongSecret, _, err := crypt.GenerateIdentity()
	if err != nil {
		t.Fatal(err)
	}
	id, _ := crypt.ParseIdentity(secret)
	wrong, _ := crypt.ParseIdentity(wrongSecret)
	rcpts, err := crypt.ParseRecipients([]string{pub})
	if err != nil {
		t.Fatal(err)
	}
	seal := func(seq uint64) *Entry {
		u, err := crypt.NewUpload(rcpts)
		if err != nil {
			t.Fatal(err)
		}
		in := &Entry{Format: IndexFormat, Seq: seq, Archive: "db:3306", Key: crypt.ObjectKey(SegmentKey("db:3306", seq)),
			StartState: fmt.Sprintf("0-1-%d", seq), EndState: fmt.Sprintf("0-1-%d", seq+1), FirstGTID: "0-1-secret",
			FirstTime: time.Unix(1000, 0).UTC(), LastTime: time.Unix(2000, 0).UTC(), Size: 10, SHA256: "compressed",
			RawSize: 99, RawSHA256: "raw", SourceFile: "bin.000001", Compression: format.CompressZstd}
		out, err := sealEntry(u, in, 50, "stored")
		if err != nil {
			t.Fatal(err)
		}
		if out.FirstGTID != "" || out.RawSHA256 != "" || out.SourceFile != "" || out.Size != 50 || out.SHA256 != "stored" {
			t.Errorf("stored entry shows %+v", out)
		}
		return out
	}
	es := []*Entry{seal(1), seal(2)}
	opened, err := OpenIndex(es, id)
	if err != nil {
		t.Fatal(err)
	}
	if e := opened[1]; e.FirstGTID != "0-1-secret" || e.RawSHA256 != "raw" || e.Size != 10 || e.opened == nil || e.opened.size != 50 || e.Encryption == nil {
		t.Errorf("opened entry %+v", e)
	}
	for name, idt := range map[string]*crypt.Identity{"no identity": nil, "wrong identity": wrong} {
		_, err := OpenIndex(es, idt)
		var ue *contract.UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), pub) {
			t.Errorf("%s: %v, want a usage error naming %s", name, err, pub)
		}
	}
	swapped := *es[1]
	swapped.Encryption = &format.Encryption{Scheme: format.EncryptionAge, Recipients: []string{pub}, Sealed: es[0].Encryption.Sealed}
	changed := *es[1]
	b := []byte(es[1].Encryption.Sealed)
	b[len(b)/2] ^= 1
	changed.Encryption = &format.Encryption{Scheme: format.EncryptionAge, Recipients: []string{pub}, Sealed: string(b)}
	for name, e := range map[string]*Entry{"swapped": &swapped, "changed": &changed} {
		if _, err := OpenIndex([]*Entry{es[0], e}, id); !errors.Is(err, ErrCorrupt) || !errors.Is(err, format.ErrVerify) {
			t.Errorf("%s sealed part: %v, want it refused as corrupt", name, err)
		}
	}
}
