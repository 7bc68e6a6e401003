package checker

import (
	"runtime"

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

const (
	// prefetchBatch is how many ops a batch covers, and prefetchRecords
	// about the most records it holds (it ends early past that).
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
}

// prefetcher reads values ahead of the pass.
type prefetcher struct {
	full  chan *prefetchedBatch // read, in order
	free  chan *prefetchedBatch // taken, to reuse
	quit  chan struct{}
	done  chan struct{}
	batch *prefetchedBatch // the one the pass is in; nil before the first
}

// prefetchBatches is how many batches a prefetcher makes: those read
// ahead, the one the pass is in and the one being read.
const prefetchBatches = prefetchAhead + 2

// newBatch makes a batch, with room for its records: those of the polls
// that end it past prefetchRecords included, so that a poll's records are
// read in place.
func newBatch() *prefetchedBatch {
	return &prefetchedBatch{slot: make([]int32, 0, prefetchBatch), recs: make([]record, 0, prefetchRecords+maxBuffered)}
}

// newPrefetcher starts reading the values of ops ahead, or returns nil if
// there is one CPU (or few ops): then the pass reads them all itself.
func newPrefetcher(ops []history.Op) *prefetcher {
	if !queuePrefetch || runtime.GOMAXPROCS(0) < 2 || len(ops) < 2*prefetchBatch {
		return nil
	}
	f := &prefetcher{
		full: make(chan *prefetchedBatch, prefetchAhead),
		free: make(chan *prefetchedBatch, prefetchBatches),
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	go f.run(ops)
	return f
}

// stop stops the prefetcher and waits for it.
func (f *prefetcher) stop() {
	close(f.quit)
	<-f.done
}

// run reads ops's values, batch after batch.
func (f *prefetcher) run(ops []history.Op) {
	defer close(f.done)
	defer close(f.full)
	var pv pollValue
	made := 0
	for start := 0; start < len(ops); {
		var b *prefetchedBatch
		if made < prefetchBatches {
			made++
			b = newBatch()
		} else {
			select {
			case b = <-f.free:
			case <-f.quit:
				return
			}
		}
		b.start = start
		b.slot, b.vals, b.parts, b.groups, b.recs = b.slot[:0], b.vals[:0], b.parts[:0], b.groups[:0], b.recs[:0]
		for i := start; i < len(ops) && i-start < prefetchBatch && len(b.recs) < prefetchRecords; i++ {
			b.slot = append(b.slot, b.read(&ops[i], &pv))
		}
		start += len(b.slot)
		b.end = start
		select {
		case f.full <- b:
		case <-f.quit:
			return
		}
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
		if f.batch != nil {
			select {
			case f.free <- f.batch:
			default:
			}
		}
		b, ok := <-f.full
		if !ok {
			f.batch = nil
			return nil
		}
		f.batch = b
	}
	if int(pos) < f.batch.start {
		return nil
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
