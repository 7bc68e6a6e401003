package checker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/faultline/faultline/history"
)

// This file is the queue checker's one pass over a history: it pairs each
// invocation with its completion (as history.Pair does, without copying the
// ops) and records what every send acknowledged and every poll read.
// Anomalies that need the whole history (lost writes, unexpected values,
// skips) are found afterwards, in queue_anomalies.go.

// queueCheck is one run of Queue.Check.
type queueCheck struct {
	ctx      context.Context
	deadline time.Time // zero for none
	mem      *memoryGuard
	memErr   error // the check ran out of memory
	ops      []history.Op

	vals  queueValues
	sends paged[queueSend]
	parts queueParts
	procs queueProcs

	counts      Counts
	perF        [2][4]int // [send, poll][ok, fail, info, incomplete]
	recordsRead int
	readValues  int
	work        int // steps counted by tick
	okSends     int
	minTime     int64
	maxTime     int64

	found       queueFindings
	truncatedBy map[string]int // partition → offsets a truncation lost
	skips       []skipCandidate
	unseen      paged[unseenChange] // in history order

	sv   sendValue // parse buffers, reused from op to op
	pv   pollValue
	pr   pollRead
	pre  *prefetcher // reads values ahead, if not nil
	view pollValue   // a poll's value the prefetcher read
}

// queueSend is one send call.
type queueSend struct {
	value     int32 // value id
	partition int32
	invoke    int32 // position of its invocation in the history
	done      int32 // position of its completion; -1 if it never completed
	offset    int64 // the acknowledged offset, when ok
	outcome   sendOutcome
}

// sendOutcome is how a send ended.
type sendOutcome uint8

const (
	sendIncomplete sendOutcome = iota // the history ended first
	sendOK
	sendFailed
	sendUnknown // info
)

// queueProc is one process: its pending call, and what the order checks
// remember of it.
type queueProc struct {
	id         history.Process
	pending    int32     // position of its pending invocation; -1 if none
	retired    int32     // position of the info completion that retired it; -1 if none
	send       int32     // the pending send, an index into queueCheck.sends
	mode       queueMode // the pending poll's mode
	partitions []int32   // the pending poll's partitions
	assigned   []int32   // the partitions of its last assign or final poll
	readers    map[int32]*queueReader
	sent       map[int32]sentOffset
	subscribed bool // it has polled in subscribe mode: its readers need not start at a partition's start
}

// queueReader is where an assign or final reader is in one partition.
type queueReader struct {
	last   int64 // the last offset it read
	lastOp int32 // the op that read it; -1 before the first
	max    int64 // the highest offset it read
	first  int64 // the first offset it read; -1 before the first
}

// finalEnd is an ok final poll with an end_offset: it completes its
// partition's final read if the reader read the partition from its start
// to end-1, which findAfterRead decides once it knows what offsets exist.
type finalEnd struct {
	pos   int32
	end   int64
	first int64 // the reader's first offset; -1 if it read none
	max   int64 // its highest
}

// sentOffset is a producer's last ok send to a partition.
type sentOffset struct {
	offset int64
	send   int32 // index into queueCheck.sends
}

// skipCandidate is a reader moving from one offset to a higher one that is
// not the next, or starting a partition (from -1, fromOp -1) at an offset
// above 0: a poll-skip if some offset between them exists.
type skipCandidate struct {
	proc       history.Process
	mode       queueMode
	partition  int32
	from, to   int64
	fromOp, op int32
}

// send returns send i.
func (c *queueCheck) send(i int32) *queueSend { return c.sends.at(int(i)) }

// errQueueStopped says the check ran out of time or was cancelled.
var errQueueStopped = errors.New("stopped")

// malformed reports a value or call the kafka-queue workload does not make.
func malformed(op *history.Op, format string, args ...any) error {
	return fmt.Errorf("malformed kafka-queue history: op index %d: %s", op.Index, fmt.Sprintf(format, args...))
}

