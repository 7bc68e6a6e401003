package checker

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/faultline/faultline/history"
)

// queueKind is a kind of anomaly the queue checker reports; any of them
// makes a history invalid.
type queueKind uint8

// The kinds, in the order results list them.
const (
	kindLostWrite queueKind = iota
	kindDuplicate
	kindInconsistentOffsets
	kindUnexpected
	kindNonmonotonicSend
	kindNonmonotonicPoll
	kindPollSkip
	kindTruncated
	queueKinds // how many kinds there are
)

// String returns the kind's name in results, e.g. "lost-write".
func (k queueKind) String() string {
	switch k {
	case kindLostWrite:
		return "lost-write"
	case kindDuplicate:
		return "duplicate"
	case kindInconsistentOffsets:
		return "inconsistent-offsets"
	case kindUnexpected:
		return "unexpected"
	case kindNonmonotonicSend:
		return "nonmonotonic-send"
	case kindNonmonotonicPoll:
		return "nonmonotonic-poll"
	case kindPollSkip:
		return "poll-skip"
	case kindTruncated:
		return "truncated"
	}
	return "unknown"
}

// maxQueueExamples is how many anomalies of each kind a result shows.
const maxQueueExamples = 10

// queueFindings counts the anomalies found and keeps the first few of each
// kind as examples.
type queueFindings struct {
	counts    [queueKinds]int
	examples  [queueKinds][]keptExample
	conflicts []queueConflict // examples of inconsistent offsets, made into anomalies at the end

	unseen, recovered int
}

// queueConflict is one offset seen with different values.
type queueConflict struct {
	partition int32
	offset    int64
	values    []int32 // value ids, in the order they showed up
	ops       []int32 // the op that showed each
}

// maxConflictValues bounds the values an inconsistent-offsets example lists.
const maxConflictValues = 4

// note counts an anomaly of kind k and reports whether to keep it as an
// example.
func (f *queueFindings) note(k queueKind) bool {
	f.counts[k]++
	return f.counts[k] <= maxQueueExamples
}

// noteMany counts n anomalies of kind k that one example shows, and reports
// whether to keep the example.
func (f *queueFindings) noteMany(k queueKind, n int) bool {
	f.counts[k] += n
	return len(f.examples[k]) < maxQueueExamples
}

// total returns how many anomalies were found.
func (f *queueFindings) total() int {
	n := 0
	for _, c := range f.counts {
		n += c
	}
	return n
}

// keptExample is an anomaly kept as an example, with the positions of its
// ops: they are copied (polls trimmed) only once the check is done, so that
// each long poll is read once however many examples show it.
type keptExample struct {
	a     Anomaly // without At and Ops
	at    int32   // the op it shows at; -1 if none
	ops   []int32 // the ops involved, in history order
	focus []int64 // the offsets a trimmed poll keeps records near
}

// example keeps an anomaly of kind k about partition part: at is the op it
// shows at, ops the positions of the ops involved. Polls among them show
// only the records near the focus offsets (see trimPoll).
func (c *queueCheck) example(k queueKind, part int32, at int32, msg string, focus []int64, ops ...int32) {
	positions := slices.DeleteFunc(slices.Clone(ops), func(pos int32) bool { return pos < 0 })
	slices.Sort(positions)
	c.found.examples[k] = append(c.found.examples[k], keptExample{
		a:  Anomaly{Kind: k.String(), Key: formatPartition(part), Message: msg},
		at: at, ops: slices.Compact(positions), focus: focus,
	})
}

// maxTruncatedShown bounds the vanished offsets a truncated example names.
const maxTruncatedShown = 5

