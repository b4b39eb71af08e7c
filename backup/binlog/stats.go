package binlog

import (
	"sync"
	"time"
)

// Stats is what a running archiver has done, safe to read from another goroutine (a metrics
// scrape) while it runs. The zero value is ready; a nil *Stats records nothing.
type Stats struct {
	mu        sync.Mutex
	lastEvent time.Time // the last archived event's time
	pending   time.Time // the first event read and not yet stored; zero when none
	streaming bool
	segments  uint64
	bytes     uint64
	rawBytes  uint64
	gaps      uint64
}

// StatsSnapshot is Stats at one moment.
type StatsSnapshot struct {
	// LastEvent is the time of the newest archived event (zero before the first).
	LastEvent time.Time
	// Lag is how far the archive is behind: while events read from the server are not stored
	// yet, or while the archiver is not streaming (starting, or retrying after a failure), the
	// time since the newest archived event; zero when everything read is stored.
	Lag time.Duration
	// Segments, Bytes (stored) and RawBytes (binlog) count what this process archived; Gaps
	// the gaps it recorded.
	Segments, Bytes, RawBytes, Gaps uint64
	Streaming                       bool
}

// Snapshot reads the stats at now.
func (s *Stats) Snapshot(now time.Time) StatsSnapshot {
	if s == nil {
		return StatsSnapshot{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := StatsSnapshot{LastEvent: s.lastEvent, Segments: s.segments, Bytes: s.bytes, RawBytes: s.rawBytes, Gaps: s.gaps, Streaming: s.streaming}
	if !s.pending.IsZero() || !s.streaming {
		since := s.lastEvent
		if since.IsZero() {
			since = s.pending
		}
		if !since.IsZero() && now.After(since) {
			out.Lag = now.Sub(since)
		}
	}
	return out
}

func (s *Stats) update(f func(*Stats)) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

// resumed notes the archive's newest event when the archiver resumes it.
func (s *Stats) resumed(last time.Time) { s.update(func(s *Stats) { s.lastEvent = last }) }

// setStreaming notes whether a replication stream is running.
func (s *Stats) setStreaming(on bool) { s.update(func(s *Stats) { s.streaming = on }) }

// read notes an event read from the server at time t, not stored yet.
func (s *Stats) read(t time.Time) {
	s.update(func(s *Stats) {
		if s.pending.IsZero() {
			s.pending = t
		}
	})
}

// stored notes a segment (its whole entry e, storedBytes in the bucket) and its index entry
// stored.
func (s *Stats) stored(e *Entry, storedBytes int64) {
	s.update(func(s *Stats) {
		s.segments++
		s.bytes += uint64(storedBytes)
		s.rawBytes += uint64(e.RawSize)
		if e.Gap != nil {
			s.gaps++
		}
		s.lastEvent, s.pending = e.LastTime, time.Time{}
	})
}
