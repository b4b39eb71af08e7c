package storage

import "sort"

// MaxObjectSize is S3's limit on one object, 5 TiB: what the part sizes grow to reach.
const MaxObjectSize = 5 << 40

// partPlan says how large each part of a multipart upload is. S3 takes parts of different
// sizes in one upload, so the parts start at first (what --s3-part-size sets) and double every
// step parts, up to MaxPartSize: a small object goes up in small parts, and maxParts parts
// still reach MaxObjectSize whatever the size of the stream, which need not be known up front.
// step is the largest that reaches MaxObjectSize, so parts stay as small as they can.
type partPlan struct {
	first    int64
	maxParts int
	step     int
}

func newPartPlan(first int64, maxParts int) partPlan {
	p := partPlan{first: first, maxParts: maxParts, step: 1}
	// capacity falls as step grows: find the first step that no longer reaches the limit.
	n := sort.Search(maxParts, func(i int) bool {
		q := p
		q.step = i + 1
		return q.capacity() < MaxObjectSize
	})
	if n > 0 {
		p.step = n
	}
	return p
}

// size is the size of part num (from 1).
func (p partPlan) size(num int) int64 {
	s := p.first
	for range (num - 1) / p.step {
		s *= 2
		if s >= MaxPartSize {
			return MaxPartSize
		}
	}
	return s
}

// capacity is what maxParts parts hold, at most MaxObjectSize.
func (p partPlan) capacity() int64 {
	var total int64
	for num := 1; num <= p.maxParts; {
		s := p.size(num)
		// Every part of this doubling step has the same size.
		n := min(p.step-(num-1)%p.step, p.maxParts-num+1)
		if s == MaxPartSize {
			n = p.maxParts - num + 1
		}
		total += s * int64(n)
		if total >= MaxObjectSize {
			return MaxObjectSize
		}
		num += n
	}
	return total
}
