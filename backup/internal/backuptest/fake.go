package backuptest

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/backupctl/backupctl/backup/format"
)

// FakeBackup stores a backup built by the Section writer without a server: a header, one
// database with one table, a post Section and the footer. edit may change the SQL of the data
// Section and the footer before they are written.
func FakeBackup(t *testing.T, b *MemBucket, id, compression string, footer string) *format.Manifest {
	t.Helper()
	var obj bytes.Buffer
	sw := NewSectionWriter(&obj, compression, 0)
	suffix, err := format.ObjectSuffix(compression)
	if err != nil {
		t.Fatal(err)
	}
	m := &format.Manifest{Format: format.FormatVersion, ID: id, StartedAt: time.Now().UTC(), Tool: format.ToolName,
		Object: format.Object{Key: id + "/dump" + suffix, Compression: compression}}
	write := func(s string) func() error {
		return func() error { _, err := sw.WriteString(s); return err }
	}
	must := func(r format.Range, Sum string, err error) (format.Range, string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return r, Sum
	}
	m.Header, _ = must(sw.Section(write("-- header\n" + format.HeaderSQL)))
	db := format.Database{Name: "d`b\n\\! x", Charset: "utf8mb4", Collation: "utf8mb4_general_ci"}
	db.Create, _ = must(sw.Section(write("CREATE DATABASE `d``b\n\\! x`;\nUSE `d``b\n\\! x`;\n")))
	tb := format.Table{Name: "t", Kind: "table", Rows: 2}
	tb.Schema, _ = must(sw.Section(write("CREATE TABLE `t` (a int);\n")))
	tb.Data, tb.DataSHA256 = must(sw.Section(write(strings.Repeat("INSERT INTO `t` (`a`) VALUES\n(1),\n(2);\n", 1000))))
	db.Tables = []format.Table{tb}
	db.Post, _ = must(sw.Section(write("CREATE VIEW `v` AS SELECT 1;\n")))
	m.Databases = []format.Database{db}
	m.Footer, _ = must(sw.Section(write(footer)))
	m.Object.Size, m.Object.SHA256, m.Object.RawSize = sw.Size(), sw.Sum(), sw.Raw
	b.SetObject(m.Object.Key, obj.Bytes())
	if err := format.PutManifest(context.Background(), b, m); err != nil {
		t.Fatal(err)
	}
	return m
}
