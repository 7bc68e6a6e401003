package checker

import (
	"math"
)

// queueValues interns record values: each distinct value gets a small id,
// and what the checker knows about it lives in info[id]. The workload's own
// values, "<process>-<sequence>", are found through a table indexed by
// process and sequence, with no hashing; any other value through a map.
type queueValues struct {
	bySeq  [][]int32        // [process][sequence] → id+1; 0 when not interned
	cells  int              // how much of bySeq is allocated, bounded by budget
	byName map[string]int32 // values bySeq does not hold
	arena  paged[byte]      // the values' bytes, one after another
	ends   paged[int]       // value id's bytes end at arena[ends[id]]
	info   paged[queueValue]
}

// queueValue is what the checker knows about one value.
type queueValue struct {
	send      int32 // index into queueCheck.sends of the send that invoked it; -1 if none
	sendPart  int32 // and the partition it sent to
	firstPart int32 // the partition where it was first seen (acknowledged or read); -1 if nowhere
	flags     uint8 // see valueDuplicate; beside what each record looks at, in the room firstOff's alignment leaves
	firstOff  int64 // and the offset
	firstOp   int32 // the op (position in the history) that saw it there
	readOp    int32 // the first op that read it; -1 if none did
}

// Flags on a value (queueValue.flags): each anomaly of a value is counted
// once.
const (
	valueDuplicate  uint8 = 1 << iota // reported as a duplicate
	valueUnexpected                   // reported as unexpected
	valueUnseen                       // acknowledged ok and not read yet
)

// intern returns b's id, giving it a new one if it is new.
func (vs *queueValues) intern(b []byte) int32 {
	proc, seq, ok := workloadValue(b)
	return vs.internAs(b, proc, seq, ok)
}

// internAs is intern for a value workloadValue has read: proc, seq, ok.
func (vs *queueValues) internAs(b []byte, proc, seq int, ok bool) int32 {
	if ok && proc < len(vs.bySeq) && seq < len(vs.bySeq[proc]) {
		if id := vs.bySeq[proc][seq]; id != 0 {
			return id - 1
		}
	}
	if id, found := vs.byName[string(b)]; found {
		return id
	}
	id := int32(vs.info.len())
	vs.arena.pushAll(b)
	vs.ends.push(vs.arena.len())
	vs.info.push(queueValue{send: -1, firstPart: -1, firstOp: -1, readOp: -1})
	if !ok || !vs.place(proc, seq, id) {
		if vs.byName == nil {
			vs.byName = map[string]int32{}
		}
		vs.byName[string(b)] = id
	}
	return id
}

// place records id at bySeq[proc][seq], growing the table if that keeps
// its size within a few cells per value (so that a value like "1-9999999999"
// cannot make it huge). It reports whether it did.
func (vs *queueValues) place(proc, seq int, id int32) bool {
	budget := 8*vs.info.len() + 1<<16
	if proc >= len(vs.bySeq) {
		n := max(proc+1, 2*len(vs.bySeq))
		if vs.cells+3*(n-len(vs.bySeq)) > budget {
			return false
		}
		vs.cells += 3 * (n - len(vs.bySeq))
		vs.bySeq = append(vs.bySeq, make([][]int32, n-len(vs.bySeq))...)
	}
	row := vs.bySeq[proc]
	if seq >= len(row) {
		n := max(seq+1, 2*len(row), 16)
		if vs.cells+n-len(row) > budget {
			return false
		}
		vs.cells += n - len(row)
		row = append(row, make([]int32, n-len(row))...)
		vs.bySeq[proc] = row
	}
	row[seq] = id + 1
	return true
}

// name returns value id as a string.
func (vs *queueValues) name(id int32) string { return string(vs.bytes(id)) }

// bytes returns value id's bytes: a slice of the arena, or a copy for one
// that straddles two of its pages.
func (vs *queueValues) bytes(id int32) []byte {
	start := 0
	if id > 0 {
		start = *vs.ends.at(int(id) - 1)
	}
	return vs.arena.slice(start, *vs.ends.at(int(id)))
}

// value returns what the checker knows about value id.
func (vs *queueValues) value(id int32) *queueValue { return vs.info.at(int(id)) }

// flag returns value id's flags.
func (vs *queueValues) flag(id int32) *uint8 { return &vs.info.at(int(id)).flags }

// workloadValue parses a value the workload writes, "<process>-<sequence>",
// both in decimal without leading zeros, each at most math.MaxInt32.
func workloadValue(b []byte) (proc, seq int, ok bool) {
	i := 0
	for i < len(b) && b[i]-'0' <= 9 {
		proc = proc*10 + int(b[i]-'0')
		i++
	}
	if i == 0 || i > 10 || (b[0] == '0' && i > 1) || proc > math.MaxInt32 || i == len(b) || b[i] != '-' {
		return 0, 0, false
	}
	j := i + 1
	for j < len(b) && b[j]-'0' <= 9 {
		seq = seq*10 + int(b[j]-'0')
		j++
	}
	if n := j - i - 1; n == 0 || n > 10 || (b[i+1] == '0' && n > 1) || seq > math.MaxInt32 || j != len(b) {
		return 0, 0, false
	}
	return proc, seq, true
}

// decimal parses a non-negative int32 written without sign or leading zeros.
func decimal(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 10 || (b[0] == '0' && len(b) > 1) {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n <= math.MaxInt32
}
