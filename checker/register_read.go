package checker

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/faultline/faultline/history"
)

// This file is the register checks' pass over the history (Linearizable
// and LinearizableWrites): it pairs each invocation with its completion and
// decodes every client call straight into a registerOp, in one pass and
// without copying the ops, then groups the ops the model takes by key.
//
// A history that is not well formed takes the long way instead
// (readRegisterCalls: history.PairContext, then the calls decoded one by
// one in invocation order), so that what is wrong is said exactly as
// before, in Pair's words or the first call's that does not decode.

// registerHistory is a zk-register history as the register checks see it.
type registerHistory struct {
	counts Counts
	byF    map[string]Counts
	end    int64 // later than every event: when unknown ops may still take effect

	// calls are the client calls in invocation order; keys names their
	// keys by registerOp.key.
	calls []registerOp
	keys  []string
	final finalReads

	nemesis []history.Call // the nemesis's calls, for the fault windows
}

// readStatus says how readRegisterOps ended.
type readStatus uint8

const (
	readDone readStatus = iota
	readMalformed
	readStopped
)

// regProc is a process as readRegisterOps follows it.
type regProc struct {
	id      history.Process
	pending int32 // a client's pending call (index into calls), the nemesis's invocation (position in ops); -1 if none
	retired bool
}

// readRegisterOps makes the pass over ops. stop is asked every few
// thousand ops whether to give up. It reports readMalformed, having
// decoded what it could, as soon as an op is not what history.Pair and
// decodeRegister accept; the caller then takes the long way.
func readRegisterOps(ops []history.Op, stop func() bool) (h registerHistory, status readStatus) {
	var (
		procs byID[history.Process, regProc]
		keyID = map[string]int32{}
		perF  [3]Counts // read, write, cas
	)
	h.final = finalReads{maxWriter: -1}
	h.calls = make([]registerOp, 0, len(ops)/2+1)
	for i := range ops {
		if i&(1<<12-1) == 0 && stop() {
			return h, readStopped
		}
		op := &ops[i]
		if !plainValid(op) && validateFields(op) != nil {
			return h, readMalformed
		}
		h.end = max(h.end, op.Time)
		p := procs.get(op.Process, 1<<16, func() *regProc { return &regProc{id: op.Process, pending: -1} })
		if op.Type == history.Invoke {
			if p.pending >= 0 || p.retired {
				return h, readMalformed
			}
			if op.Process == history.Nemesis {
				if !validValue(op) {
					return h, readMalformed
				}
				p.pending = int32(i)
				continue
			}
			k, ok := keyID[op.Key]
			if !ok {
				k = int32(len(h.keys))
				keyID[op.Key] = k
				h.keys = append(h.keys, op.Key)
			}
			h.final.see(op)
			p.pending = int32(len(h.calls))
			h.calls = append(h.calls, registerOp{inv: op, key: k})
			continue
		}
		if p.pending < 0 {
			return h, readMalformed
		}
		var inv *history.Op
		if op.Process == history.Nemesis {
			inv = &ops[p.pending]
		} else {
			inv = h.calls[p.pending].inv
		}
		if op.F != inv.F || op.Key != inv.Key || op.Time < inv.Time {
			return h, readMalformed
		}
		if op.Process == history.Nemesis {
			if !validValue(op) {
				return h, readMalformed
			}
			h.nemesis = append(h.nemesis, history.Call{Invoke: *inv, Completion: op})
		} else {
			if !h.decode(&h.calls[p.pending], op, &perF) {
				return h, readMalformed
			}
			if op.Type == history.Info {
				p.retired = true
			}
		}
		p.pending = -1
	}
	for _, p := range procs.all {
		if p.pending < 0 {
			continue
		}
		if p.id == history.Nemesis {
			h.nemesis = append(h.nemesis, history.Call{Invoke: ops[p.pending]})
			continue
		}
		if !h.decode(&h.calls[p.pending], nil, &perF) {
			return h, readMalformed
		}
	}
	h.end++
	h.byF = map[string]Counts{}
	for i, f := range registerFs {
		if perF[i].Calls > 0 {
			h.byF[f] = perF[i]
		}
	}
	return h, readDone
}

