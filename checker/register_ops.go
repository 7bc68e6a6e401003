package checker

import (
	"encoding/json"
	"fmt"

	"github.com/faultline/faultline/history"
)

// The zk-register workload's operations, as the model sees them.
type registerKind uint8

const (
	registerRead registerKind = iota
	registerWrite
	registerCAS
)

// registerOutcome is what the model knows about how an op ended.
type registerOutcome uint8

const (
	// outcomeOK: the op happened and its completion says what it saw.
	outcomeOK registerOutcome = iota
	// outcomeBadVersion: a cas ZooKeeper evaluated whose expected version
	// did not match; it changed nothing.
	outcomeBadVersion
	// outcomeUnknown: info or incomplete; it may have happened at any time
	// after its invocation, or not at all.
	outcomeUnknown
)

// errBadVersion is the Error of a cas that failed because its expected version
// did not match.
const errBadVersion = "bad-version"

// registerOp is one call of the zk-register workload, decoded for the model.
type registerOp struct {
	call       *history.Call
	kind       registerKind
	outcome    registerOutcome
	value      int64 // write, cas: the value written
	expected   int64 // cas: the expected data version
	outValue   int64 // ok read: the value read
	outVersion int64 // ok: the version read (read) or made (write, cas)

	// Set by the pruning pass (see register_prune.go).
	finite     bool      // the op has a finite return time
	unobserved bool      // an unknown write or cas whose value no read saw
	facts      *keyFacts // the key's facts, for unobserved ops
}

// registerValue is the JSON in Op.Value for zk-register ops.
type registerValue struct {
	Value           *int64 `json:"value"`
	Version         *int64 `json:"version"`
	ExpectedVersion *int64 `json:"expected_version"`
}

// decodeRegisterCall turns a client call into a model op. It returns nil for a
// call that constrains nothing: a read that did not complete OK, and a write
// or cas that certainly did not happen (fail, except a cas's bad-version).
func decodeRegisterCall(c *history.Call) (*registerOp, error) {
	inv := c.Invoke
	op := &registerOp{call: c}
	switch inv.F {
	case "read":
		op.kind = registerRead
	case "write":
		op.kind = registerWrite
	case "cas":
		op.kind = registerCAS
	default:
		return nil, fmt.Errorf("op index %d: unknown f %q; the zk-register workload has read, write and cas", inv.Index, inv.F)
	}
	if inv.Key == "" {
		return nil, fmt.Errorf("op index %d: %s has no key; every zk-register op names its znode", inv.Index, inv.F)
	}
	switch c.Outcome() {
	case history.OK:
		op.outcome = outcomeOK
	case history.Fail:
		if op.kind != registerCAS || c.Completion.Error != errBadVersion {
			return nil, nil // certainly did not happen
		}
		op.outcome = outcomeBadVersion
	default:
		if op.kind == registerRead {
			return nil, nil // an unknown read constrains nothing
		}
		op.outcome = outcomeUnknown
	}

	if op.kind != registerRead {
		in, err := decodeRegisterValue(inv)
		if err != nil {
			return nil, err
		}
		if in.Value == nil {
			return nil, fmt.Errorf("op index %d: %s invocation has no \"value\"; it must record the value written, e.g. {\"value\":17}", inv.Index, inv.F)
		}
		op.value = *in.Value
		if op.kind == registerCAS {
			if in.ExpectedVersion == nil {
				return nil, fmt.Errorf("op index %d: cas invocation has no \"expected_version\"; it must record the version it expects, e.g. {\"expected_version\":3,\"value\":18}", inv.Index)
			}
			op.expected = *in.ExpectedVersion
		}
	}
	if op.outcome != outcomeOK {
		return op, nil
	}
	done := c.Completion
	out, err := decodeRegisterValue(*done)
	if err != nil {
		return nil, err
	}
	if out.Version == nil {
		return nil, fmt.Errorf("op index %d: ok %s has no \"version\"; the client must record the znode's data version ZooKeeper returned", done.Index, inv.F)
	}
	op.outVersion = *out.Version
	switch op.kind {
	case registerRead:
		if out.Value == nil {
			return nil, fmt.Errorf("op index %d: ok read has no \"value\"; it must record what it read, e.g. {\"value\":17,\"version\":3}", done.Index)
		}
		op.outValue = *out.Value
	default:
		if out.Value != nil && *out.Value != op.value {
			return nil, fmt.Errorf("op index %d: ok %s says value %d but its invocation (index %d) wrote %d", done.Index, inv.F, *out.Value, inv.Index, op.value)
		}
	}
	return op, nil
}

// decodeRegisterValue decodes op.Value; null or absent decodes to all nil.
func decodeRegisterValue(op history.Op) (registerValue, error) {
	var v registerValue
	if len(op.Value) == 0 {
		return v, nil
	}
	if err := json.Unmarshal(op.Value, &v); err != nil {
		return v, fmt.Errorf("op index %d: %s value %s is not a zk-register value: %w", op.Index, op.F, op.Value, err)
	}
	return v, nil
}