// read makes the pass over the history.
func (c *queueCheck) read() error {
	if c.pre = newPrefetcher(c.ops); c.pre != nil {
		defer c.pre.stop()
	}
	if len(c.ops) > 0 {
		c.minTime, c.maxTime = c.ops[0].Time, c.ops[0].Time
	}
	for i := range c.ops {
		if i&(1<<14-1) == 0 && c.stopped() {
			return errQueueStopped
		}
		pos := int32(i)
		op := &c.ops[i]
		c.minTime, c.maxTime = min(c.minTime, op.Time), max(c.maxTime, op.Time)
		if !plainValid(op) {
			if err := validateFields(op); err != nil {
				return c.pairingError(fmt.Errorf("op index %d: %w", op.Index, err))
			}
		}
		p := c.procs.get(op.Process)
		if op.Type == history.Invoke {
			switch {
			case p.pending >= 0:
				return c.pairingError(fmt.Errorf("op index %d: process %s invokes %q while its invocation at index %d is still pending", op.Index, op.Process, op.F, c.ops[p.pending].Index))
			case p.retired >= 0:
				return c.pairingError(fmt.Errorf("op index %d: process %s invokes %q but was retired by its info completion at index %d", op.Index, op.Process, op.F, c.ops[p.retired].Index))
			}
			p.pending = pos
			if err := c.invoke(pos, p); err != nil {
				return err
			}
			continue
		}
		if p.pending < 0 {
			return c.pairingError(fmt.Errorf("op index %d: process %s completes %q (%s) with no pending invocation", op.Index, op.Process, op.F, op.Type))
		}
		inv := &c.ops[p.pending]
		if op.F != inv.F || op.Key != inv.Key || op.Time < inv.Time {
			return c.pairingError(fmt.Errorf("op index %d: process %s completes %s %q but invoked %s %q at index %d (time %d)", op.Index, op.Process, op.F, op.Key, inv.F, inv.Key, inv.Index, inv.Time))
		}
		if err := c.complete(pos, p); err != nil {
			return err
		}
		p.pending = -1
		if op.Type == history.Info && op.Process.IsClient() {
			p.retired = pos
		}
	}
	for _, p := range c.procs.all {
		if p.pending < 0 || !p.id.IsClient() {
			continue
		}
		c.counts.Calls++
		c.counts.Incomplete++
		c.perF[fIndex(c.ops[p.pending].F)][3]++
	}
	return nil
}

// stopped reports whether the check must stop: ctx is done, the timeout has
// passed, or memory is running out (then c.memErr says so).
func (c *queueCheck) stopped() bool {
	if c.memErr != nil || c.ctx.Err() != nil || (!c.deadline.IsZero() && time.Now().After(c.deadline)) {
		return true
	}
	if c.mem != nil {
		c.memErr = c.mem.check(c.progress)
	}
	return c.memErr != nil
}

// progress says how far the check got, for an out-of-memory error.
func (c *queueCheck) progress() string {
	return fmt.Sprintf("reading %d records of %d values", c.recordsRead, c.vals.info.len())
}

// tick counts a step of work (a record, a value) and reports, every
// stopEvery steps, whether the check must stop: every loop over records or
// values ticks, so that the check stops within a fraction of a second of
// its deadline or cancellation, whatever the history's shape.
func (c *queueCheck) tick() bool {
	c.work++
	return c.work&(stopEvery-1) == 0 && c.stopped()
}

// parseError makes an error parsing op's value into the check's error:
// errQueueStopped if the check must stop, else a malformed history.
func parseError(op *history.Op, err error, what string) error {
	if errors.Is(err, errParseStopped) {
		return errQueueStopped
	}
	return malformed(op, "%s value %s is not a kafka-queue %s value: %v", what, clip(op.Value), what, err)
}

// validateFields checks op as history.Op.Validate does, except its value's
// JSON, which decoding it checks.
func validateFields(op *history.Op) error {
	v := *op
	v.Value = nil
	return v.Validate()
}

// pairingError reports a history whose ops do not pair up into calls, as
// mine says. It uses history.Pair's words for it, the ones every checker
// uses, unless Pair finds nothing wrong.
func (c *queueCheck) pairingError(mine error) error {
	if _, err := history.Pair(c.ops); err != nil {
		mine = err
	}
	return fmt.Errorf("malformed history: %w", mine)
}

// fIndex maps f to its row in queueCheck.perF.
func fIndex(f string) int {
	if f == "send" {
		return 0
	}
	return 1
}

// validJSON checks a value the checker does not otherwise decode.
func validJSON(op *history.Op) error {
	if len(op.Value) > 0 && !json.Valid(op.Value) {
		return malformed(op, "value is not valid JSON: %s", clip(op.Value))
	}
	return nil
}

// clip shortens a value for an error message.
func clip(b []byte) string {
	const n = 80
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "..."
}

