package storage_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/backupctl/backupctl/storage"
	"github.com/backupctl/backupctl/storage/storagetest"
)

// openLocal opens a fresh directory bucket, with a prefix so that keys live below the root.
func openLocal(t *testing.T, dir string) storage.Bucket {
	t.Helper()
	b, err := storage.Open(t.Context(), storage.Config{URL: "file://" + filepath.ToSlash(dir), Prefix: "pre/fix"})
	if err != nil {
		t.Fatalf("Open(file://%s): %v", dir, err)
	}
	return b
}

// tempFiles lists files that a Put is (or was) writing below dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == dir {
			return fs.SkipAll
		}
		if err == nil && strings.HasPrefix(d.Name(), storage.TempPrefix) {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLocalSuite(t *testing.T) {
	storagetest.Suite{
		NewBucket: func(t *testing.T) storage.Bucket { return openLocal(t, t.TempDir()) },
		// io.Copy's 32 KiB buffer; the rest is the runtime and the test.
		MemoryBound: 8 * storagetest.MiB,
		Leftovers: func(t *testing.T, b storage.Bucket, key string) []string {
			return tempFiles(t, storage.LocalDir(b))
		},
	}.Run(t)
}

// enospcFile fails like a full disk once it has taken limit bytes.
type enospcFile struct {
	storage.TempFile
	limit int
}

func (f *enospcFile) Write(p []byte) (int, error) {
	if len(p) > f.limit {
		n, _ := f.TempFile.Write(p[:f.limit])
		f.limit = 0
		return n, &fs.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	f.limit -= len(p)
	return f.TempFile.Write(p)
}

// TestLocalFullDiskInjected fails writes with ENOSPC through the temp-file hook; it runs
// everywhere, unlike the tmpfs test.
func TestLocalFullDiskInjected(t *testing.T) {
	b := openLocal(t, t.TempDir())
	storage.SetCreateTemp(b, func(dir, pattern string) (storage.TempFile, error) {
		f, err := os.CreateTemp(dir, pattern)
		if err != nil {
			return nil, err
		}
		return &enospcFile{TempFile: f, limit: 100_000}, nil
	})
	checkFullDisk(t, b, storage.LocalDir(b), 1<<20)
}

// checkFullDisk puts n bytes where they do not fit and checks that nothing stays.
func checkFullDisk(t *testing.T, b storage.Bucket, dir string, n int64) {
	t.Helper()
	for _, size := range []int64{n, -1} {
		_, err := b.Put(t.Context(), "full/object", storagetest.Random(1, n), size)
		if !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("Put of %d bytes on a full disk = %v; want ENOSPC", n, err)
		}
		t.Logf("size %d: %v", size, err)
		if _, err := b.Stat(t.Context(), "full/object"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Stat after a failed Put = %v, want ErrNotFound", err)
		}
		if left := tempFiles(t, dir); len(left) > 0 {
			t.Errorf("a Put on a full disk left %q", left)
		}
	}
}

func TestLocalKeepsTempNamesReserved(t *testing.T) {
	b := openLocal(t, t.TempDir())
	if _, err := b.Put(t.Context(), "a/"+storage.TempPrefix+"x", strings.NewReader("x"), 1); err == nil {
		t.Error("Put of a key with a temp-file name succeeded")
	}
}
