package storage_test

import (
	"errors"
	"os"
	"syscall"
	"testing"

	"github.com/backupctl/backupctl/storage/storagetest"
)

// TestLocalFullDiskTmpfs fills a real 1 MiB tmpfs. Mounting needs root (as in CI); where it
// is refused the test says so and relies on TestLocalFullDiskInjected.
func TestLocalFullDiskTmpfs(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
			t.Logf("cannot mount a tmpfs (%v): the injected ENOSPC test covers this", err)
			return
		}
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	b := openLocal(t, dir)
	checkFullDisk(t, b, dir, 2*storagetest.MiB)
	// The space is free again: a small object fits.
	if _, err := b.Put(t.Context(), "small", storagetest.Random(2, 500_000), -1); err != nil {
		t.Errorf("Put after the failed ones: %v", err)
	}
	if err := os.WriteFile(dir+"/probe", nil, 0o600); err != nil {
		t.Errorf("tmpfs unusable after the test: %v", err)
	}
}