// invoke records an invocation, at pos, by p.
func (c *queueCheck) invoke(pos int32, p *queueProc) error {
	op := &c.ops[pos]
	if !op.Process.IsClient() { // the nemesis and the observer
		return validJSON(op)
	}
	switch op.F {
	case "send":
		part, ok := parsePartition([]byte(op.Key))
		if !ok {
			return malformed(op, "send key %q is not a partition number; a send's key is the partition it writes to, e.g. \"0\"", op.Key)
		}
		if len(op.Value) == 0 {
			return malformed(op, `send invocation has no value; it must record the value sent, e.g. {"value":"3-17"}`)
		}
		sv, err := c.sendValue(pos)
		if err != nil {
			return malformed(op, "send value %s is not a kafka-queue send value: %v", clip(op.Value), err)
		}
		if !sv.hasValue {
			return malformed(op, `send invocation has no "value"; it must record the value sent, e.g. {"value":"3-17"}`)
		}
		id := c.internSend(pos, sv)
		v := c.vals.value(id)
		if v.send >= 0 {
			return malformed(op, "value %q was already sent by op index %d; every value the workload sends must be unique",
				sv.value, c.ops[c.send(v.send).invoke].Index)
		}
		v.send, v.sendPart = int32(c.sends.len()), part
		p.send = v.send
		c.sends.push(queueSend{value: id, partition: part, invoke: pos, done: -1})
		c.parts.get(part)
	case "poll":
		if len(op.Value) == 0 {
			return malformed(op, `poll invocation has no value; it must record how it reads, e.g. {"mode":"assign","partitions":[0,1]}`)
		}
		pv, err := c.pollValue(pos)
		if err != nil {
			return parseError(op, err, "poll")
		}
		switch {
		case pv.mode == modeUnset:
			return malformed(op, `poll invocation has no "mode" (assign, subscribe or final)`)
		case pv.mode == modeFinal && len(pv.partitions) != 1:
			return malformed(op, `a final poll reads one partition, but its invocation lists %d; want e.g. {"mode":"final","partitions":[0]}`, len(pv.partitions))
		}
		for _, part := range pv.partitions {
			c.parts.get(part)
		}
		p.mode = pv.mode
		p.subscribed = p.subscribed || p.mode == modeSubscribe
		p.partitions = append(p.partitions[:0], pv.partitions...)
		p.reassign(pv.mode, pv.partitions)
	default:
		return malformed(op, "unknown f %q; the kafka-queue workload has send and poll", op.F)
	}
	return nil
}

// reassign forgets where p was in the partitions it no longer reads in order:
// all of them when it polls in subscribe mode, those an assign or final poll
// does not list.
func (p *queueProc) reassign(mode queueMode, partitions []int32) {
	if mode == modeSubscribe {
		clear(p.readers)
		p.assigned = p.assigned[:0]
		return
	}
	if slices.Equal(p.assigned, partitions) {
		return
	}
	for part := range p.readers {
		if !slices.Contains(partitions, part) {
			delete(p.readers, part)
		}
	}
	p.assigned = append(p.assigned[:0], partitions...)
}

// complete records a completion, at pos, of p's pending call.
func (c *queueCheck) complete(pos int32, p *queueProc) error {
	op := &c.ops[pos]
	if !op.Process.IsClient() { // the nemesis and the observer
		return validJSON(op)
	}
	c.counts.Calls++
	outcome := 2
	switch op.Type {
	case history.OK:
		c.counts.OK++
		outcome = 0
	case history.Fail:
		c.counts.Fail++
		outcome = 1
	default:
		c.counts.Info++
	}
	c.perF[fIndex(op.F)][outcome]++
	if op.F == "send" {
		return c.completeSend(pos, p)
	}
	return c.completePoll(pos, p)
}

