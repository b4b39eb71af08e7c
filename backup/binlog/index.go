package binlog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/storage"
)

// IndexFormat is the index entry format this build writes and reads.
const IndexFormat = 1

// Root is the key prefix under which every archive lives: Root/<archive>/<seq>.json and
// Root/<archive>/<seq>.binlog.zst. It holds no backup id, so backup listings pass it by.
const Root = "binlog"

// maxEntrySize bounds an index entry read from the bucket.
const maxEntrySize = 1 << 20

// Entry is the index entry of one archived segment. It is written after the segment was stored
// and read back, so a segment without its entry does not exist.
type Entry struct {
	Format int `json:"format"`
	// Seq numbers the segments of an archive in stream order, from 1.
	Seq uint64 `json:"seq"`
	// Archive names the server the binlog came from, as backups name it (@@hostname:@@port).
	Archive string `json:"archive"`
	// ServerID is the MariaDB server_id of the segment's first event.
	ServerID uint32 `json:"server_id"`
	Key      string `json:"key"`
	// StartState is the GTID position before the segment's first transaction, EndState the
	// one after its last: the next segment starts where this one ends, unless it has a Gap.
	StartState string `json:"start_state"`
	EndState   string `json:"end_state"`
	FirstGTID  string `json:"first_gtid"`
	LastGTID   string `json:"last_gtid"`
	// FirstTime and LastTime are the timestamps of the first and last events (seconds).
	FirstTime time.Time `json:"first_time"`
	LastTime  time.Time `json:"last_time"`
	// SourceFile, StartPos and EndPos locate the segment's events in the server's binlog.
	SourceFile   string `json:"source_file"`
	StartPos     uint32 `json:"start_pos"`
	EndPos       uint32 `json:"end_pos"`
	Transactions int64  `json:"transactions"`
	Events       int64  `json:"events"`
	// Size and SHA256 describe the stored (compressed) object, RawSize and RawSHA256 the
	// binlog file inside it.
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	RawSize     int64  `json:"raw_size"`
	RawSHA256   string `json:"raw_sha256"`
	Compression string `json:"compression"`
	// Gap, when set, says that binlog between the previous segment and this one is missing.
	Gap     *Gap      `json:"gap,omitempty"`
	Written time.Time `json:"written"`
	// Checksum is the SHA-256 of the entry's JSON with this field empty.
	Checksum string `json:"checksum"`
}

// Gap is binlog the archive does not hold: from After (the last archived position) to Before
// (where archiving resumed).
type Gap struct {
	After  string `json:"after"`
	Before string `json:"before"`
	Reason string `json:"reason"`
}

// ErrCorrupt marks an index entry or segment that is not what was written.
var ErrCorrupt = fmt.Errorf("binlog archive: %w", format.ErrVerify)

// archiveName keeps an archive name a single safe key segment.
var unsafeKeyChars = regexp.MustCompile(`[^A-Za-z0-9._-]`)

// ArchiveKey is the key segment of the archive of server (host:port).
func ArchiveKey(server string) string { return unsafeKeyChars.ReplaceAllString(server, "_") }

// EntryKey is the key of the index entry of segment seq.
func EntryKey(archive string, seq uint64) string {
	return path.Join(Root, ArchiveKey(archive), fmt.Sprintf("%012d.json", seq))
}

// SegmentKey is the key of segment seq.
func SegmentKey(archive string, seq uint64) string {
	return path.Join(Root, ArchiveKey(archive), fmt.Sprintf("%012d.binlog.zst", seq))
}

// sum is the entry's checksum.
func (e *Entry) sum() (string, error) {
	c := *e
	c.Checksum = ""
	b, err := json.Marshal(&c)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]), nil
}

// encode seals and encodes the entry.
func (e *Entry) encode() ([]byte, error) {
	var err error
	if e.Checksum, err = e.sum(); err != nil {
		return nil, err
	}
	return json.MarshalIndent(e, "", "  ")
}

// decodeEntry parses an entry and checks its checksum.
func decodeEntry(b []byte) (*Entry, error) {
	var e Entry
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("%w: index entry: %v", ErrCorrupt, err)
	}
	if e.Format != IndexFormat {
		return nil, fmt.Errorf("%w: index entry format %d, this build reads %d", ErrCorrupt, e.Format, IndexFormat)
	}
	want, err := e.sum()
	if err != nil {
		return nil, err
	}
	if want != e.Checksum {
		return nil, fmt.Errorf("%w: index entry %d fails its checksum", ErrCorrupt, e.Seq)
	}
	return &e, nil
}

// putEntry writes the entry of a stored segment.
func putEntry(ctx context.Context, b storage.Bucket, e *Entry) error {
	data, err := e.encode()
	if err != nil {
		return err
	}
	_, err = b.Put(ctx, EntryKey(e.Archive, e.Seq), bytes.NewReader(data), int64(len(data)))
	return err
}

// Archives lists the archives in the bucket by their key segment.
func Archives(ctx context.Context, b storage.Bucket) ([]string, error) {
	objs, err := b.List(ctx, Root+"/")
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", b, err)
	}
	var out []string
	for _, o := range objs {
		rest := strings.TrimPrefix(o.Key, Root+"/")
		name, _, ok := strings.Cut(rest, "/")
		if ok && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out, nil
}

// LoadIndex reads every index entry of an archive, in segment order. A damaged entry is an
// error: the archive cannot be trusted past it.
func LoadIndex(ctx context.Context, b storage.Bucket, archive string) ([]*Entry, error) {
	prefix := path.Join(Root, ArchiveKey(archive)) + "/"
	objs, err := b.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", b, err)
	}
	var out []*Entry
	for _, o := range objs {
		name, ok := strings.CutSuffix(strings.TrimPrefix(o.Key, prefix), ".json")
		if !ok {
			continue
		}
		seq, err := strconv.ParseUint(name, 10, 64)
		if err != nil {
			continue
		}
		e, err := readEntry(ctx, b, o.Key, o.Size)
		if errors.Is(err, storage.ErrNotFound) {
			continue // pruned since the listing
		}
		if err != nil {
			return nil, err
		}
		if e.Seq != seq || e.Archive != archive && ArchiveKey(e.Archive) != ArchiveKey(archive) {
			return nil, fmt.Errorf("%w: index entry %s names segment %d of %s", ErrCorrupt, o.Key, e.Seq, e.Archive)
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b *Entry) int { return cmpUint(a.Seq, b.Seq) })
	return out, nil
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// readEntry reads one entry, bounded in size.
func readEntry(ctx context.Context, b storage.Bucket, key string, size int64) (*Entry, error) {
	if size > maxEntrySize {
		return nil, fmt.Errorf("%w: index entry %s is %d bytes", ErrCorrupt, key, size)
	}
	rc, err := b.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxEntrySize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	e, err := decodeEntry(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return e, nil
}
