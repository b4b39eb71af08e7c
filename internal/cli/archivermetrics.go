package cli

import (
	"context"
	"time"

	"github.com/backupctl/backupctl/backup/binlog"
	"github.com/backupctl/backupctl/contract"
	"github.com/backupctl/backupctl/metrics"
)

// serveArchiverMetrics serves the archiver's metrics on addr, read from the Stats it sets in
// o, until the returned stop is called. A port that cannot be bound is a usage error.
func serveArchiverMetrics(ctx context.Context, g *Globals, addr, host string, o *binlog.ArchiveOptions) (stop func(), err error) {
	if o.Stats == nil {
		o.Stats = &binlog.Stats{}
	}
	stats := o.Stats
	reg := metrics.ArchiverRegistry(host, func() metrics.ArchiverState {
		s := stats.Snapshot(time.Now())
		return metrics.ArchiverState{LastEvent: s.LastEvent, Lag: s.Lag, Segments: s.Segments, Bytes: s.Bytes,
			RawBytes: s.RawBytes, Gaps: s.Gaps, Streaming: s.Streaming}
	})
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	bound, done, err := metrics.Serve(ctx, addr, reg)
	if err != nil {
		cancel()
		return nil, contract.Usagef("%v", err)
	}
	g.Logger().Info("serving metrics", "url", "http://"+bound+"/metrics")
	return func() { cancel(); <-done }, nil
}
