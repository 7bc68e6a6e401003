package checker

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/faultline/faultline/history"
)

// This file is how the register checks (Linearizable and
// LinearizableWrites) read a history. One pass over the ops pairs each
// invocation with its completion, without copying them, and groups the
// client calls by key as the positions of their ops; it decodes no value.
// Each key's calls are decoded into registerOps only when the key is
// checked, by the worker that checks it (decodeKey), so the decoded ops of
// one key at a time per worker are in memory, and the decoding is shared
// among the workers.
//
// A history that is not well formed, found by the pass or by a worker,
// takes the long way instead (readRegisterCalls: history.PairContext, then
// the calls decoded one by one in invocation order), so that what is wrong
// is said exactly as before, in Pair's words or those of the first call
// that does not decode.

// regCall is a client call as the pass records it: the positions of its
// invocation and completion in the history (-1 if it never completed).
type regCall struct{ inv, done int32 }

// registerHistory is a zk-register history as the register checks see it.
type registerHistory struct {
	hist   []history.Op // the ops the calls' positions refer to
	counts Counts
	byF    map[string]Counts
	end    int64 // later than every event: when unknown ops may still take effect
	final  finalReads

	// calls are the client calls, in invocation order; keys names their
	// keys, callKey numbers each call's key.
	calls   []regCall
	callKey []int32
	keys    []string

	nemesis []history.Call // the nemesis's calls, for the fault windows
}