// truncated notes the offsets of part at or above the end offset of its
// complete final read that some op before that read's end had shown (an ok
// send acknowledged there, or a poll read): the log lost them afterwards.
func (c *queueCheck) truncated(part *queuePartition) {
	if !part.complete {
		return
	}
	end, final := part.endOffset, part.finalOp
	var (
		n     int
		shown []int64 // the first few offsets that vanished
		last  int64   // the highest
	)
	vanished := func(off int64, op int32) {
		if op >= final {
			return
		}
		if n++; len(shown) < maxTruncatedShown {
			shown = append(shown, off)
		}
		last = max(last, off)
	}
	for off := end; off < int64(part.at.len()); off++ {
		if s := part.at.at(int(off)); s.value != 0 {
			vanished(off, s.op)
		}
	}
	if len(part.sparse) > 0 {
		var offs []int64
		for off, s := range part.sparse {
			if off >= end && s.op < final {
				offs = append(offs, off)
			}
		}
		slices.Sort(offs)
		for _, off := range offs {
			vanished(off, part.sparse[off].op)
		}
	}
	if n == 0 {
		return
	}
	if c.truncatedBy == nil {
		c.truncatedBy = map[string]int{}
	}
	c.truncatedBy[formatPartition(part.id)] = n
	if !c.found.noteMany(kindTruncated, n) {
		return
	}
	var seen []string
	ops := []int32{final}
	for _, off := range shown {
		value, op, _ := part.lookup(off)
		seen = append(seen, fmt.Sprintf("offset %d holding %q (%s)", off, c.vals.name(value), c.seenBy(op)))
		ops = append(ops, c.shownBy(value, op)...)
	}
	more := ""
	if n > len(shown) {
		more = fmt.Sprintf(" and %d more, up to offset %d", n-len(shown), last)
	}
	fin := c.ops[final]
	msg := fmt.Sprintf("partition %d lost records it had: process %s's complete final read ended at offset %d (end_offset, op index %d), but %d offset(s) at or above it had been acknowledged or read before: %s%s; the log was truncated after the fact",
		part.id, fin.Process, end, fin.Index, n, strings.Join(seen, ", "), more)
	c.example(kindTruncated, part.id, final, msg, append(slices.Clone(shown), end-1), ops...)
}

// anomalies returns the examples, kind by kind, with their ops. Each poll
// to trim is read once, for all the examples it is in. It returns false if
// the check must stop first.
func (c *queueCheck) anomalies() ([]Anomaly, bool) {
	type use struct {
		pos int32
		ex  *keptExample
	}
	trimmed := map[use]history.Op{}
	reqs := map[int32][]*keptExample{} // poll to trim → the examples it is in
	for k := range c.found.examples {
		for i := range c.found.examples[k] {
			ex := &c.found.examples[k][i]
			for _, pos := range append([]int32{ex.at}, ex.ops...) {
				if pos >= 0 && needsTrim(&c.ops[pos]) && !slices.Contains(reqs[pos], ex) {
					reqs[pos] = append(reqs[pos], ex)
				}
			}
		}
	}
	for _, pos := range slices.Sorted(maps.Keys(reqs)) {
		if c.stopped() {
			return nil, false
		}
		exs := reqs[pos]
		rs := make([]trimRequest, len(exs))
		for i, ex := range exs {
			part, _ := parsePartition([]byte(ex.a.Key))
			rs[i] = trimRequest{part: part, focus: ex.focus}
		}
		ops, ok := trimPollFor(c.ops[pos], rs, c.stopped)
		if !ok {
			return nil, false
		}
		for i, ex := range exs {
			trimmed[use{pos, ex}] = ops[i]
		}
	}
	op := func(pos int32, ex *keptExample) history.Op {
		if t, ok := trimmed[use{pos, ex}]; ok {
			return t
		}
		return c.ops[pos]
	}
	var out []Anomaly
	for k := range c.found.examples {
		for i := range c.found.examples[k] {
			ex := &c.found.examples[k][i]
			a := ex.a
			if ex.at >= 0 {
				at := op(ex.at, ex)
				a.At = &at
			}
			for _, pos := range ex.ops {
				a.Ops = append(a.Ops, op(pos, ex))
			}
			out = append(out, a)
		}
	}
	return out, true
}

