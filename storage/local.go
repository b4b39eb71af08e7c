package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// tempPrefix starts the name of a file being written; List never shows such files and keys
// may not use the name, so a reader never sees half an object.
const tempPrefix = ".backupctl-tmp-"

// Local is a Bucket in a local directory: dir/prefix/key.
//
// Nothing below the configured directory may be a symbolic link: a linked prefix directory
// or object would send a backup, a read or a delete somewhere else. Every operation Lstats
// each component below the directory and opens files with O_NOFOLLOW, and refuses a link
// with an error naming it. (The configured directory itself may be a link: that is the
// administrator's choice, made once.) The checks guard against links planted or left in the
// tree, not against a writer racing them: such a writer can replace the backups anyway.
type Local struct {
	url  string // as configured, for messages
	root string // the configured directory
	dir  string // the directory plus the prefix
	// createTemp opens the temp file a Put writes; tests replace it to simulate a full disk.
	createTemp func(dir, pattern string) (tempFile, error)
}

// tempFile is the part of *os.File that Put uses.
type tempFile interface {
	io.Writer
	Sync() error
	Close() error
	Name() string
}

var _ Bucket = (*Local)(nil)

// errNotDir is what opening "a/b" returns when "a" is a file: no such object either.
var errNotDir error = syscall.ENOTDIR

func openLocal(raw string, u *url.URL, prefix string) (*Local, error) {
	if (u.Host != "" && u.Host != "localhost") || u.RawQuery != "" || u.User != nil {
		return nil, configErrorf("storage URL %q (%s) must be file:///absolute/dir", RedactURL(raw), settingTo)
	}
	p := u.Path
	if !path.IsAbs(p) {
		return nil, configErrorf("storage URL %q (%s) must name an absolute directory: file:///absolute/dir", RedactURL(raw), settingTo)
	}
	root := filepath.Clean(filepath.FromSlash(p))
	fi, err := os.Stat(root)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, configErrorf("directory %s does not exist (%s): create it first", root, settingTo)
	case err != nil:
		return nil, configErrorf("directory %s (%s): %w", root, settingTo, err)
	case !fi.IsDir():
		return nil, configErrorf("%s (%s) is not a directory", root, settingTo)
	}
	// The directory itself may be a link, resolved once here; nothing below it may be one.
	if root, err = filepath.EvalSymlinks(root); err != nil {
		return nil, configErrorf("directory %s (%s): %w", p, settingTo, err)
	}
	b := &Local{
		url:  raw,
		root: root,
		dir:  filepath.Join(root, filepath.FromSlash(prefix)),
		// CreateTemp opens with O_CREATE|O_EXCL, which never follows a link.
		createTemp: func(dir, pattern string) (tempFile, error) {
			return os.CreateTemp(dir, pattern)
		},
	}
	// Fail at once on a linked prefix; the operations check again, as links can appear later.
	if err := b.checkDirs(b.dir, false); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, errNotDir) {
		return nil, configErrorf("prefix %q (%s) under %s (%s): %w", prefix, settingPrefix, root, settingTo, err)
	}
	return b, nil
}

// symlinkError refuses a symbolic link below the backup directory.
type symlinkError struct{ path string }

func (e *symlinkError) Error() string {
	return fmt.Sprintf("%s is a symbolic link: links are refused below the backup directory, as they would send objects elsewhere", e.path)
}

// checkDirs checks that every component of dir below b.root is a directory and not a link.
// A missing component is created (mode 0700) when create is set, else it is an error
// matching fs.ErrNotExist; a component that is a file gives errNotDir.
func (b *Local) checkDirs(dir string, create bool) error {
	rel, err := filepath.Rel(b.root, dir)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("%s is not below %s", dir, b.root)
	}
	if rel == "." {
		return nil
	}
	cur := b.root
	for _, seg := range strings.Split(rel, string(filepath.Separator)) {
		cur = filepath.Join(cur, seg)
		fi, err := os.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) && create {
			if err := os.Mkdir(cur, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
			fi, err = os.Lstat(cur) // made by us or by a concurrent Put; check it either way
		}
		switch {
		case err != nil:
			return err
		case fi.Mode()&fs.ModeSymlink != 0:
			return &symlinkError{cur}
		case !fi.IsDir():
			return &fs.PathError{Op: "lstat", Path: cur, Err: errNotDir}
		}
	}
	return nil
}

// checkLeaf refuses an object path that is a link; a missing one is fine.
func checkLeaf(name string) error {
	fi, err := os.Lstat(name)
	if err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return &symlinkError{name}
	}
	return nil
}

// openNoFollow opens name read-only, refusing a link as its last component.
func openNoFollow(name string) (*os.File, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|oNoFollow, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, &symlinkError{name}
	}
	return f, err
}

// String names the directory.
func (b *Local) String() string { return "file://" + filepath.ToSlash(b.dir) }

func (b *Local) path(key string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	for seg := range strings.SplitSeq(key, "/") {
		if strings.HasPrefix(seg, tempPrefix) {
			return "", fmt.Errorf("key %q: names starting with %s are reserved for files being written", key, tempPrefix)
		}
	}
	return filepath.Join(b.dir, filepath.FromSlash(key)), nil
}

