package checker

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/faultline/faultline/history"
)

// LinearizableWrites checks that a zk-register history's writes are
// linearizable, as ZooKeeper promises whatever the read mode: the
// Linearizable check (same model, same pruning of unknown ops, porcupine
// per key) of the writes and cas ops alone.
//
// Reads are left out, because ZooKeeper does not promise that they are
// linearizable: a read changes nothing, so leaving one out never makes the
// writes harder to linearize, and only a read can be stale. What reads tell
// about writes the Sequential checker judges (a read reveals that an info
// write happened, at which version and zxid; a read seeing a value its
// write did not make). The final reads are the exception and stay in as
// linearizable reads: they run after the workers stopped, the cluster was
// healed and a quiet period passed, each in a fresh session after sync, and
// they are the only witnesses that an acknowledged write that nothing
// overwrote was not lost. (ZOOKEEPER-1675, a sync racing a change of
// leader, could make one stale; the cluster is quiet by then.) Final reads
// are recognised as findFinalReads says.
//
// Porcupine checks keys one by one. Across keys, the zxids that ok ops
// record order the writes, and that order must agree with real time (see
// checkZxidRealtime): a write acknowledged with a zxid not above one some op
// had observed before the write was invoked is a zxid-realtime anomaly.
// Histories without zxids are checked key by key only, with a note.
//
// Result.Details is a *LinearizableWritesDetails; visualizations are named
// linearizability-writes-<key>.html.
type LinearizableWrites struct {
	noPrune bool // see Linearizable
}

// Name returns "linearizable-writes".
func (LinearizableWrites) Name() string { return "linearizable-writes" }

// Check checks ops; see LinearizableWrites.
func (l LinearizableWrites) Check(ctx context.Context, ops []history.Op, opts Options) Result {
	res, d, out := registerCheck{name: l.Name(), noPrune: l.noPrune, writesOnly: true, artifact: "linearizability-writes-"}.check(ctx, ops, opts)
	res.Details = &LinearizableWritesDetails{LinearizableDetails: *d, ReadsLeftOut: out.left, FinalReads: out.final}
	if res.Error == "" && !(res.Valid == Unknown && ctx.Err() != nil) {
		checkZxidRealtime(out, &res)
	}
	return res
}

// zxidObs is an ok call that recorded a zxid: a write or cas made it, a
// read observed it.
type zxidObs struct {
	inv, done       int64 // the op indexes of its invocation and completion
	invPos, donePos int32 // their positions in registerOut.hist
	zxid            int64
	write           bool
}

// checkZxidRealtime checks that the zxid order of the writes, across keys,
// agrees with real time: an ok write or cas must have a zxid above every zxid
// an op (a write's acknowledgement, or a read, stale or not) had observed
// before the write was invoked. ZooKeeper numbers writes in the order its
// leaders propose them, and a leader with a quorum proposes after every
// write committed before; a write already visible cannot come after one not
// yet sent. Each write that does not is a zxid-realtime anomaly.
func checkZxidRealtime(out registerOut, res *Result) {
	if len(out.obs) == 0 {
		if out.noZxid > 0 {
			res.Notes = append(res.Notes, "the history records no zxids (it predates them): the order of writes across keys was not checked against real time")
		}
		return
	}
	byDone := slices.Clone(out.obs)
	slices.SortFunc(byDone, func(a, b zxidObs) int { return cmp.Compare(a.done, b.done) })
	seen, seenBy := int64(math.MinInt64), -1
	j, n := 0, 0
	for _, w := range out.obs {
		if !w.write {
			continue
		}
		for ; j < len(byDone) && byDone[j].done < w.inv; j++ {
			if byDone[j].zxid > seen {
				seen, seenBy = byDone[j].zxid, j
			}
		}
		if w.zxid > seen {
			continue
		}
		n++
		if n > maxZxidExamples {
			continue
		}
		c, by := out.call(w), out.call(byDone[seenBy])
		at := *c.done
		res.Anomalies = append(res.Anomalies, Anomaly{
			Kind: "zxid-realtime",
			Key:  c.inv.Key,
			At:   &at,
			Message: fmt.Sprintf("%s on %s got zxid %d, not above zxid %d, which %s on %s had observed before it was invoked [%s; %s]",
				c, c.inv.Key, w.zxid, seen, by, by.inv.Key, c.where(), by.where()),
			Ops: callOps(c, by),
		})
	}
	if n > 0 {
		res.Valid = Invalid
		if res.AnomalyCounts == nil {
			res.AnomalyCounts = map[string]int{}
		}
		res.AnomalyCounts["zxid-realtime"] = n
	}
}

