package checker

import (
	"context"
	"fmt"

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
// Result.Details is a *LinearizableWritesDetails; visualizations are named
// linearizability-writes-<key>.html.
type LinearizableWrites struct {
	noPrune bool // see Linearizable
}

// Name returns "linearizable-writes".
func (LinearizableWrites) Name() string { return "linearizable-writes" }

// Check checks ops; see LinearizableWrites.
func (l LinearizableWrites) Check(ctx context.Context, ops []history.Op, opts Options) Result {
	res, d, reads := registerCheck{name: l.Name(), noPrune: l.noPrune, writesOnly: true, artifact: "linearizability-writes-"}.check(ctx, ops, opts)
	res.Details = &LinearizableWritesDetails{LinearizableDetails: *d, ReadsLeftOut: reads.left, FinalReads: reads.final}
	return res
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

// is reports whether c is a final read.
func (f finalReads) is(c *history.Call) bool {
	return f.isRead(&c.Invoke, c.Completion)
}

// isRead reports whether the call of inv and done (nil if it never
// completed) is a final read.
func (f finalReads) isRead(inv, done *history.Op) bool {
	return inv.F == "read" && inv.Process > f.maxWriter && done != nil && done.Node == finalNode
}
