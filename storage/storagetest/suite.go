// Package storagetest is the behaviour test that every storage.Bucket must pass, run by each
// implementation's own test with a constructor for fresh, empty buckets, and the buckets other
// packages' tests use: Local (a temporary file:// bucket), MinIO (a prefix of the shared bucket of
// .stack/env, emptied at the end) and Faulty, a test double that wraps any bucket, records its
// calls and fires named faults.
package storagetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backupctl/backupctl/storage"
)

// MiB is a mebibyte, for sizes in tests.
const MiB = 1 << 20

// Suite runs the shared tests against one Bucket implementation.
type Suite struct {
	// NewBucket returns an empty bucket for one test and registers its own cleanup.
	NewBucket func(t *testing.T) storage.Bucket
	// MemoryBound is the most heap a streamed 200 MiB Put may add; 0 means 32 MiB.
	MemoryBound int64
	// Leftovers lists what a failed Put of key left besides the object: temp files or
	// incomplete multipart uploads. Nil checks the object only.
	Leftovers func(t *testing.T, b storage.Bucket, key string) []string
}

// Run runs the suite with default settings.
func Run(t *testing.T, newBucket func(t *testing.T) storage.Bucket) {
	Suite{NewBucket: newBucket}.Run(t)
}

// Run runs every test of the suite as a subtest.
func (s Suite) Run(t *testing.T) {
	tests := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"Empty", s.testEmpty},
		{"RoundTrip", s.testRoundTrip},
		{"SizeMismatch", s.testSizeMismatch},
		{"ReaderError", s.testReaderError},
		{"NotFound", s.testNotFound},
		{"Range", s.testRange},
		{"List", s.testList},
		{"Delete", s.testDelete},
		{"Overwrite", s.testOverwrite},
		{"BadKeys", s.testBadKeys},
		{"Concurrent", s.testConcurrent},
		{"InvisibleUntilComplete", s.testInvisibleUntilComplete},
		{"CancelMidUpload", s.testCancel},
		{"Stream200MiB", s.testStream200MiB},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.fn)
	}
}

// Random returns n bytes of deterministic, incompressible data.
func Random(seed uint64, n int64) io.Reader {
	var s [32]byte
	copy(s[:], strconv.FormatUint(seed, 10))
	return io.LimitReader(rand.NewChaCha8(s), n)
}

func randomBytes(seed uint64, n int64) []byte {
	b, err := io.ReadAll(Random(seed, n))
	if err != nil {
		panic(err)
	}
	return b
}

// put stores data and checks the returned description.
func put(t *testing.T, b storage.Bucket, key string, data []byte, size int64) storage.ObjectInfo {
	t.Helper()
	info, err := b.Put(t.Context(), key, bytes.NewReader(data), size)
	if err != nil {
		t.Fatalf("Put(%q, %d bytes): %v", key, len(data), err)
	}
	if info.Key != key || info.Size != int64(len(data)) {
		t.Fatalf("Put(%q) = %+v, want key %q size %d", key, info, key, len(data))
	}
	return info
}

// Get reads a whole object; an error fails the test.
func Get(t testing.TB, b storage.Bucket, key string) []byte {
	t.Helper()
	rc, err := b.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Get(%q): read: %v", key, err)
	}
	return data
}

// checkGone asserts that key has no object and that a failed Put left nothing behind.
func (s Suite) checkGone(t *testing.T, b storage.Bucket, key string) {
	t.Helper()
	if info, err := b.Stat(t.Context(), key); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat(%q) after a failed Put = %+v, %v; want ErrNotFound", key, info, err)
	}
	list, err := b.List(t.Context(), "")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for _, o := range list {
		if o.Key == key {
			t.Errorf("List shows %q after a failed Put", key)
		}
	}
	if s.Leftovers != nil {
		if left := s.Leftovers(t, b, key); len(left) > 0 {
			t.Errorf("a failed Put of %q left %q", key, left)
		}
	}
}