// shownBy returns pos, the op that showed value id somewhere, and if that op
// is the acknowledgement of the value's send, the send's invocation too.
func (c *queueCheck) shownBy(id, pos int32) []int32 {
	if s := c.vals.value(id).send; s >= 0 && c.send(s).done == pos {
		return []int32{c.send(s).invoke, pos}
	}
	return []int32{pos}
}

// seenBy says how the op at pos showed a value: an acknowledgement or a read.
func (c *queueCheck) seenBy(pos int32) string {
	op := &c.ops[pos]
	if op.F == "send" {
		return fmt.Sprintf("acknowledged to process %s at op index %d", op.Process, op.Index)
	}
	return fmt.Sprintf("read by process %s at op index %d", op.Process, op.Index)
}

// inconsistent notes that op pos saw value id at offset off of part, where
// op prevOp had seen value prev.
func (c *queueCheck) inconsistent(part *queuePartition, off int64, prev, prevOp, id, pos int32) {
	if i, ok := part.conflicts[off]; ok {
		if i >= 0 {
			cf := &c.found.conflicts[i]
			if !slices.Contains(cf.values, id) && len(cf.values) < maxConflictValues {
				cf.values, cf.ops = append(cf.values, id), append(cf.ops, pos)
			}
		}
		return
	}
	if part.conflicts == nil {
		part.conflicts = map[int64]int{}
	}
	i := -1
	if c.found.note(kindInconsistentOffsets) {
		i = len(c.found.conflicts)
		c.found.conflicts = append(c.found.conflicts, queueConflict{partition: part.id, offset: off,
			values: []int32{prev, id}, ops: []int32{prevOp, pos}})
	}
	part.conflicts[off] = i
}

// conflictExamples turns the kept inconsistent offsets into anomalies.
func (c *queueCheck) conflictExamples() {
	for _, cf := range c.found.conflicts {
		var seen []string
		for i, id := range cf.values {
			seen = append(seen, fmt.Sprintf("%q (%s)", c.vals.name(id), c.seenBy(cf.ops[i])))
		}
		msg := fmt.Sprintf("partition %d offset %d holds different values: %s; an offset holds one record",
			cf.partition, cf.offset, strings.Join(seen, ", "))
		var ops []int32
		for i, id := range cf.values {
			ops = append(ops, c.shownBy(id, cf.ops[i])...)
		}
		c.example(kindInconsistentOffsets, cf.partition, cf.ops[1], msg, []int64{cf.offset}, ops...)
	}
}

// duplicate notes that op pos saw value id at offset off of partition part,
// although it was first seen elsewhere.
func (c *queueCheck) duplicate(id, part int32, off int64, pos int32) {
	if !c.found.note(kindDuplicate) {
		return
	}
	v := *c.vals.value(id)
	msg := fmt.Sprintf("value %q is at two offsets: partition %d offset %d (%s) and partition %d offset %d (%s); each send writes one record",
		c.vals.name(id), v.firstPart, v.firstOff, c.seenBy(v.firstOp), part, off, c.seenBy(pos))
	c.example(kindDuplicate, v.firstPart, pos, msg, []int64{v.firstOff, off}, c.sendOps(v.send, v.firstOp, pos)...)
}

// sendOps returns the positions of send i's invocation and completion (if
// i >= 0), followed by more.
func (c *queueCheck) sendOps(i int32, more ...int32) []int32 {
	if i < 0 {
		return more
	}
	s := *c.send(i)
	return append([]int32{s.invoke, s.done}, more...)
}

