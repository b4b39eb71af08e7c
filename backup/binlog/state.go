package binlog

import (
	"slices"
	"strings"
)

// State is a GTID position: the last transaction of each replication domain, as MariaDB's
// gtid_binlog_pos and @slave_connect_state write it ("0-1-42,1-2-7").
type State map[uint32]GTID

// ParseState reads a comma-separated GTID list; the empty string is the empty state.
func ParseState(s string) (State, error) {
	st := State{}
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		g, err := ParseGTID(part)
		if err != nil {
			return nil, err
		}
		st[g.Domain] = g
	}
	return st, nil
}

// String formats the state with its domains in order.
func (s State) String() string {
	ds := make([]uint32, 0, len(s))
	for d := range s {
		ds = append(ds, d)
	}
	slices.Sort(ds)
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = s[d].String()
	}
	return strings.Join(parts, ",")
}

// Clone copies the state.
func (s State) Clone() State {
	c := make(State, len(s))
	for d, g := range s {
		c[d] = g
	}
	return c
}

// Contains says whether transaction g is at or before the state: its domain has reached g's
// sequence number.
func (s State) Contains(g GTID) bool {
	cur, ok := s[g.Domain]
	return ok && cur.Seq >= g.Seq
}

// Covers says whether every domain of o is at or before s.
func (s State) Covers(o State) bool {
	for _, g := range o {
		if !s.Contains(g) {
			return false
		}
	}
	return true
}
