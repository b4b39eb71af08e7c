package storagetest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/backupctl/backupctl/storage"
	"github.com/backupctl/backupctl/storage/storagetest"
)

// A Faulty without faults is the bucket it wraps: it passes the whole suite.
func TestFaultyWithoutFaultsPassesTheSuite(t *testing.T) {
	storagetest.Suite{
		NewBucket: func(t *testing.T) storage.Bucket {
			b, _ := storagetest.Local(t)
			return storagetest.NewFaulty(b)
		},
		MemoryBound: 8 * storagetest.MiB,
	}.Run(t)
}

func TestFaultyCountsCalls(t *testing.T) {
	b, _ := storagetest.Local(t)
	f := storagetest.NewFaulty(b)
	ctx := t.Context()
	if _, err := f.Put(ctx, "a/x", strings.NewReader("hello"), 5); err != nil {
		t.Fatal(err)
	}
	readAll(t)(f.Get(ctx, "a/x"))
	readAll(t)(f.GetRange(ctx, "a/x", 1, 3))
	readAll(t)(f.GetRange(ctx, "a/x", 0, 2))
	if _, err := f.Stat(ctx, "a/x"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.List(ctx, "a/"); err != nil {
		t.Fatal(err)
	}
	if err := f.Delete(ctx, "a/x"); err != nil {
		t.Fatal(err)
	}
	if n := f.Count(storagetest.MethodGet, "a/x"); n != 1 {
		t.Errorf("Count(Get) = %d, want 1", n)
	}
	got := f.Calls(storagetest.MethodGetRange)
	want := []storagetest.Call{{Method: "GetRange", Key: "a/x", Offset: 1, Length: 3}, {Method: "GetRange", Key: "a/x", Offset: 0, Length: 2}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("Calls(GetRange) = %+v, want %+v", got, want)
	}
	if all := f.Calls(); len(all) != 7 || all[0].Method != storagetest.MethodPut || all[0].Length != 5 {
		t.Errorf("Calls() = %+v", all)
	}
	f.Reset()
	if all := f.Calls(); len(all) != 0 {
		t.Errorf("after Reset: %+v", all)
	}
}

func TestFaultyNamedFaults(t *testing.T) {
	b, _ := storagetest.Local(t)
	f := storagetest.NewFaulty(b)
	ctx := t.Context()
	data := []byte("0123456789")
	if _, err := f.Put(ctx, "k", bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	down := errors.New("server down")
	f.AddFault(storagetest.MethodStat, &storagetest.Fault{Name: "minio down", Skip: 1, Times: 2, Err: down})
	for i, wantErr := range []bool{false, true, true, false} {
		_, err := f.Stat(ctx, "k")
		if (err != nil) != wantErr {
			t.Errorf("Stat %d: %v, want an error: %t", i, err, wantErr)
		}
		var fe *storagetest.FaultError
		if wantErr && (!errors.Is(err, down) || !errors.As(err, &fe) || fe.Fault != "minio down" || !strings.Contains(err.Error(), `"minio down"`)) {
			t.Errorf("Stat %d: %v does not wrap the fault", i, err)
		}
	}
	if n := f.Fired("minio down"); n != 2 {
		t.Errorf("Fired = %d, want 2", n)
	}

	f.AddFault(storagetest.MethodGet, &storagetest.Fault{Name: "other key", Key: "nope", Err: down})
	f.AddFault(storagetest.MethodGet, &storagetest.Fault{Name: "torn", Times: 1, Wrap: storagetest.TearAfter(4)})
	rc, err := f.Get(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if string(got) != "0123" || !errors.Is(err, storagetest.ErrTorn) {
		t.Errorf("torn Get = %q, %v; want 4 bytes and ErrTorn", got, err)
	}
	if got := readAll(t)(f.Get(ctx, "k")); string(got) != string(data) {
		t.Errorf("Get after the torn one = %q", got)
	}

	f.AddFault(storagetest.MethodGetRange, &storagetest.Fault{Name: "bit rot", Wrap: storagetest.FlipByte(5)})
	if got := readAll(t)(f.GetRange(ctx, "k", 4, 3)); !bytes.Equal(got, []byte{'4', '5' ^ 0xff, '6'}) {
		t.Errorf("GetRange with a flipped byte = %q", got)
	}
	if got := readAll(t)(f.GetRange(ctx, "k", 6, 2)); string(got) != "67" {
		t.Errorf("GetRange past the flipped byte = %q", got)
	}

	f.AddFault(storagetest.MethodPut, &storagetest.Fault{Name: "slow", Delay: time.Hour})
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := f.Put(cctx, "slow", strings.NewReader("x"), 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("delayed Put = %v, want the context's error", err)
	}
	if _, err := b.Stat(ctx, "slow"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("the delayed Put reached the bucket: %v", err)
	}
}

// readAll reads what a Get or GetRange returns: readAll(t)(b.Get(ctx, key)).
func readAll(t *testing.T) func(io.ReadCloser, error) []byte {
	return func(rc io.ReadCloser, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
}
