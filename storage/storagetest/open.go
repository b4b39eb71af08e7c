package storagetest

import (
	"context"
	"testing"
	"time"

	"github.com/backupctl/backupctl/internal/testenv"
	"github.com/backupctl/backupctl/storage"
)

// Local opens a file:// bucket in a temporary directory of the test and returns it with the
// directory.
func Local(t testing.TB) (storage.Bucket, string) {
	t.Helper()
	dir := t.TempDir()
	b, err := storage.Open(t.Context(), storage.Config{URL: "file://" + dir})
	if err != nil {
		t.Fatal(err)
	}
	return b, dir
}

// MinIOConfig is the shared MinIO bucket of .stack/env (testenv.MinIO) under prefix. It fails
// the test when a variable is missing and skips under -short.
func MinIOConfig(t testing.TB, prefix string) storage.Config {
	t.Helper()
	s := testenv.MinIO(t)
	return storage.Config{URL: s.Endpoint, Bucket: s.Bucket, Prefix: prefix, Region: s.Region,
		AccessKey: s.AccessKey, SecretKey: s.SecretKey}
}

// MinIO opens prefix of the shared MinIO bucket (a prefix of the test's own: e.g.
// "dump-test/"+testenv.RandomHex(4)) and deletes every object under it when the test ends,
// unless BACKUP_TEST_KEEP is set.
func MinIO(t testing.TB, prefix string) storage.Bucket {
	t.Helper()
	b, err := storage.Open(t.Context(), MinIOConfig(t, prefix))
	if err != nil {
		t.Fatalf("open MinIO bucket: %v (%s)", err, testenv.Hint)
	}
	t.Cleanup(func() {
		if testenv.Keep() {
			t.Logf("keeping %s (BACKUP_TEST_KEEP)", b)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		Empty(ctx, b)
	})
	return b
}

// Empty deletes every object of b, as far as it can; for cleanups.
func Empty(ctx context.Context, b storage.Bucket) {
	objs, _ := b.List(ctx, "")
	for _, o := range objs {
		_ = b.Delete(ctx, o.Key)
	}
}
