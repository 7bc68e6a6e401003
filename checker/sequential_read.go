package checker

import (
	"context"
	"fmt"
	"time"

	"github.com/faultline/faultline/history"
)

// This file is the sequential checker's pass over the history: it pairs
// each invocation with its completion (as history.Pair does, without copying
// the ops) and decodes every client call into a seqCall. The facts and the
// sessions are judged afterwards, in sequential_judge.go.

// seqCheck is one run of Sequential.Check.
type seqCheck struct {
	ctx      context.Context
	deadline time.Time // zero for none
	ops      []history.Op

	calls []seqCall // client calls, in invocation order
	keys  []string  // key names by id
	keyID map[string]int32
	// keyEnts[k]:keyEnts[k+1] are key k's entries in seqJudge.ents.
	keyEnts  []int32
	procs    byID[history.Process, seqProc]
	sessions int32 // client processes, each a session
	final    finalReads

	counts Counts
	perF   [3]Counts // read, write, cas

	// For the details.
	reads, finalReads, staleReads, revealed int
	maxStaleness                            int64
	acked                                   []int64 // per key: the highest version an ok write or cas made so far

	withZxid int   // ok ops that record a zxid
	noZxid   int   // ok ops that do not, when none does
	firstNo  int32 // the first ok op without one; -1 if none

	found seqFindings
}

// registerFs are the fs of the zk-register workload, as seqCheck.perF
// counts them.
var registerFs = [3]string{"read", "write", "cas"}

// seqProc is one client process (one session), or the nemesis.
type seqProc struct {
	id      history.Process
	session int32 // its session's number, from 1 in order of first appearance; 0 until it invokes
	pending int32 // its pending call, an index into seqCheck.calls (the nemesis's: a position in the history); -1 if none
	retired int32 // position of the info completion that retired it; -1 if none
}

// seqCall is one client call, decoded.
type seqCall struct {
	inv, done int32 // positions of the invocation and completion in the history; done is -1 if it never completed
	session   int32
	key       int32
	kind      registerKind
	outcome   seqOutcome
	final     bool  // a final read
	flagged   bool  // a read that returned no state a write made (version-fork, phantom-value)
	value     int64 // write, cas: the value written; ok read: the value read
	version   int64 // ok: the version read or made; a revealed unknown write: the version a read saw
	zxid      int64 // likewise, its zxid
	acked     int64 // read: the highest version an ok write or cas on the key had made when it was invoked
	ent       int32 // ok: its version's entry in seqJudge.ents; revealed: the read that revealed it
}

// seqOutcome is what is known of how a call ended.
type seqOutcome uint8

const (
	seqOK       seqOutcome = iota
	seqFailed              // certainly did not happen: fail, bad-version included
	seqUnknown             // info or incomplete
	seqRevealed            // an unknown write or cas that a read revealed
	seqIgnored             // a read that did not complete ok; a failed write whose value cannot be read
)

// read makes the pass over the history.
func (c *seqCheck) read() error {
	c.keyID = map[string]int32{}
	c.firstNo = -1
	c.final.maxWriter = -1
	c.calls = make([]seqCall, 0, len(c.ops)/2+1)
	for i := range c.ops {
		if i&(1<<14-1) == 0 && c.stopped() {
			return errSeqStopped
		}
		pos := int32(i)
		op := &c.ops[i]
		if !plainValid(op) {
			if err := validateFields(op); err != nil {
				return c.pairingError(fmt.Errorf("op index %d: %w", op.Index, err))
			}
		}
		p := c.proc(op.Process)
		if op.Type == history.Invoke {
			switch {
			case p.pending >= 0:
				return c.pairingError(fmt.Errorf("op index %d: process %s invokes %q while its invocation at index %d is still pending", op.Index, op.Process, op.F, c.ops[c.pendingPos(p)].Index))
			case p.retired >= 0:
				return c.pairingError(fmt.Errorf("op index %d: process %s invokes %q but was retired by its info completion at index %d", op.Index, op.Process, op.F, c.ops[p.retired].Index))
			}
			if !op.Process.IsClient() {
				p.pending = pos // the nemesis's or observer's pending invocation, by position
				if err := validJSON(op); err != nil {
					return err
				}
				continue
			}
			p.pending = int32(len(c.calls))
			c.invoke(pos, p)
			continue
		}
		if p.pending < 0 {
			return c.pairingError(fmt.Errorf("op index %d: process %s completes %q (%s) with no pending invocation", op.Index, op.Process, op.F, op.Type))
		}
		inv := &c.ops[c.pendingPos(p)]
		if op.F != inv.F || op.Key != inv.Key || op.Time < inv.Time {
			return c.pairingError(fmt.Errorf("op index %d: process %s completes %s %q but invoked %s %q at index %d (time %d)", op.Index, op.Process, op.F, op.Key, inv.F, inv.Key, inv.Index, inv.Time))
		}
		if !op.Process.IsClient() {
			if err := validJSON(op); err != nil {
				return err
			}
		} else if err := c.complete(p.pending, pos); err != nil {
			return err
		}
		p.pending = -1
		if op.Type == history.Info && op.Process.IsClient() {
			p.retired = pos
		}
	}
	for _, p := range c.procs.all {
		if p.pending >= 0 && p.id.IsClient() {
			if err := c.complete(p.pending, -1); err != nil {
				return err
			}
		}
	}
	for i := range c.calls {
		call := &c.calls[i]
		if call.kind == registerRead && call.outcome == seqOK && call.done >= 0 {
			call.final = c.final.isRead(&c.ops[call.inv], &c.ops[call.done])
			if call.final {
				c.finalReads++
			}
		}
	}
	switch {
	case c.noZxid > 0 && c.withZxid > 0:
		op := &c.ops[c.firstNo]
		return fmt.Errorf("malformed zk-register history: op index %d: ok %s has no \"zxid\", though %d other ok ops record one; every ok op records the zxid ZooKeeper returned", op.Index, op.F, c.withZxid)
	case c.withZxid > 0:
		c.noZxid = 0
	}
	return nil
}

