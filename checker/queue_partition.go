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
	at     []int32 // offset → value id+1; 0 where no value is known
	atOp   []int32 // offset → the op that first showed the value there
	sparse map[int64]queueSlot
	known  int // offsets with a value

	conflicts map[int64]int // offsets seen with different values → index into queueFindings.conflicts, or -1

	maxRead   int64 // the highest offset a poll read; -1 if none
	maxReadOp int32 // the op that read it
	complete  bool  // a final read completed: ok with end_offset, read up to it
	finalOp   int32 // the ok final poll that completed it
	endOffset int64 // and its end_offset

	prefix     []int32 // prefix[i]: known offsets below i in at; built for skip checks
	sparseKeys []int64 // sparse's offsets, sorted; built for skip checks
}

// queueSlot is the value at one offset and the op that first showed it.
type queueSlot struct{ value, op int32 }

// lookup returns the value known at off, if any, and the op that showed it.
func (p *queuePartition) lookup(off int64) (value, op int32, ok bool) {
	if off < int64(len(p.at)) {
		if v := p.at[off]; v != 0 {
			return v - 1, p.atOp[off], true
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
	if off >= int64(len(p.at)) {
		limit := 16*int64(p.known) + 4096
		if off >= limit {
			if p.sparse == nil {
				p.sparse = map[int64]queueSlot{}
			}
			p.sparse[off] = queueSlot{value, op}
			return
		}
		p.grow(min(max(off+1, 2*int64(len(p.at))), limit))
	}
	p.at[off], p.atOp[off] = value+1, op
}

// grow extends the dense range to n offsets, moving what sparse holds below n.
func (p *queuePartition) grow(n int64) {
	p.at = append(p.at, make([]int32, int(n)-len(p.at))...)
	p.atOp = append(p.atOp, make([]int32, int(n)-len(p.atOp))...)
	for off, s := range p.sparse {
		if off < n {
			p.at[off], p.atOp[off] = s.value+1, s.op
			delete(p.sparse, off)
		}
	}
}

// knownBetween counts the offsets strictly between lo and hi that hold a
// known value, and returns the lowest of them.
func (p *queuePartition) knownBetween(lo, hi int64) (n int, first int64) {
	if p.prefix == nil {
		p.prefix = make([]int32, len(p.at)+1)
		for i, v := range p.at {
			p.prefix[i+1] = p.prefix[i]
			if v != 0 {
				p.prefix[i+1]++
			}
		}
		for off := range p.sparse {
			p.sparseKeys = append(p.sparseKeys, off)
		}
		slices.Sort(p.sparseKeys)
	}
	first = -1
	if a, b := lo+1, min(hi, int64(len(p.at))); a < b {
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