// ops returns c's invocation and completion (nil if it never completed).
func (h *registerHistory) ops(c regCall) (inv, done *history.Op) {
	if c.done >= 0 {
		done = &h.hist[c.done]
	}
	return &h.hist[c.inv], done
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
// thousand ops whether to give up. It reports readMalformed as soon as an
// op is not what history.Pair accepts, or a call is not one decodeRegister
// takes for what it can tell without decoding values (f and key); the
// values themselves are decoded later (decodeKey). A value that will not
// be decoded must still be JSON, as Pair requires: the pass checks those.
func readRegisterOps(ops []history.Op, stop func() bool) (h registerHistory, status readStatus) {
	var (
		procs byID[history.Process, regProc]
		keyID = map[string]int32{}
		perF  [3]Counts // read, write, cas
	)
	h.hist = ops
	h.final = finalReads{maxWriter: -1}
	h.calls = make([]regCall, 0, len(ops)/2+1)
	h.callKey = make([]int32, 0, len(ops)/2+1)
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
			if !op.Process.IsClient() { // the nemesis, the observer
				if !validValue(op) {
					return h, readMalformed
				}
				p.pending = int32(i)
				continue
			}
			if _, ok := registerKindOf(op.F); !ok || op.Key == "" {
				return h, readMalformed
			}
			k, ok := keyID[op.Key]
			if !ok {
				k = int32(len(h.keys))
				keyID[op.Key] = k
				h.keys = append(h.keys, op.Key)
			}
			h.final.see(op)
			p.pending = int32(len(h.calls))
			h.calls = append(h.calls, regCall{inv: int32(i), done: -1})
			h.callKey = append(h.callKey, k)
			continue
		}
		if p.pending < 0 {
			return h, readMalformed
		}
		var inv *history.Op
		if !op.Process.IsClient() {
			inv = &ops[p.pending]
		} else {
			inv = &ops[h.calls[p.pending].inv]
		}
		if op.F != inv.F || op.Key != inv.Key || op.Time < inv.Time {
			return h, readMalformed
		}
		if !op.Process.IsClient() {
			if !validValue(op) {
				return h, readMalformed
			}
			if op.Process == history.Nemesis {
				h.nemesis = append(h.nemesis, history.Call{Invoke: *inv, Completion: op})
			}
		} else {
			h.calls[p.pending].done = int32(i)
			if !h.complete(h.calls[p.pending], &perF) {
				return h, readMalformed
			}
			if op.Type == history.Info {
				p.retired = true
			}
		}
		p.pending = -1
	}
	for _, p := range procs.all {
		switch {
		case p.pending < 0:
		case p.id == history.Nemesis:
			h.nemesis = append(h.nemesis, history.Call{Invoke: ops[p.pending]})
		case !p.id.IsClient(): // the observer: nothing to judge
		case !h.complete(h.calls[p.pending], &perF):
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

// complete counts call, which has just completed (or never will), and
// checks as JSON the values decodeRegister will not read. It reports false
// if one is not JSON.
func (h *registerHistory) complete(call regCall, perF *[3]Counts) bool {
	inv, done := h.ops(call)
	kind, keep := registerKeep(inv, done)
	// decodeRegister reads the invocation's value of a write or cas it
	// keeps, and the completion's of an ok call.
	if !(keep && kind != registerRead) && !validValue(inv) {
		return false
	}
	if done != nil && done.Type != history.OK && !validValue(done) {
		return false
	}
	c := history.Call{Completion: done}
	h.counts.add(c)
	perF[kind].add(c)
	return true
}

// validValue reports whether op's value is absent or JSON.
func validValue(op *history.Op) bool { return len(op.Value) == 0 || json.Valid(op.Value) }

// registerKindOf returns the kind of the call f names; false if the
// workload has none of that name.
func registerKindOf(f string) (registerKind, bool) {
	switch f {
	case "read":
		return registerRead, true
	case "write":
		return registerWrite, true
	case "cas":
		return registerCAS, true
	}
	return 0, false
}

// registerKeep says, as decodeRegister would, what kind of call inv
// invokes (f must be one the workload has) and whether the model takes it,
// without decoding values.
func registerKeep(inv, done *history.Op) (registerKind, bool) {
	kind, _ := registerKindOf(inv.F)
	return kind, keepKind(kind, done)
}

// keepKind is registerKeep for a call of kind.
func keepKind(kind registerKind, done *history.Op) bool {
	switch {
	case done == nil || done.Type == history.Info:
		return kind != registerRead
	case done.Type == history.Fail:
		return kind == registerCAS && done.Error == errBadVersion
	}
	return true
}

// readRegisterCalls is the long way to what readRegisterOps finds, from
// calls as history.Pair makes them: each call is decoded in invocation
// order. If one does not decode, it returns the error, with the calls
// before it counted and in h. stop is asked every few thousand calls
// whether to give up. The history h refers to is made of the calls' ops.
func readRegisterCalls(calls []history.Call, end int64, stop func() bool) (h registerHistory, stopped bool, err error) {
	h.end = end
	h.byF = map[string]Counts{}
	h.final = findFinalReads(calls)
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
		_, _, err := decodeRegister(&c.Invoke, c.Completion)
		if err != nil {
			return h, false, fmt.Errorf("malformed zk-register history: %v", err)
		}
		k, ok := keyID[c.Invoke.Key]
		if !ok {
			k = int32(len(h.keys))
			keyID[c.Invoke.Key] = k
			h.keys = append(h.keys, c.Invoke.Key)
		}
		rc := regCall{inv: int32(len(h.hist)), done: -1}
		h.hist = append(h.hist, c.Invoke)
		if c.Completion != nil {
			rc.done = int32(len(h.hist))
			h.hist = append(h.hist, *c.Completion)
		}
		h.calls = append(h.calls, rc)
		h.callKey = append(h.callKey, k)
	}
	return h, false, nil
}

// inModel reports whether the model takes call: a call decodeRegister
// keeps, except, for a writes-only check, a read that is not a final read.
func (h *registerHistory) inModel(call regCall, writesOnly bool) bool {
	inv, done := h.ops(call)
	kind, keep := registerKeep(inv, done)
	return h.modelTakes(inv, done, kind, keep, writesOnly)
}

// modelTakes is inModel for a call of kind that decodeRegister keeps or
// not.
func (h *registerHistory) modelTakes(inv, done *history.Op, kind registerKind, keep, writesOnly bool) bool {
	return keep && !(writesOnly && kind == registerRead && !h.final.isRead(inv, done))
}

// byKey groups the calls of h by key, as keyChecks in key order, each
// with all its calls (in invocation order) and how many of them the model
// takes. checks are the keys where it takes some; all adds those where a
// writes-only check takes none but must decode some (ok reads that are not
// final reads: their zxids count). It returns how many of the calls the
// model takes completed ok, and records in out how many reads a writes-only
// check leaves out and keeps.
func (h *registerHistory) byKey(writesOnly bool, out *registerOut) (checks, all []*keyCheck, modelOK int) {
	n := make([]int32, len(h.keys)+1) // per key, its calls; then where they start
	model := make([]int32, len(h.keys))
	decode := make([]bool, len(h.keys))
	for i, c := range h.calls {
		k := h.callKey[i]
		n[k+1]++
		if !h.inModel(c, writesOnly) {
			if writesOnly && h.hist[c.inv].F == "read" && c.done >= 0 && h.hist[c.done].Type == history.OK {
				out.left++
				decode[k] = true
			}
			continue
		}
		model[k]++
		if c.done >= 0 && h.hist[c.done].Type == history.OK {
			modelOK++
			if writesOnly && h.hist[c.inv].F == "read" {
				out.final++
			}
		}
	}
	for k := range h.keys {
		n[k+1] += n[k]
	}
	grouped := make([]regCall, len(h.calls))
	next := n[:len(h.keys)]
	for i, c := range h.calls {
		k := h.callKey[i]
		grouped[next[k]] = c
		next[k]++
	}
	// next[k] is now key k's end, and key k-1's end its start.
	for k, name := range h.keys {
		if model[k] == 0 && !decode[k] {
			continue
		}
		start := int32(0)
		if k > 0 {
			start = next[k-1]
		}
		kc := &keyCheck{key: name, calls: grouped[start:next[k]:next[k]], model: int(model[k])}
		all = append(all, kc)
		if kc.model > 0 {
			checks = append(checks, kc)
		}
	}
	slices.SortFunc(checks, func(a, b *keyCheck) int {
		switch {
		case a.key < b.key:
			return -1
		case a.key > b.key:
			return 1
		}
		return 0
	})
	return checks, all, modelOK
}

// decodeKey decodes kc's calls into kc.rops, the ops the model takes, and,
// for a writes-only check, records in kc.obs those of every ok call that
// recorded a zxid (kc.noZxid counts the others). It reports false if a
// call does not decode (or not as registerKeep said), or stop said to give
// up (it is asked every few thousand calls).
func (h *registerHistory) decodeKey(kc *keyCheck, writesOnly bool, stop func() bool) bool {
	kc.rops = make([]registerOp, 0, kc.model)
	for i, c := range kc.calls {
		if i&(1<<12-1) == 0 && stop() {
			return false
		}
		inv, done := h.ops(c)
		f, keep, err := decodeRegister(inv, done)
		if err != nil || keep != keepKind(f.kind, done) {
			return false
		}
		if writesOnly && keep && f.outcome == outcomeOK {
			if f.hasZxid {
				kc.obs = append(kc.obs, zxidObs{inv: inv.Index, done: done.Index, invPos: c.inv, donePos: c.done, zxid: f.zxid, write: f.kind != registerRead})
			} else {
				kc.noZxid++
			}
		}
		if h.modelTakes(inv, done, f.kind, keep, writesOnly) {
			kc.rops = append(kc.rops, registerOp{inv: inv, done: done, registerFields: f, kept: true})
		}
	}
	return len(kc.rops) == kc.model
}
