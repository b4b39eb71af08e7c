package crypt

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"

	"filippo.io/age"

	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/storage"
)

// age's payload (age-encryption.org/v1): a 16-byte nonce after the header, then chunks of
// 64 KiB of plaintext, each sealed with a 16-byte tag.
const (
	nonceSize    = 16
	chunkSize    = 64 << 10
	encChunkSize = chunkSize + 16
)

// Bucket shows an encrypted backup's object as its plaintext, the compressed stream, to
// restore and verify: Stat gives the plaintext size, Get decrypts the whole object as it streams
// (checking the stored size and SHA-256), and GetRange decrypts a range of the plaintext from
// one ranged read of the chunks it spans. Every other key passes through.
type Bucket struct {
	storage.Bucket
	key       string
	encSize   int64  // stored size, from the plaintext manifest (or as written)
	encSHA    string // stored SHA-256; empty while a new backup is read back (recorded instead)
	plainSize int64
	hdrLen    int64
	id        []age.Identity

	mu       sync.Mutex
	st       *headState
	recorded string // the stored SHA-256 taken by a whole read, for a new backup
	readBack int64  // the stored bytes that read took
}

// headState is what every range read needs besides its chunks, read once: the header and
// nonce, the final chunk (which age authenticates to check the size), and the file key.
type headState struct {
	head     []byte
	final    []byte
	finalOff int64
	fileKey  []byte
}

var _ storage.Bucket = (*Bucket)(nil)

// Stat gives the object's plaintext size; a stored size other than the manifest's shows as
// the same difference, so a truncation is reported as one.
func (b *Bucket) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	info, err := b.Bucket.Stat(ctx, key)
	if err != nil || key != b.key {
		return info, err
	}
	info.Size = info.Size - b.encSize + b.plainSize
	return info, nil
}

// Get decrypts the whole object as it streams; at its end the stored bytes' count and SHA-256
// must be the manifest's.
func (b *Bucket) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	rc, err := b.Bucket.Get(ctx, key)
	if err != nil || key != b.key {
		return rc, err
	}
	w := &wholeReader{b: b, rc: rc, hc: &format.HashCounter{W: io.Discard, H: sha256.New()}}
	r, err := age.Decrypt(io.TeeReader(rc, w.hc), b.id...)
	if err != nil {
		rc.Close()
		return nil, b.damaged(err)
	}
	w.r = bufio.NewReaderSize(r, 256<<10)
	return w, nil
}

// wholeReader is a whole object, decrypted, with the stored bytes counted and hashed.
type wholeReader struct {
	b  *Bucket
	rc io.ReadCloser
	r  io.Reader
	hc *format.HashCounter
}

func (w *wholeReader) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	switch {
	case err == io.EOF:
		return n, w.b.checkWhole(w.hc)
	case err != nil && w.hc.N < w.b.encSize && errors.Is(err, io.ErrUnexpectedEOF):
		return n, fmt.Errorf("%w: object %s is truncated: %d bytes of %d decrypt", format.ErrVerify, w.b.key, w.hc.N, w.b.encSize)
	case err != nil:
		return n, w.b.damaged(err)
	}
	return n, nil
}

func (w *wholeReader) Close() error { return w.rc.Close() }

// checkWhole compares the stored bytes of a whole read with the manifest, or records their
// SHA-256 for a new backup.
func (b *Bucket) checkWhole(hc *format.HashCounter) error {
	sum := hex.EncodeToString(hc.H.Sum(nil))
	switch {
	case hc.N != b.encSize:
		return fmt.Errorf("%w: object %s: %d bytes stored, the manifest says %d", format.ErrVerify, b.key, hc.N, b.encSize)
	case b.encSHA == "":
		b.mu.Lock()
		b.recorded, b.readBack = sum, hc.N
		b.mu.Unlock()
	case sum != b.encSHA:
		return fmt.Errorf("%w: object %s: SHA-256 of the stored bytes %s, the manifest says %s (the object was changed)", format.ErrVerify, b.key, sum, b.encSHA)
	}
	return io.EOF
}

// damaged is the error for an object that does not decrypt.
func (b *Bucket) damaged(err error) error {
	return fmt.Errorf("%w: object %s does not decrypt (%v): it was changed or damaged after it was written", format.ErrVerify, b.key, err)
}

