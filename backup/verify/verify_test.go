package verify

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/backup/internal/backuptest"
)

func TestVerifyGood(t *testing.T) {
	for _, c := range []string{format.CompressZstd, format.CompressGzip, format.CompressNone} {
		t.Run(c, func(t *testing.T) {
			b := backuptest.NewMemBucket()
			m := backuptest.FakeBackup(t, b, "20240101T000000Z-aaaaaa", c, format.Footer("20240101T000000Z-aaaaaa"))
			rep, err := ByID(context.Background(), b, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Verified || rep.BytesRead != m.Object.Size || rep.RawBytes != m.Object.RawSize || rep.SHA256 != m.Object.SHA256 {
				t.Fatalf("report %+v, manifest object %+v", rep, m.Object)
			}
			// Every table's data range decompresses alone, as a partial restore reads it.
			tb := m.Databases[0].Tables[0]
			rc, _ := b.GetRange(context.Background(), m.Object.Key, tb.Data.Offset, tb.Data.Length)
			dec, err := format.NewDecompressor(rc, c)
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
	if !errors.Is(err, format.ErrVerify) {
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
	for _, c := range []string{format.CompressZstd, format.CompressGzip, format.CompressNone} {
		t.Run(c+"/tampered byte", func(t *testing.T) {
			b := backuptest.NewMemBucket()
			m := backuptest.FakeBackup(t, b, id, c, format.Footer(id))
			obj, _ := b.Object(m.Object.Key)
			obj = bytes.Clone(obj)
			obj[len(obj)/2] ^= 0x01
			b.SetObject(m.Object.Key, obj)
			rep, err := ByID(ctx, b, id)
			wantVerifyErr(t, err, "checksum mismatch")
			if rep.Verified || rep.BytesRead != m.Object.Size {
				t.Fatalf("report %+v", rep)
			}
		})
		t.Run(c+"/truncated", func(t *testing.T) {
			b := backuptest.NewMemBucket()
			m := backuptest.FakeBackup(t, b, id, c, format.Footer(id))
			obj, _ := b.Object(m.Object.Key)
			b.SetObject(m.Object.Key, obj[:len(obj)-10])
			_, err := ByID(ctx, b, id)
			wantVerifyErr(t, err, "size mismatch")
		})
		t.Run(c+"/footer bomb", func(t *testing.T) {
			// A footer section that inflates to 64 MiB, in a manifest that says it holds a
			// footer line: verification stops one byte past it.
			b := backuptest.NewMemBucket()
			footer := format.Footer(id)
			m := backuptest.FakeBackup(t, b, id, c, footer+strings.Repeat("\n", 64<<20))
			m.Object.RawSize -= m.Footer.RawLength - int64(len(footer))
			m.Footer.RawLength = int64(len(footer))
			if err := format.PutManifest(ctx, b, m); err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := ByID(ctx, b, id)
			runtime.ReadMemStats(&after)
			wantVerifyErr(t, err, "footer section decompresses to more than the 52 bytes the manifest says")
			if n := after.TotalAlloc - before.TotalAlloc; n > 32<<20 {
				t.Errorf("verification allocated %d MiB", n>>20)
			}
		})
		t.Run(c+"/footer missing", func(t *testing.T) {
			b := backuptest.NewMemBucket()
			backuptest.FakeBackup(t, b, id, c, "-- some other end\n")
			_, err := ByID(ctx, b, id)
			wantVerifyErr(t, err, "footer missing")
		})
	}
	t.Run("table checksum", func(t *testing.T) {
		b := backuptest.NewMemBucket()
		m := backuptest.FakeBackup(t, b, id, format.CompressZstd, format.Footer(id))
		m.Databases[0].Tables[0].DataSHA256 = strings.Repeat("0", 64)
		if err := format.PutManifest(ctx, b, m); err != nil {
			t.Fatal(err)
		}
		_, err := ByID(ctx, b, id)
		wantVerifyErr(t, err, "checksum mismatch")
		if !strings.Contains(err.Error(), "`t`") {
			t.Fatalf("error %q does not name the table", err)
		}
	})
	t.Run("wrong range", func(t *testing.T) {
		b := backuptest.NewMemBucket()
		m := backuptest.FakeBackup(t, b, id, format.CompressZstd, format.Footer(id))
		m.Databases[0].Tables[0].Data.Length--
		if err := format.PutManifest(ctx, b, m); err != nil {
			t.Fatal(err)
		}
		_, err := ByID(ctx, b, id)
		wantVerifyErr(t, err, "does not follow")
	})
	t.Run("tampered manifest", func(t *testing.T) {
		b := backuptest.NewMemBucket()
		backuptest.FakeBackup(t, b, id, format.CompressZstd, format.Footer(id))
		mb, _ := b.Object(format.ManifestKey(id))
		b.SetObject(format.ManifestKey(id), bytes.Replace(mb, []byte(`"rows": 2`), []byte(`"rows": 3`), 1))
		_, err := ByID(ctx, b, id)
		wantVerifyErr(t, err, "checksum mismatch")
	})
	t.Run("missing manifest", func(t *testing.T) {
		b := backuptest.NewMemBucket()
		m := backuptest.FakeBackup(t, b, id, format.CompressZstd, format.Footer(id))
		_ = b.Delete(ctx, format.ManifestKey(id))
		_, err := ByID(ctx, b, id)
		if !errors.Is(err, format.ErrNoManifest) || !strings.Contains(err.Error(), "has no manifest") || !strings.Contains(err.Error(), "backupctl list") {
			t.Fatalf("error %v", err)
		}
		ms, err := format.List(ctx, b)
		if err != nil || len(ms) != 0 {
			t.Fatalf("List = %v, %v; want nothing (object %s has no manifest)", ms, err, m.Object.Key)
		}
	})
	t.Run("missing object", func(t *testing.T) {
		b := backuptest.NewMemBucket()
		m := backuptest.FakeBackup(t, b, id, format.CompressZstd, format.Footer(id))
		_ = b.Delete(ctx, m.Object.Key)
		_, err := ByID(ctx, b, id)
		wantVerifyErr(t, err, "missing")
	})
}
