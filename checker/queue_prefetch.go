package checker

import (
	"runtime"
	"sync/atomic"

	"github.com/faultline/faultline/history"
)

// Reading the values (the JSON of sends and polls) is half the queue
// checker's work, and depends on nothing the pass over the history learns:
// so, with more than one CPU, a goroutine reads them ahead of the pass, a
// batch of ops at a time (prefetcher), and the pass takes what it read. It
// reads only the values the fast scanners take whole (the workload's
// compact JSON, polls of at most maxBuffered records and prefetchMaxValue
// bytes); the pass reads any other itself, as it would without the
// prefetcher, so that every error and every stop comes from the pass, as
// before.
//
// Batches are claimed, by the goroutine or by the pass: the pass reads a
// batch the goroutine has not begun itself, and waits only for one the
// goroutine is reading. So the two share the reading between them as their
// speeds (and the machine's other work) allow, and the pass never waits
// for a goroutine that gets no CPU.

const (
	// prefetchBatch is how many ops a batch covers, and prefetchRecords
	// about the most records it holds (the pass reads the polls past that).
	prefetchBatch   = 1024
	prefetchRecords = 1 << 14
	// prefetchMaxValue is the longest value the prefetcher reads.
	prefetchMaxValue = 64 << 10
	// prefetchAhead is how many batches it may read ahead of the pass.
	prefetchAhead = 2
)

// queuePrefetch turns the prefetcher on (the tests compare both).
var queuePrefetch = true

// prefetchKind says what the prefetcher made of an op's value.
type prefetchKind uint8

const (
	prefetchNone prefetchKind = iota // nothing: the pass reads it
	prefetchSend                     // a send's value, in send
	prefetchPoll                     // a poll's, in the batch's arrays
)

// prefetched is what the prefetcher read of one op's value.
type prefetched struct {
	kind      prefetchKind
	mode      queueMode
	endOffset int64
	records   int
	// The poll's partitions, record groups (their start and end relative
	// to its records) and records, in the batch's arrays.
	parts, groups, recs [2]int32
	send                sendValue
	// The send's value as workloadValue reads it.
	proc, seq int32
	workload  bool
}

// prefetchedBatch is what the prefetcher read of ops[start:end].
type prefetchedBatch struct {
	start, end int
	slot       []int32 // per op, its value in vals; -1 if none
	vals       []prefetched
	parts      []int32
	groups     []recordGroup
	recs       []record
	ready      chan struct{} // the goroutine read it
}

// prefetcher reads values ahead of the pass, batch k being ops
// [k*prefetchBatch, (k+1)*prefetchBatch), held in buffer k%prefetchBatches.
type prefetcher struct {
	ops     []history.Op
	batches int                               // how many batches ops make
	buf     [prefetchBatches]*prefetchedBatch // nil until first used
	claimed atomic.Int64                      // the batches below it are claimed, by the goroutine or the pass
	passAt  atomic.Int64                      // the batch the pass is in; -1 before the first
	moved   chan struct{}                     // the pass moved on to another batch
	quit    chan struct{}
	done    chan struct{}
	batch   *prefetchedBatch // the one the pass is in; nil before the first
	pv      pollValue        // the pass's buffers, to read a batch itself
}

// prefetchBatches is how many batches a prefetcher holds: those read
// ahead and the one the pass is in.
const prefetchBatches = prefetchAhead + 1

// newBatch makes a batch, with room for its records: those of the poll
// that takes it past prefetchRecords included, so that a poll's records
// are read in place.
func newBatch() *prefetchedBatch {
	return &prefetchedBatch{slot: make([]int32, 0, prefetchBatch), recs: make([]record, 0, prefetchRecords+maxBuffered),
		ready: make(chan struct{}, 1)}
}