// completeSend records how p's pending send ended.
func (c *queueCheck) completeSend(pos int32, p *queueProc) error {
	op := &c.ops[pos]
	s := c.send(p.send)
	s.done = pos
	switch op.Type {
	case history.Fail:
		s.outcome = sendFailed
		return validJSON(op)
	case history.Info:
		s.outcome = sendUnknown
		return validJSON(op)
	}
	if len(op.Value) == 0 {
		return malformed(op, `ok send has no value; it must record the offset Kafka acknowledged, e.g. {"value":"3-17","offset":1021}`)
	}
	sv, err := c.sendValue(pos)
	if err != nil {
		return malformed(op, "send value %s is not a kafka-queue send value: %v", clip(op.Value), err)
	}
	if !sv.hasOffset {
		return malformed(op, `ok send has no "offset"; it must record the offset Kafka acknowledged, e.g. {"value":"3-17","offset":1021}`)
	}
	if sent := c.vals.bytes(s.value); sv.hasValue && !bytes.Equal(sv.value, sent) {
		return malformed(op, "ok send says value %q but its invocation (index %d) sent %q", sv.value, c.ops[s.invoke].Index, sent)
	}
	s.outcome, s.offset = sendOK, sv.offset
	c.okSends++
	if v := c.vals.value(s.value); v.readOp < 0 {
		*c.vals.flag(s.value) |= valueUnseen
		c.unseen.push(unseenChange{time: op.Time, delta: 1})
	}
	part := c.parts.get(s.partition)
	c.place(part, s.offset, s.value, pos)

	if p.sent == nil {
		p.sent = map[int32]sentOffset{}
	}
	if prev, ok := p.sent[s.partition]; ok && s.offset <= prev.offset {
		c.nonmonotonicSend(p, s, prev, pos)
	}
	p.sent[s.partition] = sentOffset{offset: s.offset, send: p.send}
	return nil
}

// completePoll records what p's pending poll read.
func (c *queueCheck) completePoll(pos int32, p *queueProc) error {
	op := &c.ops[pos]
	if op.Type == history.Fail {
		return validJSON(op)
	}
	if len(op.Value) == 0 {
		if op.Type == history.Info {
			return nil
		}
		return malformed(op, `ok poll has no value; it must record what it read, e.g. {"mode":"assign","records":{}}`)
	}
	pv, err := c.pollValue(pos)
	if err != nil {
		return parseError(op, err, "poll")
	}
	if pv.mode != modeUnset && pv.mode != p.mode {
		return malformed(op, "poll completes in mode %s but was invoked in mode %s (index %d)", pv.mode, p.mode, c.ops[p.pending].Index)
	}
	c.pr = pollRead{c: c, pos: pos, p: p}
	if pv == &c.view {
		// Read by the prefetcher, which read the values too: as
		// eachRecord would, without reading them again.
		for _, g := range pv.recGroups {
			if !c.pr.group(g.partition) {
				return parseError(op, errParseStopped, "poll")
			}
			for i := range pv.recs[g.start:g.end] {
				if !c.pr.readRecord(&pv.recs[g.start+i]) {
					return parseError(op, errParseStopped, "poll")
				}
			}
		}
	} else if err := pv.eachRecord(op.Value, &c.pr); err != nil {
		return parseError(op, err, "poll")
	}
	if end := pv.endOffset; p.mode == modeFinal && op.Type == history.OK && end >= 0 {
		part := c.parts.get(p.partitions[0])
		f := finalEnd{pos: pos, end: end, first: -1, max: -1}
		if rd := p.readers[part.id]; rd != nil {
			f.first, f.max = rd.first, rd.max
		}
		part.finals = append(part.finals, f)
	}
	return nil
}

// internSend interns the value of sv, the value of the send op at pos.
func (c *queueCheck) internSend(pos int32, sv *sendValue) int32 {
	if c.pre != nil && sv != &c.sv {
		e := c.pre.at(pos)
		return c.vals.internAs(sv.value, int(e.proc), int(e.seq), e.workload)
	}
	return c.vals.intern(sv.value)
}

// sendValue returns the value of the send op at pos, read.
func (c *queueCheck) sendValue(pos int32) (*sendValue, error) {
	if c.pre != nil {
		if e := c.pre.at(pos); e != nil && e.kind == prefetchSend {
			return &e.send, nil
		}
	}
	err := parseSend(c.ops[pos].Value, &c.sv)
	return &c.sv, err
}

// pollValue returns the value of the poll op at pos, read; its records
// are for eachRecord.
func (c *queueCheck) pollValue(pos int32) (*pollValue, error) {
	if c.pre != nil {
		if e := c.pre.at(pos); e != nil && e.kind == prefetchPoll {
			c.pre.poll(e, &c.view)
			return &c.view, nil
		}
	}
	err := parsePoll(c.ops[pos].Value, &c.pv)
	return &c.pv, err
}

