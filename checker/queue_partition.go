package checker

import (
	"slices"
	"sort"
)

// queuePartition is what the history shows of one partition's log: the value
// at each offset some poll read or some ok send was acknowledged at.
type queuePartition struct {
	id int32

	// Offsets are held densely from 0 while that keeps memory within a few
	// words per known offset; offsets past that (a log that does not start
	// near 0, or a bogus offset) go to sparse.
	at     paged[queueSlot] // offset → value id+1 and the op that first showed it; 0 where no value is known
	sparse map[int64]queueSlot
	known  int // offsets with a value

	conflicts map[int64]int // offsets seen with different values → index into queueFindings.conflicts, or -1

	maxRead   int64      // the highest offset a poll read; -1 if none
	maxReadOp int32      // the op that read it
	finals    []finalEnd // the ok final polls with an end_offset
	complete  bool       // a final read completed: ok with end_offset, read from the start up to it
	finalOp   int32      // the ok final poll that completed it
	endOffset int64      // and its end_offset

	prefix     []int32 // prefix[i]: known offsets below i in at; built for skip checks
	sparseKeys []int64 // sparse's offsets, sorted; built for skip checks
}

// queueSlot is the value at one offset and the op that first showed it. In
// at, value is the value id+1, so that 0 means none.
type queueSlot struct{ value, op int32 }

// lookup returns the value known at off, if any, and the op that showed it.
func (p *queuePartition) lookup(off int64) (value, op int32, ok bool) {
	if off < int64(p.at.len()) {
		if s := p.at.at(int(off)); s.value != 0 {
			return s.value - 1, s.op, true
		}
		return 0, 0, false
	}
	if s, ok := p.sparse[off]; ok {
		return s.value, s.op, true
	}
	return 0, 0, false
}

// set records value at off, which has none yet.
func (p *queuePartition) set(off int64, value, op int32) {
	p.known++
	if off >= int64(p.at.len()) {
		limit := 16*int64(p.known) + 4096
		if off >= limit {
			if p.sparse == nil {
				p.sparse = map[int64]queueSlot{}
			}
			p.sparse[off] = queueSlot{value, op}
			return
		}
		// Grow by an eighth (at is paged: nothing is copied), so that
		// what sparse holds is looked over a few dozen times at most.
		n := int64(p.at.len())
		p.grow(min(max(off+1, n+n/8, n+pageSize), limit))
	}
	*p.at.at(int(off)) = queueSlot{value + 1, op}
}

// grow extends the dense range to n offsets, moving what sparse holds below n.
func (p *queuePartition) grow(n int64) {
	p.at.extend(int(n))
	for off, s := range p.sparse {
		if off < n {
			*p.at.at(int(off)) = queueSlot{s.value + 1, s.op}
			delete(p.sparse, off)
		}
	}
}

// knownBetween counts the offsets strictly between lo and hi that hold a
// known value, and returns the lowest of them.
func (p *queuePartition) knownBetween(lo, hi int64) (n int, first int64) {
	if p.prefix == nil {
		p.prefix = make([]int32, p.at.len()+1)
		p.at.each(func(i int, s *queueSlot) bool {
			p.prefix[i+1] = p.prefix[i]
			if s.value != 0 {
				p.prefix[i+1]++
			}
			return true
		})
		for off := range p.sparse {
			p.sparseKeys = append(p.sparseKeys, off)
		}
		slices.Sort(p.sparseKeys)
	}
	first = -1
	if a, b := lo+1, min(hi, int64(p.at.len())); a < b {
		if n = int(p.prefix[b] - p.prefix[a]); n > 0 {
			first = a + int64(sort.Search(int(b-a), func(i int) bool { return p.prefix[a+int64(i)+1] > p.prefix[a] }))
		}
	}
	i, _ := slices.BinarySearch(p.sparseKeys, lo+1)
	j, _ := slices.BinarySearch(p.sparseKeys, hi)
	if j > i {
		n += j - i
		if first < 0 {
			first = p.sparseKeys[i]
		}
	}
	return n, first
}

// completeFinalRead decides whether a final read of p completed: the first
// ok final poll with an end_offset E whose reader read p from its start
// (no offset known to exist below its first) up to E-1, or E = 0.
func (p *queuePartition) completeFinalRead() {
	for _, f := range p.finals {
		if f.end == 0 || (f.max >= f.end-1 && f.first >= 0 && p.noneKnownBelow(f.first)) {
			p.complete, p.finalOp, p.endOffset = true, f.pos, f.end
			return
		}
	}
}

// noneKnownBelow reports whether no offset below off is known to exist.
func (p *queuePartition) noneKnownBelow(off int64) bool {
	n, _ := p.knownBetween(-1, off)
	return n == 0
}

// queueParts finds a partition by its number.
type queueParts struct {
	byID[int32, queuePartition]
}

// get returns partition id, making it on first use.
func (t *queueParts) get(id int32) *queuePartition {
	return t.byID.get(id, 1<<12, func() *queuePartition {
		return &queuePartition{id: id, maxRead: -1, maxReadOp: -1, finalOp: -1}
	})
}

// sorted returns the partitions in number order.
func (t *queueParts) sorted() []*queuePartition {
	out := slices.Clone(t.all)
	slices.SortFunc(out, func(a, b *queuePartition) int { return int(a.id) - int(b.id) })
	return out
}
