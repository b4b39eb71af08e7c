package backup

import (
	"reflect"
	"testing"
	"time"
)

func TestKeepSet(t *testing.T) {
	day := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }
	// Newest first, as List returns them.
	all := []*Manifest{
		{ID: "d5h2", StartedAt: day(5, 2)},
		{ID: "d5h1", StartedAt: day(5, 1)},
		{ID: "d4h2", StartedAt: day(4, 2)},
		{ID: "d4h1", StartedAt: day(4, 1)},
		{ID: "d2h1", StartedAt: day(2, 1)},
	}
	cases := []struct {
		name string
		opts PruneOptions
		want []string
	}{
		{"last 2", PruneOptions{KeepLast: 2}, []string{"d5h2", "d5h1"}},
		{"daily 2", PruneOptions{KeepDaily: 2}, []string{"d5h2", "d4h2"}},
		{"daily 9 keeps one a day", PruneOptions{KeepDaily: 9}, []string{"d5h2", "d4h2", "d2h1"}},
		{"union", PruneOptions{KeepLast: 1, KeepDaily: 3}, []string{"d5h2", "d4h2", "d2h1"}},
		{"last 9 keeps all", PruneOptions{KeepLast: 9}, []string{"d5h2", "d5h1", "d4h2", "d4h1", "d2h1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			keep := keepSet(all, tc.opts)
			var got []string
			for _, m := range all {
				if keep[m.ID] {
					got = append(got, m.ID)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("kept %v, want %v", got, tc.want)
			}
		})
	}
}
