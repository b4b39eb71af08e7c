package sampledata_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backupctl/backupctl/internal/dbtest"
	"github.com/backupctl/backupctl/internal/sampledata"
)

// TestRoundTrip loads the sample database into the source server, backs it up with
// bin/backupctl into a local directory, restores it under another name, and compares the two
// down to the bytes: every object's SHOW CREATE and every table's checksum and row hash.
// It runs the binaries, not the backup package, so it tests what a user runs.
func TestRoundTrip(t *testing.T) {
	src := dbtest.Source(t) // skips under -short only; without the servers it fails
	bin, err := filepath.Abs(filepath.Join("..", "..", "bin", "backupctl"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%v: run `make build` first", err)
	}
	name, restored := dbtest.UniqueName("sample"), dbtest.UniqueName("sample_restored")
	src.Exec(t, "CREATE DATABASE "+dbtest.QuoteIdent(name)+" CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
	src.DropAtEnd(t, name)
	src.DropAtEnd(t, restored)

	var script bytes.Buffer
	start := time.Now()
	st, err := sampledata.Generate(&script, sampledata.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	generated := time.Since(start)
	start = time.Now()
	dbtest.RunClient(t, src, name, &script, dbtest.ClientOptions{})
	t.Logf("generated %d rows, %.1f MB of SQL in %v; loaded in %v", st.Rows(), float64(st.Bytes)/1e6,
		generated.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))

	inv := dbtest.InventoryOf(t, src, name)
	for _, tr := range st.Tables {
		if tb := inv.Tables[tr.Table]; tb == nil || tb.Rows != int64(tr.Rows) {
			t.Errorf("table %s: generated %d rows, loaded %+v", tr.Table, tr.Rows, tb)
		}
	}
	if len(inv.Tables) != 13 || len(inv.Views) != 5 || len(inv.Routines) != 4 || len(inv.Triggers) != 4 ||
		len(inv.Events) != 2 || len(inv.Sequences) != 1 {
		t.Errorf("loaded %d tables, %d views, %d routines, %d triggers, %d events, %d sequences; want 13, 5, 4, 4, 2, 1",
			len(inv.Tables), len(inv.Views), len(inv.Routines), len(inv.Triggers), len(inv.Events), len(inv.Sequences))
	}

	// A local directory keeps the test from leaving objects in the bucket.
	to := "file://" + t.TempDir()
	start = time.Now()
	out := backupctl(t, bin, "backup", "now", "--local", "-d", name, "--to", to, "-o", "json", "-q")
	var res struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(out, &res); err != nil || res.ID == "" {
		t.Fatalf("backup now -o json: %v\n%s", err, out)
	}
	t.Logf("backup %s took %v", res.ID, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	backupctl(t, bin, "restore", res.ID, "--local", "--into", restored, "--to", to, "-q")
	t.Logf("restore into %s took %v", restored, time.Since(start).Round(time.Millisecond))

	dbtest.Compare(t, src, name, src, restored)
}

// backupctl runs the binary with the servers' environment, storing in a directory instead of
// the bucket, and returns its standard output.
func backupctl(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BACKUP_S3_ENDPOINT=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("backupctl %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return out
}
