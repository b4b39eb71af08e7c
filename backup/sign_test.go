package backup

import (
	"crypto/rand"
	"slices"
	"testing"
	"time"
)

// TestOnlyAuthenticated: with a key, prune's rules see only the backups the key signed, so an
// unsigned newer backup neither pushes a signed one out nor is deleted.
func TestOnlyAuthenticated(t *testing.T) {
	k, err := GenerateSigningKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	day := func(d int) time.Time { return time.Date(2026, 11, d, 1, 0, 0, 0, time.UTC) }
	signed := func(id string, d int) *Manifest {
		m := &Manifest{ID: id, StartedAt: day(d)}
		if err := m.Sign(k); err != nil {
			t.Fatal(err)
		}
		return m
	}
	all := []*Manifest{{ID: "unsigned-newest", StartedAt: day(9)}, signed("s2", 8), signed("s1", 7)}
	got := OnlyAuthenticated(all, k.Public())
	if ids := []string{got[0].ID, got[1].ID}; len(got) != 2 || !slices.Equal(ids, []string{"s2", "s1"}) {
		t.Fatalf("OnlyAuthenticated = %v", got)
	}
	if n := len(OnlyAuthenticated(all, nil)); n != 3 {
		t.Errorf("without a key %d of 3 backups are considered", n)
	}
}
