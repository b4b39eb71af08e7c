package metrics

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Names of the binlog archiver's metrics, served on /metrics (docs/METRICS.md).
const (
	NameArchiverLag       = "backupctl_binlog_archiver_lag_seconds"
	NameArchiverLastEvent = "backupctl_binlog_archiver_last_event_timestamp_seconds"
	NameArchiverSegments  = "backupctl_binlog_archiver_segments_total"
	NameArchiverBytes     = "backupctl_binlog_archiver_bytes_total"
	NameArchiverRawBytes  = "backupctl_binlog_archiver_binlog_bytes_total"
	NameArchiverGaps      = "backupctl_binlog_archiver_gaps_total"
	NameArchiverUp        = "backupctl_binlog_archiver_streaming"
)

// ArchiverState is what the archiver reports at a scrape.
type ArchiverState struct {
	LastEvent                       time.Time
	Lag                             time.Duration
	Segments, Bytes, RawBytes, Gaps uint64
	Streaming                       bool
}

// ArchiverRegistry returns a registry whose metrics read state at each scrape, labelled with
// the database host (left out when empty), besides the Go runtime's and the process's.
func ArchiverRegistry(dbHost string, state func() ArchiverState) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	labels := prometheus.Labels{}
	if dbHost != "" {
		labels["db_host"] = dbHost
	}
	gauge := func(name, help string, v func(ArchiverState) float64) {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels},
			func() float64 { return v(state()) }))
	}
	counter := func(name, help string, v func(ArchiverState) uint64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels},
			func() float64 { return float64(v(state())) }))
	}
	gauge(NameArchiverLag, "Seconds the binlog archive is behind: since the newest archived event while events read from the server are not stored yet or the archiver is not streaming; 0 when all it read is stored.",
		func(s ArchiverState) float64 { return s.Lag.Seconds() })
	gauge(NameArchiverLastEvent, "Unix time in seconds of the newest archived binlog event (0 before the first).",
		func(s ArchiverState) float64 {
			if s.LastEvent.IsZero() {
				return 0
			}
			return unix(s.LastEvent)
		})
	gauge(NameArchiverUp, "1 while the archiver streams the server's binlog, 0 while it starts or retries after a failure.",
		func(s ArchiverState) float64 { return b2f(s.Streaming) })
	counter(NameArchiverSegments, "Binlog segments this archiver process stored (each read back before its index entry was written).",
		func(s ArchiverState) uint64 { return s.Segments })
	counter(NameArchiverBytes, "Bytes of binlog segments this archiver process stored in the bucket (compressed, and encrypted when it encrypts).",
		func(s ArchiverState) uint64 { return s.Bytes })
	counter(NameArchiverRawBytes, "Bytes of binlog (uncompressed) in the segments this archiver process stored.",
		func(s ArchiverState) uint64 { return s.RawBytes })
	counter(NameArchiverGaps, "Gaps this archiver process recorded in the archive (binlog purged before it was read, a domain's server changed).",
		func(s ArchiverState) uint64 { return s.Gaps })
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Serve serves reg on http://addr/metrics until ctx ends. The address is bound before it
// returns, so a port in use is its error; the returned address is the one bound (addr may
// give port 0). done is closed once the server has stopped.
func Serve(ctx context.Context, addr string, reg *prometheus.Registry) (bound string, done <-chan struct{}, err error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("--metrics-listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		_ = srv.Serve(l) // http.ErrServerClosed once ctx ends
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	return l.Addr().String(), stopped, nil
}