func (s Suite) testEmpty(t *testing.T) {
	b := s.NewBucket(t)
	for _, size := range []int64{0, -1} {
		key := fmt.Sprintf("empty/size%d", size)
		put(t, b, key, nil, size)
		info, err := b.Stat(t.Context(), key)
		if err != nil || info.Size != 0 || info.Key != key || info.Modified.IsZero() {
			t.Errorf("Stat(%q) = %+v, %v; want size 0 and a time", key, info, err)
		}
		if data := Get(t, b, key); len(data) != 0 {
			t.Errorf("Get(%q) = %d bytes, want 0", key, len(data))
		}
		rc, err := b.GetRange(t.Context(), key, 0, 0)
		if err != nil {
			t.Fatalf("GetRange(%q, 0, 0): %v", key, err)
		}
		if data, err := io.ReadAll(rc); err != nil || len(data) != 0 {
			t.Errorf("GetRange(%q, 0, 0) = %d bytes, %v", key, len(data), err)
		}
		rc.Close()
	}
}

func (s Suite) testRoundTrip(t *testing.T) {
	b := s.NewBucket(t)
	for i, n := range []int64{1, 1000, 3*MiB + 17} {
		for _, known := range []bool{true, false} {
			key := fmt.Sprintf("rt/%d-%t", n, known)
			data := randomBytes(uint64(i), n)
			size := int64(-1)
			if known {
				size = n
			}
			before := time.Now().Add(-time.Minute) // servers' clocks and mtime granularity
			put(t, b, key, data, size)
			if got := Get(t, b, key); !bytes.Equal(got, data) {
				t.Errorf("Get(%q): %d bytes differ from the %d put", key, len(got), len(data))
			}
			info, err := b.Stat(t.Context(), key)
			if err != nil || info.Size != n || info.Key != key || info.Modified.Before(before) {
				t.Errorf("Stat(%q) = %+v, %v; want size %d, modified after %v", key, info, err, n, before)
			}
		}
	}
}

func (s Suite) testSizeMismatch(t *testing.T) {
	b := s.NewBucket(t)
	data := randomBytes(1, 1000)
	for _, size := range []int64{999, 1001, 0, 2000} {
		key := fmt.Sprintf("mismatch/%d", size)
		if _, err := b.Put(t.Context(), key, bytes.NewReader(data), size); err == nil {
			t.Errorf("Put(%q) of %d bytes with size %d succeeded", key, len(data), size)
		}
		s.checkGone(t, b, key)
	}
}

// failingReader returns n bytes of data, then err.
type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

func (s Suite) testReaderError(t *testing.T) {
	b := s.NewBucket(t)
	boom := errors.New("dump failed")
	for _, n := range []int64{0, 100, 20 * MiB} {
		key := fmt.Sprintf("readerr/%d", n)
		_, err := b.Put(t.Context(), key, &failingReader{Random(2, n), boom}, -1)
		if !errors.Is(err, boom) {
			t.Errorf("Put(%q) with a reader failing after %d bytes = %v; want it to wrap %v", key, n, err, boom)
		}
		s.checkGone(t, b, key)
	}
}

func (s Suite) testNotFound(t *testing.T) {
	b := s.NewBucket(t)
	put(t, b, "dir/file", []byte("x"), 1)
	ctx := t.Context()
	for _, key := range []string{"missing", "dir/missing", "dir", "dir/file/below"} {
		if _, err := b.Stat(ctx, key); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Stat(%q) = %v, want ErrNotFound", key, err)
		}
		if rc, err := b.Get(ctx, key); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Get(%q) = %v, want ErrNotFound", key, err)
			if rc != nil {
				rc.Close()
			}
		}
		if rc, err := b.GetRange(ctx, key, 0, 1); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("GetRange(%q) = %v, want ErrNotFound", key, err)
			if rc != nil {
				rc.Close()
			}
		}
		if err := b.Delete(ctx, key); err != nil {
			t.Errorf("Delete(%q) of a missing object: %v", key, err)
		}
	}
	if data := Get(t, b, "dir/file"); string(data) != "x" {
		t.Errorf("deleting missing keys changed dir/file to %q", data)
	}
}

