package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/backupctl/backupctl/backup"
)

// generic is v as Print sees it: its JSON decoded.
func generic(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSummary: the one line of a backup, a verify and a restore result, sizes in binary units,
// counts with separators, the full location at the end.
func TestSummary(t *testing.T) {
	st := StorageFlags{Bucket: "backups", Prefix: "/prod/shop/"}
	res := &BackupResult{Result: &backup.Result{
		ID: "20261126T220405Z-a1b2c3", Key: "20261126T220405Z-a1b2c3/dump.sql.zst", Manifest: "20261126T220405Z-a1b2c3/manifest.json",
		Size: 742400, RawSize: 3460300, Verified: true, Tables: 16, Rows: 47268, DurationSeconds: 0.19, StartedAt: time.Now(),
	}}
	res.Location = st.Location(res.ID, res.Key, res.Manifest)
	if l := res.Location; l.URL != "s3://backups/prod/shop/20261126T220405Z-a1b2c3/" || l.ObjectKey != "prod/shop/20261126T220405Z-a1b2c3/dump.sql.zst" ||
		l.ManifestKey != "prod/shop/20261126T220405Z-a1b2c3/manifest.json" || l.Bucket != "backups" {
		t.Errorf("location %+v", l)
	}
	cases := []struct {
		v    any
		want string
	}{
		{res, "backup 20261126T220405Z-a1b2c3 verified: 725 KiB (3.3 MiB of SQL), 16 tables, 47,268 rows in 0.19 s, s3://backups/prod/shop/20261126T220405Z-a1b2c3/\n"},
		{&backup.VerifyReport{ID: "x1", BytesRead: 2048, RawBytes: 1 << 20, Verified: true, Tables: 3, SHA256: "abc"},
			"backup x1 verified: 2.0 KiB read back (1.0 MiB of SQL), 3 tables, sha256 abc\n"},
		{&backup.RestoreReport{ID: "x2", Databases: []string{"shop", "crm"}, Tables: 4, Rows: 1234567, Bytes: 4096, DurationSeconds: 1.5},
			"restored backup x2: 4 tables, 1,234,567 rows into shop, crm in 1.50 s (4.0 KiB read)\n"},
		{&backup.RestoreReport{ID: "x3", DryRun: true, Databases: []string{"shop"}, Tables: 4, Rows: 10},
			"dry run of backup x3: would restore 4 tables, 10 rows into shop; nothing was changed\n"},
	}
	for _, tc := range cases {
		if got, ok := summaryOf(generic(t, tc.v)); !ok || got != tc.want {
			t.Errorf("summary:\n got %q\nwant %q", got, tc.want)
		}
	}
	if _, ok := summaryOf(generic(t, map[string]string{"namespace": "x"})); ok {
		t.Error("a result of another kind has a summary")
	}
	// Not a terminal: the key: value lines, the location among them.
	var buf bytes.Buffer
	g := &Globals{Output: "text", Stdout: &buf}
	if err := g.Print(res); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "  url: s3://backups/prod/shop/20261126T220405Z-a1b2c3/\n") {
		t.Errorf("text output:\n%s", buf.String())
	}
	buf.Reset()
	g.Output = "yaml"
	if err := g.Print(res); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "id: 20261126T220405Z-a1b2c3\n") || !strings.Contains(buf.String(), "  object_key: prod/shop/20261126T220405Z-a1b2c3/dump.sql.zst\n") {
		t.Errorf("yaml output:\n%s", buf.String())
	}
}
