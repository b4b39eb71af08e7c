package verify

import (
	"crypto/sha256"
	"io"
	"sync"
)

// pipeBufs and pipeBuf size the buffers that pass bytes between the stages of a verification:
// enough to keep each stage busy while the next one works, small enough not to matter for memory.
const (
	pipeBufs = 4
	pipeBuf  = 256 << 10
)

// aheadReader reads r from a goroutine of its own, so that whatever r does per byte (hashing
// the stored bytes, the network) runs on another core than the reader's consumer.
type aheadReader struct {
	full chan []byte
	free chan []byte
	done chan struct{}
	once sync.Once
	buf  []byte // the buffer being consumed, returned to free when empty
	cur  []byte // its unread part
	err  error  // set by the producer before it closes full
}

func readAhead(r io.Reader) *aheadReader {
	a := &aheadReader{full: make(chan []byte, pipeBufs), free: make(chan []byte, pipeBufs), done: make(chan struct{})}
	for range pipeBufs {
		a.free <- make([]byte, pipeBuf)
	}
	go a.produce(r)
	return a
}

func (a *aheadReader) produce(r io.Reader) {
	defer close(a.full)
	for {
		var b []byte
		select {
		case b = <-a.free:
		case <-a.done:
			return
		}
		n, err := io.ReadFull(r, b)
		if n > 0 {
			select {
			case a.full <- b[:n]:
			case <-a.done:
				return
			}
		}
		if err != nil {
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			a.err = err
			return
		}
	}
}

// Read returns the bytes read ahead, in order.
func (a *aheadReader) Read(p []byte) (int, error) {
	for len(a.cur) == 0 {
		if a.buf != nil {
			a.free <- a.buf[:cap(a.buf)]
			a.buf = nil
		}
		b, ok := <-a.full
		if !ok {
			return 0, a.err
		}
		a.buf, a.cur = b, b
	}
	n := copy(p, a.cur)
	a.cur = a.cur[n:]
	return n, nil
}

// Close stops the producer; it may still be blocked in r until r is closed.
func (a *aheadReader) Close() error {
	a.once.Do(func() { close(a.done) })
	return nil
}

// asyncHash is a SHA-256 computed by a goroutine of its own: Write copies and returns at once;
// writeThen hands over a buffer without a copy.
type asyncHash struct {
	in   chan hashItem // an item without bytes or done asks for the sum
	free chan []byte
	sums chan []byte
}

// hashItem is bytes to hash, and what to call once they are hashed.
type hashItem struct {
	b    []byte
	done func()
}

// newAsyncHash starts the hashing goroutine. With raw, it also writes every byte it hashes to
// raw, in order, before it hands the buffer back; after raw's first error it writes no more.
func newAsyncHash(raw io.Writer) *asyncHash {
	a := &asyncHash{in: make(chan hashItem, pipeBufs), free: make(chan []byte, pipeBufs), sums: make(chan []byte)}
	for range pipeBufs {
		a.free <- make([]byte, pipeBuf)
	}
	go func() {
		h := sha256.New()
		for it := range a.in {
			if it.done == nil {
				a.sums <- h.Sum(nil)
				h.Reset()
				continue
			}
			h.Write(it.b)
			if raw != nil {
				if _, err := raw.Write(it.b); err != nil {
					raw = nil
				}
			}
			it.done()
		}
	}()
	return a
}

// Write hands a copy of p to the hashing goroutine.
func (a *asyncHash) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		b := <-a.free
		k := copy(b, p)
		a.in <- hashItem{b: b[:k], done: func() { a.free <- b }}
		p = p[k:]
	}
	return n, nil
}

// writeThen hashes p, which the caller leaves alone until done is called (on the hashing
// goroutine): a chunk's bytes are hashed where the decoder left them.
func (a *asyncHash) writeThen(p []byte, done func()) { a.in <- hashItem{b: p, done: done} }

// SumReset returns the SHA-256 of everything written since the last SumReset and starts anew.
func (a *asyncHash) SumReset() []byte {
	a.in <- hashItem{}
	return <-a.sums
}

// Close ends the goroutine; the hash is not used after.
func (a *asyncHash) Close() { close(a.in) }
