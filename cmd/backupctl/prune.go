package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/backupctl/backupctl/backup"
	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/internal/cli"
)

type pruneCmd struct {
	cli.RetentionFlags `embed:"" set:"retention_scope=each backup set on its own"`
	Set                string `name:"set" env:"BACKUP_SET" help:"Prune only this backup set (default: every set, each on its own; see the set names in the output)."`
	DryRun             bool   `name:"dry-run" env:"BACKUP_PRUNE_DRY_RUN" help:"Show per set what would be kept and deleted; delete nothing."`
	cli.StorageFlags   `embed:""`
	cli.VerifyKeyFlags `embed:""`
	cli.MetricsFlags   `embed:""`
}

func (c *pruneCmd) Run(ctx context.Context, g *cli.Globals) (err error) {
	if !c.RetentionFlags.Enabled() {
		return contract.Usagef("%v", backup.ErrNoPolicy)
	}
	if err := c.MetricsFlags.Check(); err != nil {
		return err
	}
	start := time.Now()
	var rep *backup.PruneReport
	defer func() { c.MetricsFlags.PushPrune(ctx, g, c.Set, start, rep, err) }()
	b, key, err := openWithKey(ctx, c.StorageFlags, c.VerifyKeyFlags)
	if err != nil {
		return err
	}
	opts := c.RetentionFlags.Options()
	opts.Set, opts.DryRun, opts.VerifyKey = c.Set, c.DryRun, key
	rep, err = backup.Prune(ctx, b, opts)
	if rep != nil {
		if perr := printPrune(g, rep); err == nil {
			err = perr
		}
	}
	return err
}

// printPrune prints the report: JSON with -o json, else per set a line a backup saying what
// became of it and why.
func printPrune(g *cli.Globals, rep *backup.PruneReport) error {
	if g.Machine() {
		return g.Print(rep)
	}
	var sb strings.Builder
	if rep.DryRun {
		sb.WriteString("dry run: nothing was deleted\n")
	}
	if len(rep.Sets) == 0 {
		sb.WriteString("no backups\n")
	}
	for _, s := range rep.Sets {
		fmt.Fprintf(&sb, "set %s\n", s.Set)
		for _, k := range s.Kept {
			fmt.Fprintf(&sb, "  keep          %s  %s  %-9s  %s\n", k.ID, k.StartedAt.UTC().Format(time.RFC3339), k.Origin, strings.Join(k.Rules, ", "))
		}
		for _, id := range s.WouldDelete {
			fmt.Fprintf(&sb, "  would delete  %s\n", id)
		}
		for _, id := range s.Deleted {
			fmt.Fprintf(&sb, "  deleted       %s\n", id)
		}
		for _, i := range s.Ignored {
			fmt.Fprintf(&sb, "  ignored       %s  %s\n", i.ID, i.Reason)
		}
	}
	_, err := fmt.Fprint(g.Out(), sb.String())
	return err
}
