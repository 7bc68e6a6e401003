package checker

import (
	"fmt"
	"sync/atomic"

	"github.com/anishathalye/porcupine"
	"github.com/faultline/faultline/history"
)

// registerState is a znode as the model sees it: its value and data version,
// plus two counters the pruning rules use (see register_prune.go). Both
// counters are determined by which ops are linearized, so they never split a
// state the checker would otherwise have merged.
type registerState struct {
	value   int64
	version int64
	reads   int32 // OK reads of the current version linearized so far
	done    int32 // ops with a finite return linearized so far
}

// stepRegister applies op to s, the ZooKeeper way: every successful set adds
// one to the data version. It reports whether op could have happened in
// state s with the outcome the history records.
func stepRegister(s registerState, op *registerOp) (bool, registerState) {
	if op.finite {
		s.done++
	}
	switch op.outcome {
	case outcomeOK:
		switch op.kind {
		case registerRead:
			if s.value != op.outValue || s.version != op.outVersion {
				return false, s
			}
			s.reads++
			return true, s
		case registerCAS:
			if s.version != op.expected {
				return false, s
			}
		}
		if op.outVersion != s.version+1 {
			return false, s
		}
		return true, registerState{value: op.value, version: s.version + 1, done: s.done}
	case outcomeBadVersion:
		return s.version != op.expected, s
	}
	// Unknown outcome: a write applies; a cas applies iff the version matches.
	applies := op.kind == registerWrite || s.version == op.expected
	if op.unobserved && s.done < op.facts.finite {
		// While ops with a finite return remain, an op whose value nobody
		// read may only take effect where it makes a version no op
		// reported, after every read of the version it replaces.
		// Elsewhere it either did not happen or happened at the end.
		if !applies || op.facts.isKnown(s.version+1) || s.reads != op.facts.readsOf(s.version) {
			return false, s
		}
	}
	if !applies {
		return true, s
	}
	return true, registerState{value: op.value, version: s.version + 1, done: s.done}
}

// registerModel is the porcupine model of one znode, a versioned register
// whose initial state is value 0, version 0 (the workload's setup creates it
// so). If stop is non-nil and becomes true, every step fails so that a
// cancelled check ends quickly; the caller must then discard the verdict.
func registerModel(stop *atomic.Bool) porcupine.Model {
	step := func(state, input, _ any) (bool, any) {
		if stop != nil && stop.Load() {
			return false, state
		}
		ok, next := stepRegister(state.(registerState), input.(*registerOp))
		if !ok {
			return false, state // porcupine drops it: no need to box a new state
		}
		return true, next
	}
	return porcupine.Model{
		Init: func() any { return registerState{} },
		Step: step,
		Hash: func(state any) uint64 {
			s := state.(registerState)
			return uint64(s.value)*0x9e3779b97f4a7c15 ^ uint64(s.version)*0xc2b2ae3d27d4eb4f
		},
		DescribeOperation: func(input, _ any) string { return input.(*registerOp).String() },
		DescribeState: func(state any) string {
			s := state.(registerState)
			return fmt.Sprintf("value %d, version %d", s.value, s.version)
		},
		DescribeOperationMetadata: func(meta any) string {
			op, ok := meta.(*registerOp)
			if !ok {
				return ""
			}
			return op.where()
		},
	}
}

// String describes op as its outcome shows it, e.g. "write(17) → version 4".
func (op *registerOp) String() string {
	var s string
	switch op.kind {
	case registerRead:
		s = "read"
	case registerWrite:
		s = fmt.Sprintf("write(%d)", op.value)
	case registerCAS:
		s = fmt.Sprintf("cas(version %d → %d)", op.expected, op.value)
	}
	switch op.outcome {
	case outcomeOK:
		if op.kind == registerRead {
			return fmt.Sprintf("%s → %d at version %d", s, op.outValue, op.outVersion)
		}
		return fmt.Sprintf("%s → version %d", s, op.outVersion)
	case outcomeBadVersion:
		return s + " → bad-version"
	}
	return s + " → ?"
}

// where locates op in the history, e.g. "process 3, index 12 → 15 (info)".
func (op *registerOp) where() string {
	inv := op.inv
	if op.done == nil {
		return fmt.Sprintf("process %s, index %d, never completed", inv.Process, inv.Index)
	}
	done := op.done
	return fmt.Sprintf("process %s, index %d → %d (%s)", inv.Process, inv.Index, done.Index, done.Type)
}

// historyOps returns op's invocation and completion, if any.
func (op *registerOp) historyOps() []history.Op {
	if op.done == nil {
		return []history.Op{*op.inv}
	}
	return []history.Op{*op.inv, *op.done}
}