// wrongPartition notes that op pos read value id from part, although its
// send wrote it to another partition.
func (c *queueCheck) wrongPartition(id int32, part *queuePartition, off int64, pos int32) {
	v := c.vals.value(id)
	*c.vals.flag(id) |= valueUnexpected
	if !c.found.note(kindUnexpected) {
		return
	}
	s := *c.send(v.send)
	msg := fmt.Sprintf("process %s read %q at partition %d offset %d (op index %d), but it was sent to partition %d (op index %d)",
		c.ops[pos].Process, c.vals.name(id), part.id, off, c.ops[pos].Index, s.partition, c.ops[s.invoke].Index)
	c.example(kindUnexpected, part.id, pos, msg, []int64{off}, c.sendOps(v.send, pos)...)
}

// nonmonotonicSend notes that p's ok send s, completed at pos, has an offset
// no higher than its previous ok send to the partition.
func (c *queueCheck) nonmonotonicSend(p *queueProc, s *queueSend, prev sentOffset, pos int32) {
	if !c.found.note(kindNonmonotonicSend) {
		return
	}
	before := *c.send(prev.send)
	msg := fmt.Sprintf("process %s's ok sends to partition %d went from offset %d (%q, op index %d) to offset %d (%q, op index %d); a producer's offsets on a partition must rise",
		p.id, s.partition, before.offset, c.vals.name(before.value), c.ops[before.done].Index, s.offset, c.vals.name(s.value), c.ops[pos].Index)
	c.example(kindNonmonotonicSend, s.partition, pos, msg, nil, before.invoke, before.done, s.invoke, pos)
}

// nonmonotonicPoll notes that p, which reads part in order, read offset off
// at pos, no higher than the offset it read before.
func (c *queueCheck) nonmonotonicPoll(p *queueProc, part *queuePartition, rd *queueReader, off int64, pos int32) {
	if !c.found.note(kindNonmonotonicPoll) {
		return
	}
	how := "went back"
	if off == rd.last {
		how = "repeated itself"
	}
	msg := fmt.Sprintf("process %s (%s mode) read partition %d offset %d (op index %d) and then offset %d (op index %d): it %s; a reader in %s mode must read rising offsets",
		p.id, p.mode, part.id, rd.last, c.ops[rd.lastOp].Index, off, c.ops[pos].Index, how, p.mode)
	c.example(kindNonmonotonicPoll, part.id, pos, msg, []int64{rd.last, off}, rd.lastOp, pos)
}

