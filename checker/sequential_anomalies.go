package checker

import (
	"fmt"
	"slices"

	"github.com/faultline/faultline/history"
)

// seqKind is a kind of anomaly the sequential checker reports; any of them
// makes a history invalid.
type seqKind uint8

// The kinds, in the order results list them.
const (
	seqReadWentBack seqKind = iota
	seqMissedOwnWrite
	seqWriteWentBack
	seqVersionFork
	seqPhantomValue
	seqZxidOrder
	seqKinds // how many kinds there are
)

// String returns the kind's name in results, e.g. "read-went-back".
func (k seqKind) String() string {
	switch k {
	case seqReadWentBack:
		return "read-went-back"
	case seqMissedOwnWrite:
		return "missed-own-write"
	case seqWriteWentBack:
		return "write-went-back"
	case seqVersionFork:
		return "version-fork"
	case seqPhantomValue:
		return "phantom-value"
	case seqZxidOrder:
		return "zxid-order"
	}
	return "unknown"
}

// maxSeqExamples is how many anomalies of each kind a result shows.
const maxSeqExamples = 10

// seqFindings counts the anomalies found and keeps the first few of each
// kind as examples.
type seqFindings struct {
	counts   [seqKinds]int
	examples [seqKinds][]Anomaly
}

// note counts an anomaly of kind k and reports whether to keep it as an
// example (then the caller calls add).
func (f *seqFindings) note(k seqKind) bool {
	f.counts[k]++
	return f.counts[k] <= maxSeqExamples
}

// add keeps an example.
func (f *seqFindings) add(k seqKind, a Anomaly) {
	a.Kind = k.String()
	f.examples[k] = append(f.examples[k], a)
}

func (f *seqFindings) total() int {
	n := 0
	for _, c := range f.counts {
		n += c
	}
	return n
}

// anomalies lists the examples, kind by kind.
func (f *seqFindings) anomalies() []Anomaly {
	var out []Anomaly
	for _, ex := range f.examples {
		out = append(out, ex...)
	}
	return out
}

// example makes an anomaly on call at's key, shown at its completion, with
// the ops of the calls involved (indexes into c.calls; -1 for none).
func (c *seqCheck) example(at int32, msg string, involved ...int32) Anomaly {
	a := Anomaly{Message: msg}
	if at >= 0 {
		call := &c.calls[at]
		a.Key = c.keys[call.key]
		pos := call.inv
		if call.done >= 0 {
			pos = call.done
		}
		op := c.ops[pos]
		a.At = &op
		involved = append(involved, at)
	}
	seen := map[int32]bool{}
	for _, i := range involved {
		if i < 0 || seen[i] {
			continue
		}
		seen[i] = true
		call := &c.calls[i]
		a.Ops = append(a.Ops, c.ops[call.inv])
		if call.done >= 0 {
			a.Ops = append(a.Ops, c.ops[call.done])
		}
	}
	slices.SortFunc(a.Ops, func(x, y history.Op) int { return int(x.Index - y.Index) })
	return a
}

// describe says what a call did and where it is, e.g. "process 3's read
// of r1 → 17 at version 4, zxid 4294967313 (index 12 → 15)".
func (c *seqCheck) describe(i int32) string {
	if i < 0 {
		return "the znode's creation (value 0 at version 0)"
	}
	call := &c.calls[i]
	inv := &c.ops[call.inv]
	var what string
	switch call.kind {
	case registerRead:
		what = fmt.Sprintf("read of %s", inv.Key)
		if call.outcome == seqOK {
			what += fmt.Sprintf(" → %d at version %d, zxid %d", call.value, call.version, call.zxid)
		}
	default:
		what = fmt.Sprintf("%s(%d) on %s", inv.F, call.value, inv.Key)
		switch call.outcome {
		case seqOK:
			what += fmt.Sprintf(" → version %d, zxid %d", call.version, call.zxid)
		case seqRevealed:
			what += fmt.Sprintf(" (%s, read at version %d, zxid %d)", c.ending(call), call.version, call.zxid)
		default:
			what += " (" + c.ending(call) + ")"
		}
	}
	where := fmt.Sprintf("index %d, never completed", inv.Index)
	if call.done >= 0 {
		where = fmt.Sprintf("index %d → %d", inv.Index, c.ops[call.done].Index)
	}
	return fmt.Sprintf("process %s's %s (%s)", inv.Process, what, where)
}

// ending says how a call that is not ok ended, e.g. "fail: connection-loss".
func (c *seqCheck) ending(call *seqCall) string {
	if call.done < 0 {
		return "never completed"
	}
	op := &c.ops[call.done]
	if op.Error == "" {
		return string(op.Type)
	}
	return string(op.Type) + ": " + op.Error
}
