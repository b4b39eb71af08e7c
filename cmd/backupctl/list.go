package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/dustin/go-humanize"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/internal/cli"
)

type listCmd struct {
	cli.StorageFlags `embed:"" group:"storage"`
}

// listEntry is one line of `backupctl list -o json`.
type listEntry struct {
	ID          string         `json:"id"`
	StartedAt   string         `json:"started_at"`
	FinishedAt  string         `json:"finished_at"`
	Databases   []string       `json:"databases"`
	Tables      int            `json:"tables"`
	Rows        int64          `json:"rows"`
	Key         string         `json:"key"`
	Size        int64          `json:"size"`
	SHA256      string         `json:"sha256"`
	Compression string         `json:"compression"`
	Binlog      *backup.Binlog `json:"binlog,omitempty"`
}

func (c *listCmd) Run(ctx context.Context, g *cli.Globals) error {
	b, err := c.StorageFlags.Open(ctx)
	if err != nil {
		return err
	}
	ms, err := backup.List(ctx, b)
	if err != nil {
		return err
	}
	entries := make([]listEntry, 0, len(ms))
	for _, m := range ms {
		entries = append(entries, listEntry{
			ID: m.ID, StartedAt: m.StartedAt.UTC().Format("2006-01-02T15:04:05Z"),
			FinishedAt: m.FinishedAt.UTC().Format("2006-01-02T15:04:05Z"),
			Databases:  m.DatabaseNames(), Tables: m.TableCount(), Rows: m.RowCount(),
			Key: m.Object.Key, Size: m.Object.Size, SHA256: m.Object.SHA256,
			Compression: m.Object.Compression, Binlog: m.Binlog,
		})
	}
	if g.Output == "json" {
		return g.Print(entries)
	}
	tw := tabwriter.NewWriter(g.Out(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tFINISHED\tSIZE\tTABLES\tROWS\tDATABASES")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", e.ID, e.FinishedAt, humanize.IBytes(uint64(e.Size)), e.Tables, e.Rows, strings.Join(e.Databases, ","))
	}
	return tw.Flush()
}