// Put writes r to a temp file next to the object, syncs it and renames it into place; on any
// error (a full disk, say) it removes the temp file.
func (b *Local) Put(ctx context.Context, key string, r io.Reader, size int64) (_ ObjectInfo, err error) {
	name, err := b.path(key)
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("put: %w", err)
	}
	parent := filepath.Dir(name)
	if err := b.checkDirs(parent, true); err != nil {
		return ObjectInfo{}, fmt.Errorf("put %s: %w", key, err)
	}
	if err := checkLeaf(name); err != nil {
		return ObjectInfo{}, fmt.Errorf("put %s: %w", key, err)
	}
	f, err := b.createTemp(parent, tempPrefix+"*")
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("put %s: %w", key, err)
	}
	done := false
	defer func() {
		if !done {
			f.Close()
			if rerr := os.Remove(f.Name()); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
				err = errors.Join(err, rerr)
			}
		}
	}()
	n, err := io.Copy(f, ctxReader{ctx, r})
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("put %s: %w", key, err)
	}
	if size >= 0 && n != size {
		return ObjectInfo{}, fmt.Errorf("put %s: input was %d bytes, expected %d", key, n, size)
	}
	if err := f.Sync(); err != nil {
		return ObjectInfo{}, fmt.Errorf("put %s: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return ObjectInfo{}, fmt.Errorf("put %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return ObjectInfo{}, fmt.Errorf("put %s: %w", key, err)
	}
	if err := os.Rename(f.Name(), name); err != nil {
		return ObjectInfo{}, fmt.Errorf("put %s: %w", key, err)
	}
	done = true
	// The rename is durable only once the directory is synced.
	if err := syncDir(parent); err != nil {
		return ObjectInfo{}, fmt.Errorf("put %s: %w", key, err)
	}
	return b.Stat(ctx, key)
}

func syncDir(dir string) error {
	d, err := openNoFollow(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ctxReader stops a copy once the context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// open opens a regular file, with ErrNotFound for anything else.
func (b *Local) open(key string) (*os.File, fs.FileInfo, error) {
	name, err := b.path(key)
	if err != nil {
		return nil, nil, err
	}
	err = b.checkDirs(filepath.Dir(name), false)
	if err == nil {
		var f *os.File
		f, err = openNoFollow(name)
		if err == nil {
			return checkRegular(f)
		}
	}
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotDir) {
		return nil, nil, ErrNotFound
	}
	return nil, nil, err
}

// checkRegular returns an open file with its info if it is a regular file, else ErrNotFound.
func checkRegular(f *os.File) (*os.File, fs.FileInfo, error) {
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, ErrNotFound
	}
	return f, fi, nil
}

// Get reads a whole object.
func (b *Local) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	f, _, err := b.open(key)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	return f, nil
}

// GetRange reads length bytes from offset; a range that runs past the end is an error.
func (b *Local) GetRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if offset < 0 || length < 0 {
		return nil, fmt.Errorf("get %s: invalid range offset %d length %d", key, offset, length)
	}
	f, fi, err := b.open(key)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	if offset > fi.Size() || length > fi.Size()-offset {
		f.Close()
		return nil, fmt.Errorf("get %s: range %d+%d is beyond the end (%d bytes)", key, offset, length, fi.Size())
	}
	return struct {
		io.Reader
		io.Closer
	}{io.NewSectionReader(f, offset, length), f}, nil
}

// Stat describes an object.
func (b *Local) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	f, fi, err := b.open(key)
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("stat %s: %w", key, err)
	}
	f.Close()
	return ObjectInfo{Key: key, Size: fi.Size(), Modified: fi.ModTime()}, nil
}

// List walks the directory under prefix's last "/" and keeps regular files whose key starts
// with prefix; files being written are skipped.
func (b *Local) List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	if err := checkListPrefix(prefix); err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	start := b.dir
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		start = filepath.Join(b.dir, filepath.FromSlash(prefix[:i]))
	}
	if err := b.checkDirs(start, false); err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotDir) {
			return nil, nil // nothing stored under this prefix yet
		}
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	var out []ObjectInfo
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == start && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll // nothing stored under this prefix yet
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		// WalkDir does not follow links; a link here is refused, not quietly skipped, so
		// that a backup tree that was tampered with says so.
		if d.Type()&fs.ModeSymlink != 0 {
			return &symlinkError{p}
		}
		if !d.Type().IsRegular() || strings.HasPrefix(d.Name(), tempPrefix) {
			return nil
		}
		rel, err := filepath.Rel(b.dir, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // deleted while we walked
		}
		if err != nil {
			return err
		}
		out = append(out, ObjectInfo{Key: key, Size: fi.Size(), Modified: fi.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	// WalkDir's order puts "a/b" before "a.txt"; keys sort as strings.
	slices.SortFunc(out, func(a, b ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// Delete removes an object; a missing one is not an error.
func (b *Local) Delete(ctx context.Context, key string) error {
	name, err := b.path(key)
	if err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	err = b.checkDirs(filepath.Dir(name), false)
	var fi fs.FileInfo
	if err == nil {
		fi, err = os.Lstat(name)
	}
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotDir) || (err == nil && fi.IsDir()) {
		return nil
	}
	if err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		err = &symlinkError{name}
	}
	if err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}
