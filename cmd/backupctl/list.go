package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/dustin/go-humanize"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/backup/binlog"
	"github.com/backupctl/backupctl/internal/cli"
	"github.com/backupctl/backupctl/storage"
)

type listCmd struct {
	cli.StorageFlags   `embed:"" group:"storage"`
	cli.VerifyKeyFlags `embed:""`
	cli.IdentityFlags  `embed:""`
}

// listEntry is one line of `backupctl list -o json`.
type listEntry struct {
	ID          string         `json:"id"`
	StartedAt   string         `json:"started_at"`
	FinishedAt  string         `json:"finished_at"`
	Databases   []string       `json:"databases"`
	Set         string         `json:"set"`
	Origin      string         `json:"origin"`
	Tables      int            `json:"tables"`
	Rows        int64          `json:"rows"`
	Key         string         `json:"key"`
	Size        int64          `json:"size"`
	SHA256      string         `json:"sha256"`
	Compression string         `json:"compression"`
	Binlog      *backup.Binlog `json:"binlog,omitempty"`
	// Authenticated: signed by the --verify-key given (always false without one); KeyID is the
	// key the manifest names.
	Authenticated bool   `json:"authenticated"`
	KeyID         string `json:"key_id,omitempty"`
	// Encrypted: the backup is encrypted with age; Sealed: and its databases, tables, rows and
	// binlog position stay hidden, for want of the identity.
	Encrypted bool `json:"encrypted,omitempty"`
	Sealed    bool `json:"sealed,omitempty"`
	// Recoverable is how far the archived binlog can bring the backup (point-in-time restore).
	Recoverable *binlog.Window `json:"recoverable,omitempty"`
}

// openWithKey reads the --verify-key given (nil without one) and opens the storage.
func openWithKey(ctx context.Context, st cli.StorageFlags, vk cli.VerifyKeyFlags) (storage.Bucket, *backup.VerifyKey, error) {
	key, err := vk.Key()
	if err != nil {
		return nil, nil, err
	}
	b, err := st.Open(ctx)
	if err != nil {
		return nil, nil, err
	}
	return b, key, nil
}

func (c *listCmd) Run(ctx context.Context, g *cli.Globals) error {
	b, key, err := openWithKey(ctx, c.StorageFlags, c.VerifyKeyFlags)
	if err != nil {
		return err
	}
	ms, err := backup.List(ctx, b)
	if err != nil {
		return err
	}
	ident, err := c.Identity()
	if err != nil {
		return err
	}
	opened := make([]*backup.Manifest, len(ms))
	for i, stored := range ms {
		if opened[i], err = openForList(stored, ident); err != nil {
			return err
		}
	}
	// A sealed manifest (no identity) names no binlog position: it gets no window.
	windows, err := binlog.Windows(ctx, b, opened)
	if err != nil {
		return err
	}
	entries := make([]listEntry, 0, len(ms))
	for i, stored := range ms {
		m := opened[i]
		entries = append(entries, listEntry{
			ID: m.ID, StartedAt: m.StartedAt.UTC().Format("2006-01-02T15:04:05Z"),
			FinishedAt: m.FinishedAt.UTC().Format("2006-01-02T15:04:05Z"),
			Databases:  m.DatabaseNames(), Set: m.SetName(), Origin: m.OriginName(), Tables: m.TableCount(), Rows: m.RowCount(),
			Key: m.Object.Key, Size: m.Object.Size, SHA256: m.Object.SHA256,
			Compression: m.Object.Compression, Binlog: m.Binlog,
			Authenticated: key.Authenticated(stored), KeyID: m.Signer(), Recoverable: windows[i],
			Encrypted: m.Encryption != nil, Sealed: m.Encryption != nil && len(m.Databases) == 0,
		})
	}
	if n := len(ms) - len(backup.OnlyAuthenticated(ms, key)); n > 0 && !g.Quiet {
		fmt.Fprintf(g.Err(), "%d backup(s) marked NO are not signed by key %s: they were not written by your backups' dumper or were changed after; restore, verify and prune ignore them\n", n, key.ID())
	}
	if !g.Quiet {
		sealedNote(g.Err(), entries)
	}
	if g.Machine() {
		return g.Print(entries)
	}
	tw := tabwriter.NewWriter(g.Out(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tFINISHED\tSIZE\tTABLES\tROWS\tSIGNED\tDATABASES\tSET\tRECOVERABLE-TO")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.FinishedAt, humanize.IBytes(uint64(e.Size)), sealedOr(e, fmt.Sprint(e.Tables)), sealedOr(e, fmt.Sprint(e.Rows)), signedColumn(e, key != nil), sealedOr(e, strings.Join(e.Databases, ",")), e.Set, recoverableColumn(e.Recoverable))
	}
	return tw.Flush()
}

// signedColumn is the SIGNED column: with a verify key, yes or NO; without one, the key the
// manifest names, unchecked, or "-" when unsigned.
func signedColumn(e listEntry, checked bool) string {
	switch {
	case checked && e.Authenticated:
		return "yes"
	case checked:
		return "NO"
	case e.KeyID != "":
		return "unchecked:" + e.KeyID
	}
	return "-"
}

// recoverableColumn is the end of a backup's point-in-time window, "-" without an archive.
func recoverableColumn(w *binlog.Window) string {
	if w == nil || w.Reason != "" {
		return "-"
	}
	if w.GapAfter {
		return w.To.Format("2006-01-02T15:04:05Z") + " (gap after)"
	}
	return w.To.Format("2006-01-02T15:04:05Z")
}
