package verify

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// verifyFakeBackup stores a backup built by the section writer without a server: a header, one
// database with one table, a post section and the footer. edit may change the SQL of the data
// section and the footer before they are written.
func verifyFakeBackup(t *testing.T, b *dumpMemBucket, id, compression string, footer string) *Manifest {
	t.Helper()
	var obj bytes.Buffer
	sw := newSectionWriter(&obj, compression, 0)
	suffix, err := ObjectSuffix(compression)
	if err != nil {
		t.Fatal(err)
	}
	m := &Manifest{Format: FormatVersion, ID: id, StartedAt: time.Now().UTC(), Tool: ToolName,
		Object: Object{Key: id + "/dump" + suffix, Compression: compression}}
	write := func(s string) func() error {
		return func() error { _, err := sw.WriteString(s); return err }
	}
	must := func(r Range, sum string, err error) (Range, string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return r, sum
	}
	m.Header, _ = must(sw.section(write("-- header\n" + headerSQL)))
	db := Database{Name: "d`b\n\\! x", Charset: "utf8mb4", Collation: "utf8mb4_general_ci"}
	db.Create, _ = must(sw.section(write("CREATE DATABASE `d``b\n\\! x`;\nUSE `d``b\n\\! x`;\n")))
	tb := Table{Name: "t", Kind: "table", Rows: 2}
	tb.Schema, _ = must(sw.section(write("CREATE TABLE `t` (a int);\n")))
	tb.Data, tb.DataSHA256 = must(sw.section(write(strings.Repeat("INSERT INTO `t` (`a`) VALUES\n(1),\n(2);\n", 1000))))
	db.Tables = []Table{tb}
	db.Post, _ = must(sw.section(write("CREATE VIEW `v` AS SELECT 1;\n")))
	m.Databases = []Database{db}
	m.Footer, _ = must(sw.section(write(footer)))
	m.Object.Size, m.Object.SHA256, m.Object.RawSize = sw.size(), sw.sum(), sw.raw
	b.set(m.Object.Key, obj.Bytes())
	if err := putManifest(context.Background(), b, m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestVerifyGood(t *testing.T) {
	for _, c := range []string{CompressZstd, CompressGzip, CompressNone} {
		t.Run(c, func(t *testing.T) {
			b := newDumpMemBucket()
			m := verifyFakeBackup(t, b, "20240101T000000Z-aaaaaa", c, Footer("20240101T000000Z-aaaaaa"))
			rep, err := VerifyID(context.Background(), b, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Verified || rep.BytesRead != m.Object.Size || rep.RawBytes != m.Object.RawSize || rep.SHA256 != m.Object.SHA256 {
				t.Fatalf("report %+v, manifest object %+v", rep, m.Object)
			}
			// Every table's data range decompresses alone, as a partial restore reads it.
			tb := m.Databases[0].Tables[0]
			rc, _ := b.GetRange(context.Background(), m.Object.Key, tb.Data.Offset, tb.Data.Length)
			dec, err := NewDecompressor(rc, c)
			if err != nil {
				t.Fatal(err)
			}
			var raw bytes.Buffer
			if _, err := raw.ReadFrom(dec); err != nil {
				t.Fatal(err)
			}
			if int64(raw.Len()) != tb.Data.RawLength || !strings.HasPrefix(raw.String(), "INSERT INTO `t`") {
				t.Fatalf("data range holds %d bytes %q...", raw.Len(), raw.String()[:min(raw.Len(), 40)])
			}
		})
	}
}

func wantVerifyErr(t *testing.T, err error, substr string) {
	t.Helper()
	if err == nil {
		t.Fatalf("verify passed, want an error containing %q", substr)
	}
	if !errors.Is(err, ErrVerify) {
		t.Fatalf("error %q is not ErrVerify", err)
	}
	if !strings.Contains(err.Error(), substr) {
		t.Fatalf("error %q does not say %q", err, substr)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Fatalf("error is not one line: %q", err)
	}
}

func TestVerifyFailures(t *testing.T) {
	const id = "20240101T000000Z-bbbbbb"
	ctx := context.Background()
	for _, c := range []string{CompressZstd, CompressGzip, CompressNone} {
		t.Run(c+"/tampered byte", func(t *testing.T) {
			b := newDumpMemBucket()
			m := verifyFakeBackup(t, b, id, c, Footer(id))
			obj, _ := b.get(m.Object.Key)
			obj = bytes.Clone(obj)
			obj[len(obj)/2] ^= 0x01
			b.set(m.Object.Key, obj)
			rep, err := VerifyID(ctx, b, id)
			wantVerifyErr(t, err, "checksum mismatch")
			if rep.Verified || rep.BytesRead != m.Object.Size {
				t.Fatalf("report %+v", rep)
			}
		})
		t.Run(c+"/truncated", func(t *testing.T) {
			b := newDumpMemBucket()
			m := verifyFakeBackup(t, b, id, c, Footer(id))
			obj, _ := b.get(m.Object.Key)
			b.set(m.Object.Key, obj[:len(obj)-10])
			_, err := VerifyID(ctx, b, id)
			wantVerifyErr(t, err, "size mismatch")
		})
		t.Run(c+"/footer missing", func(t *testing.T) {
			b := newDumpMemBucket()
			verifyFakeBackup(t, b, id, c, "-- some other end\n")
			_, err := VerifyID(ctx, b, id)
			wantVerifyErr(t, err, "footer missing")
		})
	}
	t.Run("table checksum", func(t *testing.T) {
		b := newDumpMemBucket()
		m := verifyFakeBackup(t, b, id, CompressZstd, Footer(id))
		m.Databases[0].Tables[0].DataSHA256 = strings.Repeat("0", 64)
		if err := putManifest(ctx, b, m); err != nil {
			t.Fatal(err)
		}
		_, err := VerifyID(ctx, b, id)
		wantVerifyErr(t, err, "checksum mismatch")
		if !strings.Contains(err.Error(), "`t`") {
			t.Fatalf("error %q does not name the table", err)
		}
	})
	t.Run("wrong range", func(t *testing.T) {
		b := newDumpMemBucket()
		m := verifyFakeBackup(t, b, id, CompressZstd, Footer(id))
		m.Databases[0].Tables[0].Data.Length--
		if err := putManifest(ctx, b, m); err != nil {
			t.Fatal(err)
		}
		_, err := VerifyID(ctx, b, id)
		wantVerifyErr(t, err, "does not follow")
	})
	t.Run("tampered manifest", func(t *testing.T) {
		b := newDumpMemBucket()
		verifyFakeBackup(t, b, id, CompressZstd, Footer(id))
		mb, _ := b.get(ManifestKey(id))
		b.set(ManifestKey(id), bytes.Replace(mb, []byte(`"rows": 2`), []byte(`"rows": 3`), 1))
		_, err := VerifyID(ctx, b, id)
		wantVerifyErr(t, err, "checksum mismatch")
	})
	t.Run("missing manifest", func(t *testing.T) {
		b := newDumpMemBucket()
		m := verifyFakeBackup(t, b, id, CompressZstd, Footer(id))
		_ = b.Delete(ctx, ManifestKey(id))
		_, err := VerifyID(ctx, b, id)
		if !errors.Is(err, ErrNoManifest) || !strings.Contains(err.Error(), "has no manifest") || !strings.Contains(err.Error(), "backupctl list") {
			t.Fatalf("error %v", err)
		}
		ms, err := List(ctx, b)
		if err != nil || len(ms) != 0 {
			t.Fatalf("List = %v, %v; want nothing (object %s has no manifest)", ms, err, m.Object.Key)
		}
	})
	t.Run("missing object", func(t *testing.T) {
		b := newDumpMemBucket()
		m := verifyFakeBackup(t, b, id, CompressZstd, Footer(id))
		_ = b.Delete(ctx, m.Object.Key)
		_, err := VerifyID(ctx, b, id)
		wantVerifyErr(t, err, "missing")
	})
}

func TestList(t *testing.T) {
	ctx := context.Background()
	b := newDumpMemBucket()
	ids := []string{"20240101T000000Z-aaaaaa", "20240301T000000Z-cccccc", "20240201T000000Z-bbbbbb"}
	for i, id := range ids {
		m := verifyFakeBackup(t, b, id, CompressZstd, Footer(id))
		m.StartedAt = time.Date(2024, time.Month(1+[]int{0, 2, 1}[i]), 1, 0, 0, 0, 0, time.UTC)
		if err := putManifest(ctx, b, m); err != nil {
			t.Fatal(err)
		}
	}
	b.set("20240401T000000Z-dddddd/dump.sql.zst", []byte("incomplete"))
	b.set("20240501T000000Z-eeeeee/manifest.json", []byte("{damaged"))
	ms, err := List(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.ID)
	}
	if want := "20240301T000000Z-cccccc 20240201T000000Z-bbbbbb 20240101T000000Z-aaaaaa"; strings.Join(got, " ") != want {
		t.Fatalf("List = %v, want %s", got, want)
	}
}
