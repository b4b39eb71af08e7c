package binlog

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/backupctl/backupctl/backup/crypt"
	"github.com/backupctl/backupctl/backup/format"
	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/storage"
)

// An encrypted segment (ArchiveOptions.Recipients) is one age file of the compressed binlog,
// encrypted to the recipients and to an identity made for that segment alone, with which the
// archiver reads it back before it writes the index entry, and which it then forgets. The
// stored entry keeps in plaintext only what the archiver (which holds no identity) needs to
// resume, and status, list and prune need: the GTID positions at the segment's ends, the
// times of its first and last events, the gap, the stored object's size and SHA-256. The whole
// entry, with the positions in the server's binlog, the counts and the binlog's size and
// SHA-256, is sealed in it (docs/FORMAT.md, "Encrypted segments").

// openedSegment is what reading an encrypted segment takes besides its opened entry.
type openedSegment struct {
	size   int64  // stored bytes
	sha    string // their SHA-256
	hdrLen int64
	id     *crypt.Identity
}

// bucket shows the segment's compressed stream, decrypted.
func (o *openedSegment) bucket(b storage.Bucket, e *Entry) storage.Bucket {
	return crypt.OpenObject(b, e.Key, o.size, o.sha, e.Size, o.hdrLen, o.id)
}

// sealEntry is the entry to store for the encrypted segment whose whole entry is inner and
// whose stored object has size bytes with SHA-256 sha.
func sealEntry(u *crypt.Upload, inner *Entry, size int64, sha string) (*Entry, error) {
	plain, err := json.Marshal(inner)
	if err != nil {
		return nil, err
	}
	sealed, err := u.Recipients().SealBytes(plain)
	if err != nil {
		return nil, fmt.Errorf("seal index entry %d: %w", inner.Seq, err)
	}
	return &Entry{
		Format: inner.Format, Seq: inner.Seq, Archive: inner.Archive, Key: inner.Key,
		StartState: inner.StartState, EndState: inner.EndState, FirstTime: inner.FirstTime, LastTime: inner.LastTime,
		Size: size, SHA256: sha, Compression: inner.Compression, Gap: inner.Gap, Written: inner.Written,
		Encryption: &format.Encryption{Scheme: format.EncryptionAge, Recipients: u.Recipients().Strings(),
			HeaderLength: u.HeaderLength(), Sealed: sealed},
	}, nil
}

// OpenIndex returns the entries with every encrypted one replaced by its sealed whole entry,
// decrypted with id, from which its segment can be read (MakePlan, Replay). Without an
// identity, or with one that fits none of the recipients, it is a usage error naming them; a
// sealed part that does not decrypt or is another segment's is ErrCorrupt.
func OpenIndex(es []*Entry, id *crypt.Identity) ([]*Entry, error) {
	out := make([]*Entry, len(es))
	for i, e := range es {
		enc := e.Encryption
		if enc == nil {
			out[i] = e
			continue
		}
		if enc.Scheme != format.EncryptionAge {
			return nil, fmt.Errorf("%w: segment %d of %s is encrypted with %q, which this backupctl does not know", ErrCorrupt, e.Seq, e.Archive, enc.Scheme)
		}
		if id == nil {
			return nil, contract.Usagef("the binlog archive of %s is encrypted to %s (from segment %d): give the identity of one of them in %s or --age-identity-file",
				e.Archive, crypt.RecipientList(enc), e.Seq, contract.EnvAgeIdentity)
		}
		plain, err := crypt.OpenSealed(enc.Sealed, id, maxEntrySize)
		if errors.Is(err, crypt.ErrWrongIdentity) {
			return nil, contract.Usagef("segment %d of the binlog archive of %s is encrypted to %s, and the age identity given is none of them: give the identity of one of these recipients",
				e.Seq, e.Archive, crypt.RecipientList(enc))
		}
		if err != nil {
			return nil, fmt.Errorf("%w: index entry %d of %s: %v", ErrCorrupt, e.Seq, e.Archive, err)
		}
		var in Entry
		if err := json.Unmarshal(plain, &in); err != nil {
			return nil, fmt.Errorf("%w: the sealed part of index entry %d of %s: %v", ErrCorrupt, e.Seq, e.Archive, err)
		}
		if !sameSegment(e, &in) {
			return nil, fmt.Errorf("%w: the sealed part of index entry %d of %s is not this segment's: it was swapped", ErrCorrupt, e.Seq, e.Archive)
		}
		in.Encryption, in.Checksum = enc, e.Checksum
		in.opened = &openedSegment{size: e.Size, sha: e.SHA256, hdrLen: enc.HeaderLength, id: id}
		out[i] = &in
	}
	return out, nil
}

// sameSegment says whether in, a sealed whole entry, is the one of the stored entry e.
func sameSegment(e, in *Entry) bool {
	sameGap := (e.Gap == nil) == (in.Gap == nil) && (e.Gap == nil || *e.Gap == *in.Gap)
	return in.Encryption == nil && sameGap && in.Format == e.Format && in.Seq == e.Seq && in.Archive == e.Archive &&
		in.Key == e.Key && in.StartState == e.StartState && in.EndState == e.EndState && in.Compression == e.Compression &&
		in.FirstTime.Equal(e.FirstTime) && in.LastTime.Equal(e.LastTime) && in.Written.Equal(e.Written)
}