// newPrefetcher starts reading the values of ops ahead, or returns nil if
// there is one CPU (or few ops): then the pass reads them all itself.
func newPrefetcher(ops []history.Op) *prefetcher {
	if !queuePrefetch || runtime.GOMAXPROCS(0) < 2 || len(ops) < 2*prefetchBatch {
		return nil
	}
	f := &prefetcher{
		ops:     ops,
		batches: (len(ops) + prefetchBatch - 1) / prefetchBatch,
		moved:   make(chan struct{}, 1),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	for i := range f.buf {
		f.buf[i] = newBatch()
	}
	f.passAt.Store(-1)
	go f.run()
	return f
}

// stop stops the prefetcher and waits for it.
func (f *prefetcher) stop() {
	close(f.quit)
	<-f.done
}

// run reads batches the pass has not claimed, while there is room ahead of
// the pass for them.
func (f *prefetcher) run() {
	defer close(f.done)
	var pv pollValue
	for {
		k := f.claimed.Load()
		if k >= int64(f.batches) {
			return
		}
		if k > f.passAt.Load()+prefetchAhead { // its buffer holds one the pass is in
			select {
			case <-f.moved:
			case <-f.quit:
				return
			}
			continue
		}
		if !f.claimed.CompareAndSwap(k, k+1) {
			continue // the pass took it
		}
		b := f.buf[k%prefetchBatches]
		b.fill(f.ops, int(k), &pv)
		b.ready <- struct{}{} // cannot block: the pass took the last batch this buffer held
	}
}

// fill reads batch k of ops into b.
func (b *prefetchedBatch) fill(ops []history.Op, k int, pv *pollValue) {
	b.start, b.end = k*prefetchBatch, min((k+1)*prefetchBatch, len(ops))
	b.slot, b.vals, b.parts, b.groups, b.recs = b.slot[:0], b.vals[:0], b.parts[:0], b.groups[:0], b.recs[:0]
	for i := b.start; i < b.end; i++ {
		slot := int32(-1)
		if len(b.recs) < prefetchRecords { // past that, the pass reads the polls
			slot = b.read(&ops[i], pv)
		}
		b.slot = append(b.slot, slot)
	}
}

// read reads op's value into a new entry of b.vals and returns its
// index, if the pass will read it as a send's or a poll's and the fast
// scanners take it whole; else it returns -1.
func (b *prefetchedBatch) read(op *history.Op, pv *pollValue) int32 {
	if op.Process == history.Nemesis || len(op.Value) == 0 || len(op.Value) > prefetchMaxValue {
		return -1
	}
	switch {
	case op.F == "send" && (op.Type == history.Invoke || op.Type == history.OK):
		var send sendValue
		if !scanSend(op.Value, &send) {
			return -1
		}
		e := prefetched{kind: prefetchSend, send: send}
		if send.hasValue {
			proc, seq, ok := workloadValue(send.value)
			e.proc, e.seq, e.workload = int32(proc), int32(seq), ok
		}
		b.vals = append(b.vals, e)
		return int32(len(b.vals) - 1)
	case op.F == "poll" && op.Type != history.Fail:
		// The records go straight into the batch's room for them (at
		// most maxBuffered: the scanner keeps no more).
		n := len(b.recs)
		pv.recs = nil
		pv.reset()
		pv.recs = b.recs[n:n:cap(b.recs)]
		s := jsonScanner{b: op.Value}
		if !s.scanPollValue(pv, nil) || pv.spilled {
			pv.recs = nil
			return -1
		}
		recs := b.recs[:n+len(pv.recs)] // their values read by the scanner, as workloadValue does
		pv.recs = nil
		b.vals = append(b.vals, prefetched{kind: prefetchPoll, mode: pv.mode, endOffset: pv.endOffset, records: pv.records,
			parts:  [2]int32{int32(len(b.parts)), int32(len(b.parts) + len(pv.partitions))},
			groups: [2]int32{int32(len(b.groups)), int32(len(b.groups) + len(pv.recGroups))},
			recs:   [2]int32{int32(n), int32(len(recs))}})
		b.parts = append(b.parts, pv.partitions...)
		b.groups = append(b.groups, pv.recGroups...)
		b.recs = recs
		return int32(len(b.vals) - 1)
	}
	return -1
}

// at returns what the prefetcher read of the op at pos, nil if it read
// nothing. The pass asks in order of pos.
func (f *prefetcher) at(pos int32) *prefetched {
	for f.batch == nil || int(pos) >= f.batch.end {
		k := f.passAt.Load() + 1
		if k >= int64(f.batches) {
			return nil
		}
		f.passAt.Store(k) // lets the goroutine reuse the buffer of the batch before
		select {
		case f.moved <- struct{}{}:
		default:
		}
		b := f.buf[k%prefetchBatches]
		if f.claimed.CompareAndSwap(k, k+1) {
			b.fill(f.ops, int(k), &f.pv) // the goroutine is behind: read it here
		} else {
			<-b.ready
		}
		f.batch = b
	}
	k := f.batch.slot[int(pos)-f.batch.start]
	if k < 0 {
		return nil
	}
	return &f.batch.vals[k]
}

// poll makes e, a poll's value, into v: a view of the batch's arrays, valid
// until the pass asks for a later op.
func (f *prefetcher) poll(e *prefetched, v *pollValue) {
	b := f.batch
	*v = pollValue{mode: e.mode, endOffset: e.endOffset, records: e.records, fast: true,
		partitions: b.parts[e.parts[0]:e.parts[1]:e.parts[1]],
		recGroups:  b.groups[e.groups[0]:e.groups[1]:e.groups[1]],
		recs:       b.recs[e.recs[0]:e.recs[1]:e.recs[1]]}
}