// GetRange decrypts length bytes of the plaintext from offset. It reads the chunks the range
// spans with one ranged read (besides the header and final chunk, read once per Bucket).
func (b *Bucket) GetRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if key != b.key {
		return b.Bucket.GetRange(ctx, key, offset, length)
	}
	if offset < 0 || length < 0 || offset+length > b.plainSize {
		return nil, fmt.Errorf("%w: range %d+%d is outside object %s (%d bytes)", format.ErrVerify, offset, length, key, b.plainSize)
	}
	st, err := b.state(ctx)
	if err != nil {
		return nil, err
	}
	payload := b.hdrLen + nonceSize
	last := offset
	if length > 0 {
		last = offset + length - 1
	}
	w := &window{ctx: ctx, b: b, st: st, end: min(payload+(last/chunkSize+1)*encChunkSize, st.finalOff)}
	ra, size, err := age.DecryptReaderAt(w, b.encSize, age.NewInjectedFileKeyIdentity(st.fileKey))
	if err != nil {
		return nil, b.damaged(err)
	}
	if size != b.plainSize {
		return nil, fmt.Errorf("%w: object %s decrypts to %d bytes, the manifest says %d", format.ErrVerify, key, size, b.plainSize)
	}
	return &rangeReader{w: w, r: bufio.NewReaderSize(io.NewSectionReader(ra, offset, length), 256<<10)}, nil
}

// state reads the header, nonce and final chunk once and unwraps the file key.
func (b *Bucket) state(ctx context.Context) (*headState, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.st != nil {
		return b.st, nil
	}
	payload := b.hdrLen + nonceSize
	chunks := (b.encSize - payload + encChunkSize - 1) / encChunkSize
	if b.hdrLen <= 0 || chunks < 1 {
		return nil, fmt.Errorf("%w: object %s: %d bytes with a header of %d cannot be an age file", format.ErrVerify, b.key, b.encSize, b.hdrLen)
	}
	st := &headState{finalOff: payload + (chunks-1)*encChunkSize}
	var err error
	if st.head, err = b.readRange(ctx, 0, payload); err != nil {
		return nil, err
	}
	if st.final, err = b.readRange(ctx, st.finalOff, b.encSize-st.finalOff); err != nil {
		return nil, err
	}
	if st.fileKey, err = age.DecryptHeader(st.head[:b.hdrLen], b.id...); err != nil {
		return nil, b.damaged(err)
	}
	b.st = st
	return st, nil
}

// readRange reads a whole range of the stored object into memory.
func (b *Bucket) readRange(ctx context.Context, off, n int64) ([]byte, error) {
	rc, err := b.Bucket.GetRange(ctx, b.key, off, n)
	if err != nil {
		return nil, fmt.Errorf("read object %s: %w", b.key, err)
	}
	defer rc.Close()
	buf := make([]byte, n)
	if _, err := io.ReadFull(rc, buf); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: object %s is truncated", format.ErrVerify, b.key)
		}
		return nil, fmt.Errorf("read object %s: %w", b.key, err)
	}
	return buf, nil
}

// errPastHeader is what a read of the header returns beyond it: age parses the header through
// a buffer and reads the nonce after it, never further.
var errPastHeader = errors.New("read beyond the age header")

// window is the stored object as age's DecryptReaderAt reads it for one range: the header and
// final chunk from memory, the chunks of the range up to end from one ranged read, in order.
type window struct {
	ctx context.Context
	b   *Bucket
	st  *headState
	end int64

	rc  io.ReadCloser
	pos int64
	err error // the bucket's error, told apart from a chunk that does not authenticate
}

func (w *window) ReadAt(p []byte, off int64) (int, error) {
	switch {
	case off < int64(len(w.st.head)):
		n := copy(p, w.st.head[off:])
		if n < len(p) {
			return n, errPastHeader
		}
		return n, nil
	case off >= w.st.finalOff:
		n := copy(p, w.st.final[min(off-w.st.finalOff, int64(len(w.st.final))):])
		if n < len(p) {
			return n, io.EOF
		}
		return n, nil
	}
	if w.rc == nil || off != w.pos {
		if err := w.open(off); err != nil {
			return 0, err
		}
	}
	n, err := io.ReadFull(w.rc, p)
	w.pos += int64(n)
	if err != nil {
		w.err = fmt.Errorf("read object %s: %w", w.b.key, err)
		return n, w.err
	}
	return n, nil
}

// open starts the ranged read at off: the window's start, or wherever age asks next.
func (w *window) open(off int64) error {
	w.close()
	end := w.end
	if off >= end {
		end = w.st.finalOff
	}
	rc, err := w.b.Bucket.GetRange(w.ctx, w.b.key, off, end-off)
	if err != nil {
		w.err = fmt.Errorf("read object %s: %w", w.b.key, err)
		return w.err
	}
	w.rc, w.pos = rc, off
	return nil
}

func (w *window) close() {
	if w.rc != nil {
		w.rc.Close()
		w.rc = nil
	}
}

// rangeReader is a decrypted range; a chunk that does not authenticate is ErrVerify, a failed
// read the bucket's error.
type rangeReader struct {
	w *window
	r io.Reader
}

func (r *rangeReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		if r.w.err != nil {
			return n, r.w.err
		}
		return n, r.w.b.damaged(err)
	}
	return n, err
}

func (r *rangeReader) Close() error {
	r.w.close()
	return nil
}
