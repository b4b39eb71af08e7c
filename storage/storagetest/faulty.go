package storagetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/backupctl/backupctl/storage"
)

// Method names a method of storage.Bucket, for faults and for the calls a Faulty records.
type Method string

// The methods of storage.Bucket.
const (
	MethodPut      Method = "Put"
	MethodGet      Method = "Get"
	MethodGetRange Method = "GetRange"
	MethodStat     Method = "Stat"
	MethodList     Method = "List"
	MethodDelete   Method = "Delete"
)

// Call is one call a Faulty saw, in the order of the calls.
type Call struct {
	Method Method
	Key    string // the key, or the prefix of a List
	Offset int64  // GetRange's offset; 0 otherwise
	Length int64  // GetRange's length; Put's size; 0 otherwise
	Fault  string // the name of the fault that fired on the call, "" for none
}

// Fault is one named fault of a Faulty: what happens to the calls of a method that it matches.
// A fault with neither Err, Delay nor Wrap only names the calls it matches.
type Fault struct {
	// Name says what the fault stands for ("minio down", "torn read"); it is in the error a
	// call returns and in Call.Fault.
	Name string
	// Key, when not empty, limits the fault to the calls on that key (List: that prefix).
	Key string
	// Skip lets this many matching calls through before the fault fires.
	Skip int
	// Times is how often it fires; 0 means every time.
	Times int
	// Delay waits before the call (or until the context ends, which the call then returns).
	Delay time.Duration
	// Err, when set, is returned instead of making the call; the error wraps it, so errors.Is
	// finds it, and names the fault.
	Err error
	// Wrap, for Get and GetRange, serves the object through Wrap (off is where the returned
	// reader starts in the object); for Put, the bucket reads the data through it (off 0).
	Wrap func(rc io.ReadCloser, off int64) io.ReadCloser

	seen, fired int
}

// FaultError is what a call returns when a fault with Err fires.
type FaultError struct {
	Fault  string
	Method Method
	Key    string
	Err    error
}

func (e *FaultError) Error() string {
	return fmt.Sprintf("%s %s: injected fault %q: %v", e.Method, e.Key, e.Fault, e.Err)
}

func (e *FaultError) Unwrap() error { return e.Err }

// Faulty wraps a Bucket: it records every call, and it lets a test add named faults per method
// (errors, delays, readers that tear or corrupt the data). Without faults it only counts. Safe
// for concurrent use.
type Faulty struct {
	storage.Bucket
	mu     sync.Mutex
	calls  []Call
	faults map[Method][]*Fault
}

// NewFaulty wraps b.
func NewFaulty(b storage.Bucket) *Faulty { return &Faulty{Bucket: b, faults: map[Method][]*Fault{}} }

// AddFault adds f to the calls of m, after the faults added before (the first that matches a
// call fires) and returns f.
func (b *Faulty) AddFault(m Method, f *Fault) *Fault {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.faults[m] = append(b.faults[m], f)
	return f
}

// Fired says how often the fault named name has fired.
func (b *Faulty) Fired(name string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, c := range b.calls {
		if c.Fault == name {
			n++
		}
	}
	return n
}

// Calls returns the calls so far of the given methods (of every method when none is given).
func (b *Faulty) Calls(ms ...Method) []Call {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Call
	for _, c := range b.calls {
		if len(ms) == 0 || slices.Contains(ms, c.Method) {
			out = append(out, c)
		}
	}
	return out
}

// Count is how many calls of m on key ("" for any key) there were.
func (b *Faulty) Count(m Method, key string) int {
	n := 0
	for _, c := range b.Calls(m) {
		if key == "" || c.Key == key {
			n++
		}
	}
	return n
}

// Reset forgets the calls recorded so far (the faults stay).
func (b *Faulty) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = nil
}