func (s Suite) testRange(t *testing.T) {
	b := s.NewBucket(t)
	const n = MiB + 3
	data := randomBytes(3, n)
	put(t, b, "r", data, n)
	for _, r := range []struct{ off, length int64 }{
		{0, 1}, {0, 10}, {1, 1}, {500_000, 12345}, {n - 1, 1}, {0, n}, {n - 100, 100}, {7, 0}, {n, 0},
	} {
		rc, err := b.GetRange(t.Context(), "r", r.off, r.length)
		if err != nil {
			t.Errorf("GetRange(%d, %d): %v", r.off, r.length, err)
			continue
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Errorf("GetRange(%d, %d): read: %v", r.off, r.length, err)
		}
		if want := data[r.off : r.off+r.length]; !bytes.Equal(got, want) {
			t.Errorf("GetRange(%d, %d) = %d bytes, not the %d expected", r.off, r.length, len(got), len(want))
		}
	}
	for _, r := range []struct{ off, length int64 }{{n - 1, 2}, {n, 1}, {n + 5, 1}, {-1, 1}, {0, -1}} {
		if rc, err := b.GetRange(t.Context(), "r", r.off, r.length); err == nil {
			rc.Close()
			t.Errorf("GetRange(%d, %d) on %d bytes succeeded, want an error", r.off, r.length, n)
		}
	}
}

func (s Suite) testList(t *testing.T) {
	b := s.NewBucket(t)
	ctx := t.Context()
	if list, err := b.List(ctx, ""); err != nil || len(list) != 0 {
		t.Fatalf("List on a new bucket = %v, %v; want nothing", list, err)
	}
	keys := []string{"b/c/d", "a/2", "ab", "a.txt", "a/1", "a/sub/x", "z"}
	for i, k := range keys {
		put(t, b, k, bytes.Repeat([]byte("x"), i), int64(i))
	}
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"", []string{"a.txt", "a/1", "a/2", "a/sub/x", "ab", "b/c/d", "z"}},
		{"a", []string{"a.txt", "a/1", "a/2", "a/sub/x", "ab"}},
		{"a/", []string{"a/1", "a/2", "a/sub/x"}},
		{"a/s", []string{"a/sub/x"}},
		{"b/c/", []string{"b/c/d"}},
		{"b/c/d", []string{"b/c/d"}},
		{"nothing/", nil},
		{"zz", nil},
	} {
		list, err := b.List(ctx, tc.prefix)
		if err != nil {
			t.Errorf("List(%q): %v", tc.prefix, err)
			continue
		}
		var got []string
		for _, o := range list {
			got = append(got, o.Key)
			if want := int64(indexOf(keys, o.Key)); o.Size != want || o.Modified.IsZero() {
				t.Errorf("List(%q): %+v, want size %d and a time", tc.prefix, o, want)
			}
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("List(%q) = %q, want %q", tc.prefix, got, tc.want)
		}
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func (s Suite) testDelete(t *testing.T) {
	b := s.NewBucket(t)
	put(t, b, "d/1", []byte("one"), 3)
	put(t, b, "d/2", []byte("two"), 3)
	if err := b.Delete(t.Context(), "d/1"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := b.Stat(t.Context(), "d/1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat after Delete = %v, want ErrNotFound", err)
	}
	list, err := b.List(t.Context(), "")
	if err != nil || len(list) != 1 || list[0].Key != "d/2" {
		t.Errorf("List after Delete = %+v, %v; want only d/2", list, err)
	}
	if err := b.Delete(t.Context(), "d/1"); err != nil {
		t.Errorf("second Delete: %v", err)
	}
}

func (s Suite) testOverwrite(t *testing.T) {
	b := s.NewBucket(t)
	put(t, b, "o", []byte("first version"), -1)
	put(t, b, "o", []byte("second"), 6)
	if got := Get(t, b, "o"); string(got) != "second" {
		t.Errorf("after overwrite Get = %q, want %q", got, "second")
	}
}

func (s Suite) testBadKeys(t *testing.T) {
	b := s.NewBucket(t)
	ctx := t.Context()
	for _, key := range []string{"", "/abs", "../up", "a/../../up", "a/..", "a//b", "./a", "a/./b", "trailing/", ".."} {
		if _, err := b.Put(ctx, key, strings.NewReader("x"), 1); err == nil {
			t.Errorf("Put(%q) succeeded, want it refused", key)
		}
		if _, err := b.Stat(ctx, key); err == nil || errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Stat(%q) = %v, want the key refused", key, err)
		}
		if err := b.Delete(ctx, key); err == nil {
			t.Errorf("Delete(%q) succeeded, want it refused", key)
		}
	}
	for _, prefix := range []string{"/", "../", "a/../", "a//"} {
		if _, err := b.List(ctx, prefix); err == nil {
			t.Errorf("List(%q) succeeded, want it refused", prefix)
		}
	}
	if list, err := b.List(ctx, ""); err != nil || len(list) != 0 {
		t.Errorf("refused keys left %+v, %v", list, err)
	}
}

