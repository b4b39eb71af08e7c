package binlog

import (
	"context"
	"fmt"

	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/storage"
)

// SegmentPrune is what a prune did to the binlog archives.
type SegmentPrune struct {
	Archive string `json:"archive"`
	// Oldest is the oldest kept backup of the archive's server: every segment it needs to reach
	// the present is kept, and the newest segment always (the archiver resumes after it).
	Oldest string `json:"oldest_kept_backup,omitempty"`
	// Deleted (or WouldDelete, dry run) are the segments whose transactions all precede Oldest.
	Deleted     []uint64 `json:"deleted,omitempty"`
	WouldDelete []uint64 `json:"would_delete,omitempty"`
	Bytes       int64    `json:"bytes"`
	// Reason says why nothing was deleted, when so.
	Reason string `json:"reason,omitempty"`
}

// PruneSegments deletes, in each archive, the segments no kept backup needs: those whose
// transactions all precede the snapshot of the oldest kept backup of that server. An archive
// with no kept backup is left alone. The index entry goes first, so a segment whose entry is
// gone no longer exists even if deleting its object fails.
func PruneSegments(ctx context.Context, b storage.Bucket, kept []*format.Manifest, dryRun bool) ([]SegmentPrune, error) {
	names, err := Archives(ctx, b)
	if err != nil {
		return nil, err
	}
	var out []SegmentPrune
	for _, name := range names {
		es, err := LoadIndex(ctx, b, name)
		if err != nil {
			return out, err
		}
		if len(es) == 0 {
			continue
		}
		p := SegmentPrune{Archive: es[0].Archive}
		oldest, base := oldestKept(kept, name)
		if oldest == nil {
			p.Reason = "no kept backup of this server has a binlog position: nothing deleted"
			out = append(out, p)
			continue
		}
		p.Oldest = oldest.ID
		for _, e := range es[:len(es)-1] {
			if !coversString(base, e.EndState) {
				break
			}
			p.Bytes += e.Size
			if dryRun {
				p.WouldDelete = append(p.WouldDelete, e.Seq)
				continue
			}
			if err := b.Delete(ctx, EntryKey(e.Archive, e.Seq)); err != nil {
				out = append(out, p)
				return out, fmt.Errorf("delete index entry %d of %s: %w", e.Seq, e.Archive, err)
			}
			if err := b.Delete(ctx, e.Key); err != nil {
				out = append(out, p)
				return out, fmt.Errorf("delete segment %d of %s: %w", e.Seq, e.Archive, err)
			}
			p.Deleted = append(p.Deleted, e.Seq)
		}
		out = append(out, p)
	}
	return out, nil
}

// oldestKept is the kept backup of archive with the lowest binlog position, and that position.
func oldestKept(kept []*format.Manifest, archive string) (*format.Manifest, State) {
	var oldest *format.Manifest
	var base State
	for _, m := range kept {
		if m.Binlog == nil || m.Binlog.GTID == "" || ArchiveKey(m.ServerID) != archive {
			continue
		}
		st, err := ParseState(m.Binlog.GTID)
		if err != nil {
			continue
		}
		if oldest == nil || base.Covers(st) && !st.Covers(base) || !base.Covers(st) && !st.Covers(base) && m.StartedAt.Before(oldest.StartedAt) {
			oldest, base = m, st
		}
	}
	return oldest, base
}