// begin records a call and returns the fault that fires on it, if any, after its delay.
func (b *Faulty) begin(ctx context.Context, c Call) (*Fault, error) {
	b.mu.Lock()
	var f *Fault
	for _, x := range b.faults[c.Method] {
		if x.Key != "" && x.Key != c.Key {
			continue
		}
		if x.Times > 0 && x.fired >= x.Times {
			continue
		}
		x.seen++
		if x.seen <= x.Skip {
			continue
		}
		x.fired++
		f = x
		c.Fault = x.Name
		break
	}
	b.calls = append(b.calls, c)
	b.mu.Unlock()
	if f == nil {
		return nil, nil
	}
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return f, ctx.Err()
		}
	}
	if f.Err != nil {
		return f, &FaultError{Fault: f.Name, Method: c.Method, Key: c.Key, Err: f.Err}
	}
	return f, nil
}

func (b *Faulty) Put(ctx context.Context, key string, r io.Reader, size int64) (storage.ObjectInfo, error) {
	f, err := b.begin(ctx, Call{Method: MethodPut, Key: key, Length: size})
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	if f != nil && f.Wrap != nil {
		r = f.Wrap(io.NopCloser(r), 0)
	}
	return b.Bucket.Put(ctx, key, r, size)
}

func (b *Faulty) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	f, err := b.begin(ctx, Call{Method: MethodGet, Key: key})
	if err != nil {
		return nil, err
	}
	rc, err := b.Bucket.Get(ctx, key)
	if err != nil || f == nil || f.Wrap == nil {
		return rc, err
	}
	return f.Wrap(rc, 0), nil
}

func (b *Faulty) GetRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	f, err := b.begin(ctx, Call{Method: MethodGetRange, Key: key, Offset: offset, Length: length})
	if err != nil {
		return nil, err
	}
	rc, err := b.Bucket.GetRange(ctx, key, offset, length)
	if err != nil || f == nil || f.Wrap == nil {
		return rc, err
	}
	return f.Wrap(rc, offset), nil
}

func (b *Faulty) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	if _, err := b.begin(ctx, Call{Method: MethodStat, Key: key}); err != nil {
		return storage.ObjectInfo{}, err
	}
	return b.Bucket.Stat(ctx, key)
}

func (b *Faulty) List(ctx context.Context, prefix string) ([]storage.ObjectInfo, error) {
	if _, err := b.begin(ctx, Call{Method: MethodList, Key: prefix}); err != nil {
		return nil, err
	}
	return b.Bucket.List(ctx, prefix)
}

func (b *Faulty) Delete(ctx context.Context, key string) error {
	if _, err := b.begin(ctx, Call{Method: MethodDelete, Key: key}); err != nil {
		return err
	}
	return b.Bucket.Delete(ctx, key)
}

// ErrTorn is what a reader of TearAfter returns where it tears.
var ErrTorn = errors.New("connection reset (injected)")

// TearAfter is a Fault.Wrap whose reader fails with ErrTorn after n bytes: a connection that
// drops mid-object.
func TearAfter(n int64) func(io.ReadCloser, int64) io.ReadCloser {
	return func(rc io.ReadCloser, _ int64) io.ReadCloser {
		return readCloser{io.MultiReader(io.LimitReader(rc, n), errReader{ErrTorn}), rc}
	}
}

// FlipByte is a Fault.Wrap that inverts the byte at offset at of the object, wherever the
// reader starts: silent corruption in transit or at rest.
func FlipByte(at int64) func(io.ReadCloser, int64) io.ReadCloser {
	return func(rc io.ReadCloser, off int64) io.ReadCloser {
		return &flipReader{rc: rc, pos: off, at: at}
	}
}

type readCloser struct {
	io.Reader
	io.Closer
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

type flipReader struct {
	rc      io.ReadCloser
	pos, at int64
}

func (r *flipReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	if i := r.at - r.pos; i >= 0 && i < int64(n) {
		p[i] ^= 0xff
	}
	r.pos += int64(n)
	return n, err
}

func (r *flipReader) Close() error { return r.rc.Close() }
