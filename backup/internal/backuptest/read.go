package backuptest

import (
	"io"
	"testing"

	"github.com/backupctl/backupctl/storage"
)

// ReadObject reads a whole object of b.
func ReadObject(t testing.TB, b storage.Bucket, key string) []byte {
	t.Helper()
	rc, err := b.Get(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