// decode decodes call, whose completion is done (nil if it never
// completed), and counts it. It reports false if the call is malformed: it
// does not decode, or a value it does not decode is not JSON.
func (h *registerHistory) decode(call *registerOp, done *history.Op, perF *[3]Counts) bool {
	f, keep, err := decodeRegister(call.inv, done)
	if err != nil {
		return false
	}
	// decodeRegister reads the invocation's value of a write or cas it
	// keeps, and the completion's of an ok call: the others are only
	// checked, as history.Pair does.
	if !(keep && f.kind != registerRead) && !validValue(call.inv) {
		return false
	}
	if done != nil && !(keep && f.outcome == outcomeOK) && !validValue(done) {
		return false
	}
	call.done, call.registerFields, call.kept = done, f, keep
	c := history.Call{Completion: done}
	h.counts.add(c)
	perF[f.kind].add(c)
	return true
}

// validValue reports whether op's value is absent or JSON.
func validValue(op *history.Op) bool { return len(op.Value) == 0 || json.Valid(op.Value) }

// readRegisterCalls is the long way to what readRegisterOps finds, from
// calls as history.Pair makes them: each call is decoded in invocation
// order. If one does not decode, it returns the error, with the calls
// before it counted. stop is asked every few thousand calls whether to give
// up.
func readRegisterCalls(calls []history.Call, end int64, stop func() bool) (h registerHistory, stopped bool, err error) {
	h.end = end
	h.byF = map[string]Counts{}
	h.final = findFinalReads(calls)
	h.calls = make([]registerOp, 0, len(calls))
	keyID := map[string]int32{}
	for i := range calls {
		if i&(1<<12-1) == 0 && stop() {
			return h, true, nil
		}
		c := &calls[i]
		if !c.Invoke.Process.IsClient() {
			h.nemesis = append(h.nemesis, *c)
			continue
		}
		h.counts.add(*c)
		n := h.byF[c.Invoke.F]
		n.add(*c)
		h.byF[c.Invoke.F] = n
		f, keep, err := decodeRegister(&c.Invoke, c.Completion)
		if err != nil {
			return h, false, fmt.Errorf("malformed zk-register history: %v", err)
		}
		if !keep {
			continue
		}
		k, ok := keyID[c.Invoke.Key]
		if !ok {
			k = int32(len(h.keys))
			keyID[c.Invoke.Key] = k
			h.keys = append(h.keys, c.Invoke.Key)
		}
		h.calls = append(h.calls, registerOp{inv: &c.Invoke, done: c.Completion, registerFields: f, key: k, kept: true})
	}
	return h, false, nil
}

// registerKeys are the ops the model takes, by key.
type registerKeys struct {
	names []string        // the keys with at least one op, sorted
	ops   [][]*registerOp // their ops, in invocation order
	ok    int             // ops that completed ok
}

// byKey groups the kept calls of h by key. For a writes-only check it
// leaves out the reads but the final reads, and records in out what
// LinearizableWrites needs.
func (h *registerHistory) byKey(writesOnly bool, out *registerOut) registerKeys {
	var rk registerKeys
	n := make([]int32, len(h.keys)+1) // per key, then its start
	total := 0
	for i := range h.calls {
		op := &h.calls[i]
		if !op.kept {
			continue
		}
		if writesOnly && op.outcome == outcomeOK {
			if op.hasZxid {
				out.obs = append(out.obs, zxidObs{inv: op.inv.Index, done: op.done.Index, zxid: op.zxid, write: op.kind != registerRead, op: op})
			} else {
				out.noZxid++
			}
		}
		if writesOnly && op.kind == registerRead {
			if !h.final.isRead(op.inv, op.done) {
				out.left++
				op.kept = false
				continue
			}
			out.final++
		}
		if op.outcome == outcomeOK {
			rk.ok++
		}
		n[op.key+1]++
		total++
	}
	order := make([]int32, 0, len(h.keys))
	for k := range h.keys {
		if n[k+1] > 0 {
			order = append(order, int32(k))
		}
		n[k+1] += n[k]
	}
	slices.SortFunc(order, func(a, b int32) int {
		switch {
		case h.keys[a] < h.keys[b]:
			return -1
		case h.keys[a] > h.keys[b]:
			return 1
		}
		return 0
	})
	all := make([]*registerOp, total)
	next := n[:len(h.keys)]
	for i := range h.calls {
		if op := &h.calls[i]; op.kept {
			all[next[op.key]] = op
			next[op.key]++
		}
	}
	// next[k] is now key k's end, and key k-1's end its start.
	rk.names = make([]string, len(order))
	rk.ops = make([][]*registerOp, len(order))
	for i, k := range order {
		start := int32(0)
		if k > 0 {
			start = next[k-1]
		}
		rk.names[i], rk.ops[i] = h.keys[k], all[start:next[k]:next[k]]
	}
	return rk
}
