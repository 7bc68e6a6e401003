package checker

import (
	"fmt"
	"slices"
	"sort"

	"github.com/anishathalye/porcupine"
)

// contextOps is how many ops the checker shows around the point where a key
// stops being linearizable: the last few it could linearize, and the ops
// concurrent with the first one it could not.
const (
	contextBefore     = 3
	contextConcurrent = 6
)

// stuckPoint is where the longest partial linearization of a key ends.
type stuckPoint struct {
	linearized []int // ids of the longest partial linearization, in order
	blocker    int   // id of the first op (by return time) outside it
	state      registerState
}

// findStuckPoint uses the longest partial linearization porcupine found to
// locate the first op that cannot be linearized: the op outside it that
// returned first, since every op that returned earlier is inside it.
func findStuckPoint(ops []porcupine.Operation, info porcupine.LinearizationInfo) stuckPoint {
	var longest []int
	if partials := info.PartialLinearizations(); len(partials) > 0 {
		// Porcupine lists them in no fixed order: of the longest, take
		// the first in id order, so that the same history always reads
		// the same.
		for _, p := range partials[0] {
			if len(p) > len(longest) || (len(p) == len(longest) && slices.Compare(p, longest) < 0) {
				longest = p
			}
		}
	}
	in := make([]bool, len(ops))
	sp := stuckPoint{linearized: longest, blocker: -1}
	for _, id := range longest {
		in[id] = true
		_, sp.state = stepRegister(sp.state, ops[id].Input.(*registerOp))
	}
	for id, op := range ops {
		if in[id] {
			continue
		}
		if sp.blocker < 0 || op.Return < ops[sp.blocker].Return ||
			(op.Return == ops[sp.blocker].Return && op.Call < ops[sp.blocker].Call) {
			sp.blocker = id
		}
	}
	return sp
}

// nonlinearizableAnomaly describes why key's ops are not linearizable.
func nonlinearizableAnomaly(key string, ops []porcupine.Operation, sp stuckPoint) Anomaly {
	a := Anomaly{Kind: "nonlinearizable", Key: key}
	if sp.blocker < 0 { // cannot happen for an illegal key; say so rather than panic
		a.Message = fmt.Sprintf("key %s is not linearizable", key)
		return a
	}
	b := ops[sp.blocker].Input.(*registerOp)
	at := *b.inv
	if b.done != nil {
		at = *b.done
	}
	a.At = &at
	a.Message = fmt.Sprintf("key %s is not linearizable: at most %d of its %d ops linearize "+
		"(the register is then at value %d, version %d), and no order of the rest can next take %s [%s]",
		key, len(sp.linearized), len(ops), sp.state.value, sp.state.version, b, b.where())

	chosen := map[int]bool{sp.blocker: true}
	from := max(0, len(sp.linearized)-contextBefore)
	for _, id := range sp.linearized[from:] {
		chosen[id] = true
	}
	// The ops concurrent with the blocker, nearest invocation first.
	var concurrent []int
	bop := ops[sp.blocker]
	for id, op := range ops {
		if !chosen[id] && op.Call <= bop.Return && op.Return >= bop.Call {
			concurrent = append(concurrent, id)
		}
	}
	sort.Slice(concurrent, func(i, j int) bool {
		return abs(ops[concurrent[i]].Call-bop.Call) < abs(ops[concurrent[j]].Call-bop.Call)
	})
	for _, id := range concurrent[:min(len(concurrent), contextConcurrent)] {
		chosen[id] = true
	}
	for id := range chosen {
		a.Ops = append(a.Ops, ops[id].Input.(*registerOp).historyOps()...)
	}
	sort.Slice(a.Ops, func(i, j int) bool { return a.Ops[i].Index < a.Ops[j].Index })
	return a
}

// stuckAnnotation marks the first op that cannot be linearized.
func stuckAnnotation(ops []porcupine.Operation, sp stuckPoint) []porcupine.Annotation {
	if sp.blocker < 0 {
		return nil
	}
	b := ops[sp.blocker]
	return []porcupine.Annotation{{
		Tag:             "checker",
		Start:           b.Call,
		End:             b.Return,
		Description:     "first op that cannot be linearized",
		Details:         b.Input.(*registerOp).String() + " [" + b.Input.(*registerOp).where() + "]",
		BackgroundColor: "#ffc107",
	}}
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