func (s Suite) testConcurrent(t *testing.T) {
	b := s.NewBucket(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			data := randomBytes(uint64(100+i), int64(1000*(i+1)))
			if _, err := b.Put(t.Context(), fmt.Sprintf("c/%d", i), bytes.NewReader(data), -1); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Put: %v", err)
	}
	for i := range 8 {
		if got, want := Get(t, b, fmt.Sprintf("c/%d", i)), randomBytes(uint64(100+i), int64(1000*(i+1))); !bytes.Equal(got, want) {
			t.Errorf("c/%d differs after concurrent Puts", i)
		}
	}
}

// gateReader returns data until it has sent at most `after` bytes, then blocks until open
// is closed; reached is closed when it starts blocking.
type gateReader struct {
	r       io.Reader
	after   int64
	sent    int64
	reached chan struct{}
	open    chan struct{}
	once    sync.Once
}

func (g *gateReader) Read(p []byte) (int, error) {
	if g.sent >= g.after {
		g.once.Do(func() { close(g.reached) })
		<-g.open
	} else if rest := g.after - g.sent; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := g.r.Read(p)
	g.sent += int64(n)
	return n, err
}

// testInvisibleUntilComplete checks that nobody sees an object while its Put runs.
func (s Suite) testInvisibleUntilComplete(t *testing.T) {
	b := s.NewBucket(t)
	ctx := t.Context()
	const n = 40 * MiB
	g := &gateReader{r: Random(4, n), after: 25 * MiB, reached: make(chan struct{}), open: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		_, err := b.Put(ctx, "half", g, -1)
		done <- err
	}()
	select {
	case <-g.reached:
	case err := <-done:
		t.Fatalf("Put returned before reading its input: %v", err)
	}
	time.Sleep(200 * time.Millisecond) // let in-flight writes land
	if info, err := b.Stat(ctx, "half"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat during Put = %+v, %v; want ErrNotFound", info, err)
	}
	if list, err := b.List(ctx, ""); err != nil || len(list) != 0 {
		t.Errorf("List during Put = %+v, %v; want nothing", list, err)
	}
	close(g.open)
	if err := <-done; err != nil {
		t.Fatalf("Put: %v", err)
	}
	if info, err := b.Stat(ctx, "half"); err != nil || info.Size != n {
		t.Errorf("Stat after Put = %+v, %v; want %d bytes", info, err, n)
	}
}

// cancelReader cancels its context once it has returned `after` bytes and keeps serving
// data, as a producer that does not watch the context would.
type cancelReader struct {
	r      io.Reader
	after  int64
	read   atomic.Int64
	cancel context.CancelFunc
}

func (c *cancelReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.read.Add(int64(n)) >= c.after {
		c.cancel()
	}
	return n, err
}

func (s Suite) testCancel(t *testing.T) {
	b := s.NewBucket(t)
	for _, after := range []int64{1, 40 * MiB} {
		key := fmt.Sprintf("cancel/%d", after)
		ctx, cancel := context.WithCancel(t.Context())
		r := &cancelReader{r: Random(5, 1<<40), after: after, cancel: cancel}
		start := time.Now()
		_, err := b.Put(ctx, key, r, -1)
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Put cancelled after %d bytes = %v; want context.Canceled", after, err)
		}
		t.Logf("cancelled after %d MiB read: Put returned in %v having read %d MiB",
			after/MiB, time.Since(start).Round(time.Millisecond), r.read.Load()/MiB)
		if r.read.Load() > after+256*MiB {
			t.Errorf("Put read %d bytes after cancellation", r.read.Load()-after)
		}
		s.checkGone(t, b, key)
	}
}