// pollRead takes the records a poll, completed at pos by p, read (see
// recordSink): it records each, and checks p's order if it reads in order.
type pollRead struct {
	c    *queueCheck
	pos  int32
	p    *queueProc
	part *queuePartition // the partition being read
	rd   *queueReader    // p's place in it, if p reads in order
}

// group starts the records read from partition id.
func (r *pollRead) group(id int32) bool {
	r.part, r.rd = r.c.parts.get(id), nil
	if r.p.mode.ordered() {
		r.rd = r.p.reader(id)
	}
	return true
}

// record records one record read from r.part.
func (r *pollRead) record(off int64, value []byte) bool {
	proc, seq, ok := workloadValue(value)
	return r.recordAs(off, value, proc, seq, ok)
}

// readRecord is record for one the scanner kept, its value read.
func (r *pollRead) readRecord(rec *record) bool {
	return r.recordAs(rec.offset, rec.value, int(rec.proc), int(rec.seq), rec.workload)
}

// recordAs is record for a value workloadValue has read: proc, seq, ok.
func (r *pollRead) recordAs(off int64, value []byte, proc, seq int, workload bool) bool {
	c, part, pos, rd := r.c, r.part, r.pos, r.rd
	if c.tick() {
		return false
	}
	c.recordsRead++
	id := c.vals.internAs(value, proc, seq, workload)
	c.place(part, off, id, pos)
	v := c.vals.value(id)
	flags := &v.flags
	if v.readOp < 0 {
		v.readOp = pos
		c.readValues++
		if *flags&valueUnseen != 0 {
			*flags &^= valueUnseen
			c.unseen.push(unseenChange{time: c.ops[pos].Time, delta: -1})
		}
	}
	if v.send >= 0 && *flags&valueUnexpected == 0 && v.sendPart != part.id {
		c.wrongPartition(id, part, off, pos)
	}
	if off > part.maxRead {
		part.maxRead, part.maxReadOp = off, pos
	}
	if rd == nil {
		return true
	}
	switch {
	case rd.lastOp < 0:
		// Its first record here: it reads from the partition's start
		// (unless it ever polled as a group member).
		rd.first = off
		if off > 0 && !r.p.subscribed {
			c.skips = append(c.skips, skipCandidate{proc: r.p.id, mode: r.p.mode, partition: part.id,
				from: -1, to: off, fromOp: -1, op: pos})
		}
	case off <= rd.last:
		c.nonmonotonicPoll(r.p, part, rd, off, pos)
	case off > rd.last+1:
		c.skips = append(c.skips, skipCandidate{proc: r.p.id, mode: r.p.mode, partition: part.id,
			from: rd.last, to: off, fromOp: rd.lastOp, op: pos})
	}
	rd.last, rd.lastOp, rd.max = off, pos, max(rd.max, off)
	return true
}

// reader returns p's place in partition part, which it reads in order.
func (p *queueProc) reader(part int32) *queueReader {
	if rd := p.readers[part]; rd != nil {
		return rd
	}
	if p.readers == nil {
		p.readers = map[int32]*queueReader{}
	}
	rd := &queueReader{lastOp: -1, max: -1, first: -1}
	p.readers[part] = rd
	return rd
}

// place records that op pos saw value id at offset off of part (it read it
// there, or Kafka acknowledged it there), and notes an offset with two values
// and a value at two offsets.
func (c *queueCheck) place(part *queuePartition, off int64, id, pos int32) {
	if prev, prevOp, ok := part.lookup(off); !ok {
		part.set(off, id, pos)
	} else if prev != id {
		c.inconsistent(part, off, prev, prevOp, id, pos)
	}
	v := c.vals.value(id)
	switch {
	case v.firstPart < 0:
		v.firstPart, v.firstOff, v.firstOp = part.id, off, pos
	case (v.firstPart != part.id || v.firstOff != off) && *c.vals.flag(id)&valueDuplicate == 0:
		*c.vals.flag(id) |= valueDuplicate
		c.duplicate(id, part.id, off, pos)
	}
}

// queueProcs finds a process's state by its number.
type queueProcs struct {
	byID[history.Process, queueProc]
}

// get returns process id's state, making it on first use.
func (t *queueProcs) get(id history.Process) *queueProc {
	return t.byID.get(id, 1<<16, func() *queueProc {
		return &queueProc{id: id, pending: -1, retired: -1, send: -1}
	})
}