// findAfterRead finds the anomalies that need the whole history: lost
// writes, unexpected values, skips; and counts unseen and recovered sends.
func (c *queueCheck) findAfterRead() error {
	for _, part := range c.parts.all {
		part.completeFinalRead()
	}
	for i := range c.sends.len() {
		if c.tick() {
			return errQueueStopped
		}
		s := c.send(int32(i))
		v := c.vals.value(s.value)
		read := v.readOp >= 0
		switch {
		case s.outcome == sendOK && !read:
			c.found.unseen++
			if part := c.parts.get(s.partition); part.maxRead > s.offset || part.complete {
				c.lostWrite(int32(i), part)
			}
		case (s.outcome == sendUnknown || s.outcome == sendIncomplete) && read:
			c.found.recovered++
		case s.outcome == sendFailed && read && *c.vals.flag(s.value)&valueUnexpected == 0:
			*c.vals.flag(s.value) |= valueUnexpected
			if c.found.note(kindUnexpected) {
				fail := c.ops[s.done]
				msg := fmt.Sprintf("process %s read %q at partition %d offset %d (op index %d), but its send failed (op index %d, error %q); a failed send must not be written",
					c.ops[v.readOp].Process, c.vals.name(s.value), v.firstPart, v.firstOff, c.ops[v.readOp].Index, fail.Index, fail.Error)
				c.example(kindUnexpected, v.firstPart, v.readOp, msg, []int64{v.firstOff}, c.sendOps(int32(i), v.readOp)...)
			}
		}
	}
	for i := range c.vals.info.len() {
		if c.tick() {
			return errQueueStopped
		}
		id := int32(i)
		v := c.vals.value(id)
		if v.readOp < 0 || *c.vals.flag(id)&valueUnexpected != 0 {
			continue
		}
		var why string
		switch {
		case v.send < 0:
			why = "which no send wrote"
		case c.send(v.send).invoke > v.readOp:
			why = fmt.Sprintf("before its send was invoked (op index %d)", c.ops[c.send(v.send).invoke].Index)
		default:
			continue
		}
		*c.vals.flag(id) |= valueUnexpected
		if c.found.note(kindUnexpected) {
			msg := fmt.Sprintf("process %s read %q at partition %d offset %d (op index %d), %s",
				c.ops[v.readOp].Process, c.vals.name(id), v.firstPart, v.firstOff, c.ops[v.readOp].Index, why)
			c.example(kindUnexpected, v.firstPart, v.readOp, msg, []int64{v.firstOff}, c.sendOps(v.send, v.readOp)...)
		}
	}
	for _, s := range c.skips {
		if c.tick() {
			return errQueueStopped
		}
		part := c.parts.get(s.partition)
		n, first := part.knownBetween(s.from, s.to)
		if n == 0 || !c.found.note(kindPollSkip) {
			continue
		}
		value, op, _ := part.lookup(first)
		var msg string
		if s.fromOp < 0 {
			msg = fmt.Sprintf("process %s (%s mode) began reading partition %d at offset %d (op index %d), although it reads the partition from its start: it skipped %d offset(s) known to exist, e.g. offset %d holding %q (%s)",
				s.proc, s.mode, s.partition, s.to, c.ops[s.op].Index, n, first, c.vals.name(value), c.seenBy(op))
		} else {
			msg = fmt.Sprintf("process %s (%s mode) read partition %d offset %d (op index %d) and then offset %d (op index %d), skipping %d offset(s) known to exist, e.g. offset %d holding %q (%s)",
				s.proc, s.mode, s.partition, s.from, c.ops[s.fromOp].Index, s.to, c.ops[s.op].Index, n, first, c.vals.name(value), c.seenBy(op))
		}
		c.example(kindPollSkip, s.partition, s.op, msg, []int64{s.from, s.to, first}, append([]int32{s.fromOp, s.op}, c.shownBy(value, op)...)...)
	}
	for _, part := range c.parts.sorted() {
		if c.tick() {
			return errQueueStopped
		}
		c.truncated(part)
	}
	c.conflictExamples()
	if c.stopped() {
		return errQueueStopped
	}
	return nil
}

// lostWrite notes that ok send i's value was never read, although some poll
// read part past its offset, or a final read read all of part.
func (c *queueCheck) lostWrite(i int32, part *queuePartition) {
	if !c.found.note(kindLostWrite) {
		return
	}
	s := *c.send(i)
	// The read that found another value at the acknowledged offset, if
	// one is among the inconsistent offsets' examples.
	other := int32(-1)
	if ci, ok := part.conflicts[s.offset]; ok && ci >= 0 {
		if cf := c.found.conflicts[ci]; len(cf.ops) > 1 {
			other = cf.ops[1]
		}
	}
	focus := []int64{s.offset, part.maxRead}
	what := fmt.Sprintf("%q, acknowledged at partition %d offset %d (op index %d), was never read", c.vals.name(s.value), s.partition, s.offset, c.ops[s.done].Index)
	if part.maxRead > s.offset {
		reader := c.ops[part.maxReadOp]
		msg := fmt.Sprintf("%s, although process %s read partition %d up to offset %d (op index %d)", what, reader.Process, part.id, part.maxRead, reader.Index)
		c.example(kindLostWrite, s.partition, s.done, msg, focus, s.invoke, s.done, other, part.maxReadOp)
		return
	}
	final := c.ops[part.finalOp]
	msg := fmt.Sprintf("%s, although process %s's final read of partition %d read it all, to its end offset %d (op index %d)", what, final.Process, part.id, part.endOffset, final.Index)
	c.example(kindLostWrite, s.partition, s.done, msg, focus, s.invoke, s.done, other, part.finalOp)
}