// call returns the call o observed, decoded.
func (out *registerOut) call(o zxidObs) *registerOp {
	inv, done := &out.hist[o.invPos], &out.hist[o.donePos]
	f, _, _ := decodeRegister(inv, done)
	return &registerOp{inv: inv, done: done, registerFields: f}
}

// maxZxidExamples is how many zxid-realtime anomalies a result shows.
const maxZxidExamples = 10

// callOps lists the ops of calls, in index order.
func callOps(calls ...*registerOp) []history.Op {
	var ops []history.Op
	for _, c := range calls {
		ops = append(ops, c.historyOps()...)
	}
	slices.SortFunc(ops, func(a, b history.Op) int { return cmp.Compare(a.Index, b.Index) })
	return ops
}

// LinearizableWritesDetails are LinearizableWrites's figures: those of
// Linearizable (ByF counts every client call, reads included; Keys counts
// the keys with a write, a cas or a final read), and what became of the ok
// reads.
type LinearizableWritesDetails struct {
	LinearizableDetails
	// ReadsLeftOut counts the ok reads left out, FinalReads the ok final
	// reads kept.
	ReadsLeftOut int `json:"reads_left_out"`
	FinalReads   int `json:"final_reads"`
}

// Summary says how many keys were checked, and with how many final reads.
func (d *LinearizableWritesDetails) Summary() (string, []string) {
	return fmt.Sprintf("%d keys", d.Keys), []string{fmt.Sprintf("writes and cas ops with %d final reads; %d other ok reads left out", d.FinalReads, d.ReadsLeftOut)}
}

// finalNode is the node the final reads' completions name: their session
// is on the whole ensemble, where every worker's is on one server.
const finalNode = "ensemble"

// finalReads tells the final reads of a zk-register history.
type finalReads struct {
	maxWriter history.Process // the highest process that invoked a write or cas; -1 if none
}

// findFinalReads finds how to tell the final reads among calls: the reads
// the workload makes after the workers stopped (docs/history.md). Their
// processes are numbered above every worker's, so above every process that
// invoked a write or cas, and their completions name node "ensemble".
func findFinalReads(calls []history.Call) finalReads {
	f := finalReads{maxWriter: -1}
	for i := range calls {
		f.see(&calls[i].Invoke)
	}
	return f
}

// see learns from an invocation.
func (f *finalReads) see(inv *history.Op) {
	if inv.Process.IsClient() && inv.F != "read" {
		f.maxWriter = max(f.maxWriter, inv.Process)
	}
}

// isRead reports whether the call of inv and done (nil if it never
// completed) is a final read.
func (f finalReads) isRead(inv, done *history.Op) bool {
	return inv.F == "read" && inv.Process > f.maxWriter && done != nil && (done.Node == finalNode || markedFinal(inv.Value))
}

// markedFinal says whether a read's invocation is marked {"final":true}:
// a final read through a session on one server (the workload reads every
// key on every server at the end).
func markedFinal(v json.RawMessage) bool {
	if len(v) == 0 || !bytes.Contains(v, []byte(`"final"`)) {
		return false
	}
	var m struct {
		Final bool `json:"final"`
	}
	return json.Unmarshal(v, &m) == nil && m.Final
}