// plainValid reports whether validateFields would find nothing wrong with
// op, without copying it (a fast path: false means ask validateFields).
func plainValid(op *history.Op) bool {
	return op.Index >= 0 && op.Time >= 0 && op.Process >= history.Observer && op.F != "" &&
		(op.Type == history.Invoke || op.Type == history.OK || op.Type == history.Fail || op.Type == history.Info)
}

// pendingPos returns the position in the history of p's pending
// invocation: the nemesis's and the observer's pending is a position, a
// client's a call.
func (c *seqCheck) pendingPos(p *seqProc) int32 {
	if !p.id.IsClient() {
		return p.pending
	}
	return c.calls[p.pending].inv
}

// proc returns process id's state.
func (c *seqCheck) proc(id history.Process) *seqProc {
	return c.procs.get(id, 1<<16, func() *seqProc {
		return &seqProc{id: id, pending: -1, retired: -1}
	})
}

// invoke records a client invocation, at pos, by p.
func (c *seqCheck) invoke(pos int32, p *seqProc) {
	op := &c.ops[pos]
	k, ok := c.keyID[op.Key]
	if !ok {
		k = int32(len(c.keys))
		c.keyID[op.Key] = k
		c.keys = append(c.keys, op.Key)
		c.acked = append(c.acked, 0)
	}
	call := seqCall{inv: pos, done: -1, session: c.sessionOf(p), key: k, acked: c.acked[k]}
	if op.F != "read" {
		c.final.see(op)
	}
	c.calls = append(c.calls, call)
}

// sessionOf returns p's session number, giving it one on first use.
func (c *seqCheck) sessionOf(p *seqProc) int32 {
	if p.session == 0 {
		c.sessions++
		p.session = c.sessions
	}
	return p.session
}

// complete records how a call ended: done is the position of its
// completion, or -1 if it never completed.
func (c *seqCheck) complete(at, done int32) error {
	call := &c.calls[at]
	inv := &c.ops[call.inv]
	var dop *history.Op
	if done >= 0 {
		dop = &c.ops[done]
	}
	call.done = done
	c.count(inv.F, dop)
	f, keep, err := decodeRegister(inv, dop)
	if err != nil {
		return fmt.Errorf("malformed zk-register history: %v", err)
	}
	call.kind = f.kind
	switch {
	case !keep && f.kind == registerRead:
		call.outcome = seqIgnored // a read that returned nothing
		return nil
	case f.kind == registerRead && f.outcome == outcomeOK && f.outVersion < 0:
		// The znode was not there (version -1): a state before the key's
		// create, which the history does not record, so no zxid bounds
		// it here; the linearizability checks judge it.
		call.outcome = seqIgnored
		return nil
	case !keep || f.outcome == outcomeBadVersion:
		// A failed write's value matters if a read returns it.
		call.outcome = seqIgnored
		if v, err := parseRegisterValue(inv); err == nil && v.hasValue {
			call.outcome, call.value = seqFailed, v.value
		}
		return nil
	case f.outcome == outcomeUnknown:
		call.outcome = seqUnknown
		call.value = f.value
		return nil
	}
	call.outcome = seqOK
	call.version, call.zxid = f.outVersion, f.zxid
	if f.hasZxid {
		c.withZxid++
	} else {
		if c.firstNo < 0 {
			c.firstNo = done
		}
		c.noZxid++
	}
	if f.kind == registerRead {
		call.value = f.outValue
		c.reads++
		if behind := call.acked - call.version; behind > 0 {
			c.staleReads++
			c.maxStaleness = max(c.maxStaleness, behind)
		}
		return nil
	}
	call.value = f.value
	c.acked[call.key] = max(c.acked[call.key], f.outVersion)
	return nil
}

// count counts a client call by f and outcome; done is nil if it never
// completed.
func (c *seqCheck) count(f string, done *history.Op) {
	i := 0
	switch f {
	case "write":
		i = 1
	case "cas":
		i = 2
	}
	for _, n := range []*Counts{&c.counts, &c.perF[i]} {
		n.Calls++
		switch {
		case done == nil:
			n.Incomplete++
		case done.Type == history.OK:
			n.OK++
		case done.Type == history.Fail:
			n.Fail++
		default:
			n.Info++
		}
	}
}

// stopped reports whether the check must stop: ctx is done or the timeout
// has passed.
func (c *seqCheck) stopped() bool {
	return c.ctx.Err() != nil || (!c.deadline.IsZero() && time.Now().After(c.deadline))
}

// pairingError reports a history whose ops do not pair up into calls, in
// history.Pair's words when Pair finds something wrong.
func (c *seqCheck) pairingError(mine error) error {
	if _, err := history.Pair(c.ops); err != nil {
		mine = err
	}
	return fmt.Errorf("malformed history: %w", mine)
}
