package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backupctl/backupctl/internal/sampledata"
)

func TestRunWritesWhatGenerateWrites(t *testing.T) {
	var want bytes.Buffer
	if _, err := sampledata.Generate(&want, sampledata.Options{Seed: 1, Scale: 0.01, Database: "shop"}); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if err := run([]string{"-scale", "0.01", "-database", "shop"}, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	if !bytes.Equal(stdout.Bytes(), want.Bytes()) {
		t.Errorf("standard output (%d bytes) is not Generate's with seed 1 (%d bytes)", stdout.Len(), want.Len())
	}
	if !strings.Contains(stderr.String(), "sampledata: seed 1:") {
		t.Errorf("no summary on standard error: %q", stderr.String())
	}

	file := filepath.Join(t.TempDir(), "shop.sql")
	stdout.Reset()
	stderr.Reset()
	if err := run([]string{"-scale", "0.01", "-database", "shop", "-o", file, "-q"}, &stdout, &stderr); err != nil {
		t.Fatalf("run -o: %v", err)
	}
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) || stdout.Len() != 0 || stderr.Len() != 0 {
		t.Errorf("-o -q: file %d bytes (want %d), stdout %d bytes, stderr %q", len(got), want.Len(), stdout.Len(), stderr.String())
	}

	if err := run([]string{"extra"}, &stdout, &stderr); err == nil {
		t.Errorf("an argument was accepted")
	}
}
