package checker

import (
	"maps"

	"github.com/anishathalye/porcupine"
)

// Ops whose outcome is unknown (info, or never completed) may take effect at
// any time after their invocation, so the model must consider every place
// they could go. Porcupine tries them all, and with many of them open at once
// (a real run under faults has dozens per key) its search explodes: it tries
// every subset of them before each later op. This pass, run per key, uses
// three facts that hold when written values are unique, to cut the search
// without losing any valid linearization:
//
//  1. An unknown write or cas whose value some OK read returned took effect
//     before that read completed: its return time becomes the earliest such
//     read's completion instead of infinity.
//  2. An unknown op whose value no read returned ("unobserved") cannot have
//     made a version that an OK op reports, since that op would have seen its
//     value: while ops with a finite return remain, the model lets it take
//     effect only to make a version nobody reported, and only after every
//     read of the version it replaces. Anywhere else it either did not happen
//     or happened after everything else, which constrains nothing.
//  3. An unobserved cas whose expected version + 1 is a version an OK op
//     reports can never have taken effect: it is dropped.
//
// When values are not unique on a key, none of this holds and the key is
// checked without pruning.

// keyFacts are what the pruning rules need to know about one key's history.
type keyFacts struct {
	known  map[int64]struct{} // versions OK ops report (read, or made)
	reads  map[int64]int32    // number of OK reads of each version
	finite int32              // ops with a finite return time
}

func (f *keyFacts) isKnown(version int64) bool {
	_, ok := f.known[version]
	return ok
}

func (f *keyFacts) readsOf(version int64) int32 { return f.reads[version] }

// PruneStats counts what the pruning did, for the result's details.
type PruneStats struct {
	Observed   int `json:"observed"`   // rule 1: return time bounded by a read
	Unobserved int `json:"unobserved"` // rule 2: kept, restricted
	Dropped    int `json:"dropped"`    // rule 3
	Unpruned   int `json:"unpruned"`   // on keys without unique values
}

// add adds o's counts to s's.
func (s *PruneStats) add(o PruneStats) {
	s.Observed += o.Observed
	s.Unobserved += o.Unobserved
	s.Dropped += o.Dropped
	s.Unpruned += o.Unpruned
}

// pruneScratch holds the maps the pruning pass fills for one key at a
// time, kept from key to key so that checking a thousand keys does not
// make a thousand sets of maps. A key's facts outlive the pass only if it
// has unobserved ops, which consult them during the search: then they are
// copied.
type pruneScratch struct {
	values    map[int64]struct{} // uniqueValues: the values written
	known     map[int64]struct{} // keyFacts.known
	reads     map[int64]int32    // keyFacts.reads
	firstSeen map[int64]int64    // value → earliest return of an OK read of it
	procs     map[int]int        // process → zero-based client id, for the visualization
}

// reuse empties m for the next key, or makes a new map if it is big (a
// map keeps its size, and clearing it takes time in proportion).
func reuse[K comparable, V any](m *map[K]V) {
	if *m == nil || len(*m) > 1<<12 {
		*m = map[K]V{}
		return
	}
	clear(*m)
}

// uniqueValues reports whether every value written on a key is distinct from
// the others and from the initial 0.
func (sc *pruneScratch) uniqueValues(ops []registerOp) bool {
	reuse(&sc.values)
	seen := sc.values
	seen[0] = struct{}{}
	for i := range ops {
		op := &ops[i]
		if op.kind == registerRead {
			continue
		}
		if _, dup := seen[op.value]; dup {
			return false
		}
		seen[op.value] = struct{}{}
	}
	return true
}

// prepare readies one key's ops for porcupine (see operations): it sets
// each op's return time and client id and applies the rules above. end is a
// time later than every event in the history: the return time of ops that
// may have taken effect at any time. If prune is false, unknown ops simply
// stay open until end, as in the textbook treatment. It returns how many
// ops porcupine will take: those rule 3 drops are no longer kept.
//
// stop, if not nil, is asked every few thousand ops whether to give up;
// then prepare returns false.
func (sc *pruneScratch) prepare(ops []registerOp, end int64, prune bool, stats *PruneStats, stop func() bool) (n int, ok bool) {
	reuse(&sc.known)
	reuse(&sc.reads)
	reuse(&sc.firstSeen)
	reuse(&sc.procs)
	facts := &keyFacts{known: sc.known, reads: sc.reads}
	firstSeen := sc.firstSeen
	for i := range ops {
		op := &ops[i]
		if op.outcome != outcomeOK {
			continue
		}
		facts.known[op.outVersion] = struct{}{}
		if op.kind == registerRead {
			facts.reads[op.outVersion]++
			ret := op.done.Time
			if t, ok := firstSeen[op.outValue]; !ok || ret < t {
				firstSeen[op.outValue] = ret
			}
		}
	}

	procs := sc.procs
	unobserved := false
	for i := range ops {
		op := &ops[i]
		if i&(1<<12-1) == 0 && stop != nil && stop() {
			return 0, false
		}
		call, ret := op.inv.Time, end
		if op.outcome != outcomeUnknown {
			ret = op.done.Time
		} else {
			switch seen, ok := firstSeen[op.value]; {
			case !prune:
				stats.Unpruned++
			case ok && seen >= call:
				ret = seen // rule 1
				stats.Observed++
			case op.kind == registerCAS && facts.isKnown(op.expected+1):
				stats.Dropped++ // rule 3
				op.kept = false
				continue
			default:
				// Rule 2. (A read that saw the value before the op was
				// even invoked makes the key invalid whatever this op
				// does, so it is treated as unobserved too.)
				op.unobserved = true
				op.facts = facts
				unobserved = true
				stats.Unobserved++
			}
		}
		op.ret = ret
		op.finite = ret != end
		if op.finite {
			facts.finite++
		}
		id, ok := procs[int(op.inv.Process)]
		if !ok {
			id = len(procs)
			procs[int(op.inv.Process)] = id
		}
		op.client = int32(id)
		n++
	}
	if unobserved {
		// The search consults them; the scratch maps go on to the next key.
		facts.known, facts.reads = maps.Clone(facts.known), maps.Clone(facts.reads)
	}
	return n, true
}

// operations turns n ops that prepare readied into porcupine operations.
// They take memory for every op, so a key's are made only when it is
// checked.
func operations(ops []registerOp, n int) []porcupine.Operation {
	out := make([]porcupine.Operation, 0, n)
	for i := range ops {
		op := &ops[i]
		if !op.kept {
			continue
		}
		out = append(out, porcupine.Operation{
			ClientId: int(op.client),
			Input:    op,
			Call:     op.inv.Time,
			Output:   op,
			Return:   op.ret,
			Metadata: op,
		})
	}
	return out
}
