package history

import (
	"context"
	"fmt"
)

// A Call is an invocation together with its completion.
type Call struct {
	Invoke Op
	// Completion is the op that completed Invoke, or nil if the history
	// ended first (the run crashed or stopped): such a call is incomplete
	// and checkers treat it like Info.
	Completion *Op
}

// Outcome returns the completion's type, or Info for an incomplete call.
func (c Call) Outcome() Type {
	if c.Completion == nil {
		return Info
	}
	return c.Completion.Type
}

// Incomplete reports whether the history ended before the call completed.
func (c Call) Incomplete() bool { return c.Completion == nil }

// Pair matches each invocation with the completion of the same process that
// follows it, and returns the calls in invocation order; the Nemesis's and
// the Observer's calls are included. A call still pending at the end of the history is returned
// with a nil Completion.
//
// Pair checks that each op is valid (see Op.Validate) and that each process is
// sequential: a
// completion with no pending invocation, an invocation while the process has
// one pending, a completion whose f or key differs from its invocation's, a
// completion earlier than its invocation, and an invocation by a client
// process that an Info completion has retired are errors naming the op's
// index. Nemesis and Observer are never retired.
func Pair(ops []Op) ([]Call, error) { return PairContext(context.Background(), ops) }

// PairContext is Pair, giving up once ctx is done: it looks at ctx every
// few thousand ops and then returns an error wrapping context.Cause(ctx).
func PairContext(ctx context.Context, ops []Op) ([]Call, error) {
	var (
		calls   []Call
		pending = make(map[Process]int)   // process → index into calls
		retired = make(map[Process]int64) // process → index of its info completion
	)
	for i := range ops {
		if i&(1<<12-1) == 0 && ctx.Err() != nil {
			return nil, fmt.Errorf("pair the history's ops: stopped at op %d of %d: %w", i, len(ops), context.Cause(ctx))
		}
		op := &ops[i]
		if err := op.Validate(); err != nil {
			return nil, fmt.Errorf("op index %d: %w", op.Index, err)
		}
		if op.Type == Invoke {
			if at, ok := pending[op.Process]; ok {
				return nil, fmt.Errorf("op index %d: process %s invokes %q while its invocation at index %d is still pending; a process must wait for each op to complete", op.Index, op.Process, op.F, calls[at].Invoke.Index)
			}
			if at, ok := retired[op.Process]; ok {
				return nil, fmt.Errorf("op index %d: process %s invokes %q but was retired by its info completion at index %d; a client must continue as a new process after an info", op.Index, op.Process, op.F, at)
			}
			pending[op.Process] = len(calls)
			calls = append(calls, Call{Invoke: *op})
			continue
		}
		at, ok := pending[op.Process]
		if !ok {
			return nil, fmt.Errorf("op index %d: process %s completes %q (%s) with no pending invocation", op.Index, op.Process, op.F, op.Type)
		}
		inv := calls[at].Invoke
		switch {
		case op.F != inv.F:
			return nil, fmt.Errorf("op index %d: process %s completes f %q but invoked %q at index %d", op.Index, op.Process, op.F, inv.F, inv.Index)
		case op.Key != inv.Key:
			return nil, fmt.Errorf("op index %d: process %s completes key %q but invoked key %q at index %d", op.Index, op.Process, op.Key, inv.Key, inv.Index)
		case op.Time < inv.Time:
			return nil, fmt.Errorf("op index %d: process %s completes at time %d, before its invocation at index %d (time %d)", op.Index, op.Process, op.Time, inv.Index, inv.Time)
		}
		c := *op
		calls[at].Completion = &c
		delete(pending, op.Process)
		if op.Type == Info && op.Process.IsClient() {
			retired[op.Process] = op.Index
		}
	}
	return calls, nil
}