// testStream200MiB streams 200 MiB of unknown size and checks that memory stays bounded
// and the stored bytes hash the same.
func (s Suite) testStream200MiB(t *testing.T) {
	b := s.NewBucket(t)
	const n = 200 * MiB
	bound := s.MemoryBound
	if bound == 0 {
		bound = 32 * MiB
	}
	sent := sha256.New()
	var info storage.ObjectInfo
	var err error
	m := measureMemory(func() {
		info, err = b.Put(t.Context(), "big", io.TeeReader(Random(6, n), sent), -1)
	})
	if err != nil {
		t.Fatalf("Put 200 MiB: %v", err)
	}
	rss := "unknown (cannot reset VmHWM)"
	if m.rssOK {
		rss = fmt.Sprintf("%.1f MiB (VmHWM %d → %d KiB)", float64(m.rssAfter-m.rssBefore)/1024, m.rssBefore, m.rssAfter)
	}
	t.Logf("Put of 200 MiB: heap grew by at most %.1f MiB (bound %.1f MiB); peak RSS grew by %s",
		float64(m.heap)/MiB, float64(bound)/MiB, rss)
	if m.heap > bound {
		t.Errorf("Put of 200 MiB grew the heap by %.1f MiB, more than the bound of %.1f MiB",
			float64(m.heap)/MiB, float64(bound)/MiB)
	}
	// The race detector's shadow memory inflates RSS; the heap figure still holds there.
	if grew := (m.rssAfter - m.rssBefore) * 1024; m.rssOK && !raceEnabled && grew > bound {
		t.Errorf("Put of 200 MiB grew peak RSS by %.1f MiB, more than the bound of %.1f MiB",
			float64(grew)/MiB, float64(bound)/MiB)
	}
	if info.Size != n {
		t.Errorf("Put returned size %d, want %d", info.Size, n)
	}
	rc, err := b.Get(t.Context(), "big")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	defer rc.Close()
	got := sha256.New()
	read, err := io.Copy(got, rc)
	if err != nil {
		t.Fatalf("Get: read: %v", err)
	}
	if read != n || !bytes.Equal(got.Sum(nil), sent.Sum(nil)) {
		t.Errorf("read back %d bytes with SHA-256 %x; sent %d bytes with %x", read, got.Sum(nil), n, sent.Sum(nil))
	}
}

// memoryUse is what measureMemory saw.
type memoryUse struct {
	heap                int64 // largest growth of live heap objects, bytes
	rssBefore, rssAfter int64 // VmHWM in KiB, reset before the run
	rssOK               bool
}

// measureMemory runs f and returns the largest growth of live heap objects seen while it ran,
// sampled every few milliseconds. The collector runs often meanwhile, so the figure is what
// f holds rather than garbage awaiting collection. Where Linux lets us reset it, it also
// reports the process's peak RSS before and after.
func measureMemory(f func()) memoryUse {
	old := debug.SetGCPercent(10)
	defer debug.SetGCPercent(old)
	// Hand freed memory back first, so that the RSS peak measures this run, not earlier ones.
	debug.FreeOSMemory()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	var m memoryUse
	m.rssBefore, m.rssOK = resetPeakRSS()

	stop := make(chan struct{})
	done := make(chan uint64)
	go func() {
		var max uint64
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > max {
				max = v
			}
			select {
			case <-stop:
				done <- max
				return
			case <-tick.C:
			}
		}
	}()
	f()
	close(stop)
	if max := <-done; max > base {
		m.heap = int64(max - base)
	}
	if m.rssOK {
		m.rssAfter, m.rssOK = readKB("VmHWM")
	}
	return m
}

// resetPeakRSS resets VmHWM to the current RSS (Linux ≥ 4.0) and returns it in KiB.
func resetPeakRSS() (int64, bool) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return 0, false
	}
	return readKB("VmHWM")
}

func readKB(field string) (int64, bool) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			v, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return v, err == nil
		}
	}
	return 0, false
}

// PeakHeap runs f and returns the largest growth of live heap objects while it ran (see
// measureMemory), for tests of a memory bound of their own.
func PeakHeap(f func()) int64 { return measureMemory(f).heap }
