package storage

import "testing"

// TestPartPlan: the parts of every plan reach S3's 5 TiB in at most 10,000 parts, never exceed
// S3's part size, and start at the configured size for as long as they can.
func TestPartPlan(t *testing.T) {
	for _, first := range []int64{MinPartSize, DefaultPartSize, 64 << 20, MaxPartSize} {
		p := newPartPlan(first, DefaultMaxParts)
		var total int64
		prev := int64(0)
		for num := 1; num <= DefaultMaxParts; num++ {
			s := p.size(num)
			if s < first || s > MaxPartSize || s < prev {
				t.Fatalf("first %s: part %d is %s after %s", sizeString(first), num, sizeString(s), sizeString(prev))
			}
			prev = s
			total += s
		}
		if total < MaxObjectSize || p.capacity() != MaxObjectSize {
			t.Errorf("first %s: 10,000 parts hold %s (capacity %s), want at least 5 TiB", sizeString(first), sizeString(total), sizeString(p.capacity()))
		}
		// One step more would fall short: the parts grow no sooner than they must.
		q := p
		q.step++
		if p.step < DefaultMaxParts && q.capacity() >= MaxObjectSize {
			t.Errorf("first %s: step %d reaches 5 TiB, yet the plan doubles every %d parts", sizeString(first), q.step, p.step)
		}
		t.Logf("first %s: doubles every %d parts; fixed parts would stop at %s", sizeString(first), p.step, sizeString(first*DefaultMaxParts))
	}
	// A small part limit (what tests set) doubles at every part.
	p := newPartPlan(MinPartSize, 3)
	if got := []int64{p.size(1), p.size(2), p.size(3)}; got[0] != 5<<20 || got[1] != 10<<20 || got[2] != 20<<20 {
		t.Errorf("3 parts from 5 MiB: %v", got)
	}
	if p.capacity() != 35<<20 {
		t.Errorf("capacity of 3 parts from 5 MiB = %s, want 35 MiB", sizeString(p.capacity()))
	}
}
