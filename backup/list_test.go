package backup

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/backup/internal/backuptest"
)

func TestList(t *testing.T) {
	ctx := context.Background()
	b := backuptest.NewMemBucket()
	ids := []string{"20240101T000000Z-aaaaaa", "20240301T000000Z-cccccc", "20240201T000000Z-bbbbbb"}
	for i, id := range ids {
		m := backuptest.FakeBackup(t, b, id, format.CompressZstd, format.Footer(id))
		m.StartedAt = time.Date(2024, time.Month(1+[]int{0, 2, 1}[i]), 1, 0, 0, 0, 0, time.UTC)
		if err := format.PutManifest(ctx, b, m); err != nil {
			t.Fatal(err)
		}
	}
	b.SetObject("20240401T000000Z-dddddd/dump.sql.zst", []byte("incomplete"))
	b.SetObject("20240501T000000Z-eeeeee/manifest.json", []byte("{damaged"))
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
