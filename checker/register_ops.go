package checker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"

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

// registerFields are what a zk-register call's values say, as the
// checkers see them.
type registerFields struct {
	kind       registerKind
	outcome    registerOutcome
	hasZxid    bool  // the completion recorded "zxid" (histories before it did not)
	value      int64 // write, cas: the value written
	expected   int64 // cas: the expected data version
	outValue   int64 // ok read: the value read
	outVersion int64 // ok: the version read (read) or made (write, cas)
	zxid       int64 // ok: the zxid of the write that made that version (the znode's Mzxid)
}

// registerOp is one call of the zk-register workload, decoded for the model.
type registerOp struct {
	inv, done *history.Op // its invocation and completion (nil if it never completed)
	registerFields
	kept bool // the model takes it (see decodeRegister; the pruning may drop it)

	// Set by the pruning pass (see register_prune.go).
	finite     bool      // the op has a finite return time
	unobserved bool      // an unknown write or cas whose value no read saw
	client     int32     // its process as a zero-based client id, for the visualization
	ret        int64     // its return time for porcupine
	facts      *keyFacts // the key's facts, for unobserved ops
}

// decodeRegister decodes a call from its invocation and completion (nil if
// it never completed). keep is false for a call that constrains nothing: a
// read that did not complete ok, and a write or cas that certainly did not
// happen (fail, except a cas's bad-version).
func decodeRegister(inv, done *history.Op) (f registerFields, keep bool, err error) {
	switch inv.F {
	case "read":
		f.kind = registerRead
	case "write":
		f.kind = registerWrite
	case "cas":
		f.kind = registerCAS
	default:
		return f, false, fmt.Errorf("op index %d: unknown f %q; the zk-register workload has read, write and cas", inv.Index, inv.F)
	}
	if inv.Key == "" {
		return f, false, fmt.Errorf("op index %d: %s has no key; every zk-register op names its znode", inv.Index, inv.F)
	}
	typ := history.Info
	if done != nil {
		typ = done.Type
	}
	switch typ {
	case history.OK:
		f.outcome = outcomeOK
	case history.Fail:
		if f.kind != registerCAS || done.Error != errBadVersion {
			return f, false, nil // certainly did not happen
		}
		f.outcome = outcomeBadVersion
	default:
		if f.kind == registerRead {
			return f, false, nil // an unknown read constrains nothing
		}
		f.outcome = outcomeUnknown
	}

	if f.kind != registerRead {
		in, err := parseRegisterValue(inv)
		if err != nil {
			return f, false, err
		}
		if !in.hasValue {
			return f, false, fmt.Errorf("op index %d: %s invocation has no \"value\"; it must record the value written, e.g. {\"value\":17}", inv.Index, inv.F)
		}
		f.value = in.value
		if f.kind == registerCAS {
			if !in.hasExpected {
				return f, false, fmt.Errorf("op index %d: cas invocation has no \"expected_version\"; it must record the version it expects, e.g. {\"expected_version\":3,\"value\":18}", inv.Index)
			}
			f.expected = in.expected
		}
	}
	if f.outcome != outcomeOK {
		return f, true, nil
	}
	out, err := parseRegisterValue(done)
	if err != nil {
		return f, false, err
	}
	if !out.hasVersion {
		return f, false, fmt.Errorf("op index %d: ok %s has no \"version\"; the client must record the znode's data version ZooKeeper returned", done.Index, inv.F)
	}
	f.outVersion = out.version
	f.zxid, f.hasZxid = out.zxid, out.hasZxid
	switch f.kind {
	case registerRead:
		if !out.hasValue {
			return f, false, fmt.Errorf("op index %d: ok read has no \"value\"; it must record what it read, e.g. {\"value\":17,\"version\":3}", done.Index)
		}
		f.outValue = out.value
	default:
		if out.hasValue && out.value != f.value {
			return f, false, fmt.Errorf("op index %d: ok %s says value %d but its invocation (index %d) wrote %d", done.Index, inv.F, out.value, inv.Index, f.value)
		}
		if f.kind == registerCAS && out.hasExpected && out.expected != f.expected {
			return f, false, fmt.Errorf("op index %d: ok cas says it expected version %d but its invocation (index %d) expected %d", done.Index, out.expected, inv.Index, f.expected)
		}
	}
	return f, true, nil
}

// registerValue is the JSON in Op.Value for zk-register ops:
// {"expected_version":e,"value":v,"version":n,"zxid":z}, each field
// optional. Other fields are ignored.
type registerValue struct {
	value, version, expected, zxid             int64
	hasValue, hasVersion, hasExpected, hasZxid bool
}

// parseRegisterValue decodes op.Value; null or absent decodes to no fields.
// The shapes the workload writes go through a scanner that allocates
// nothing; anything else through encoding/json, which decides what it means.
func parseRegisterValue(op *history.Op) (registerValue, error) {
	var v registerValue
	if len(op.Value) == 0 || scanCompactRegisterValue(op.Value, &v) {
		return v, nil
	}
	if v = (registerValue{}); scanRegisterValue(op.Value, &v) {
		return v, nil
	}
	v, err := decodeRegisterJSON(op.Value)
	if err != nil {
		return v, fmt.Errorf("op index %d: %s value %s is not a zk-register value: %w", op.Index, op.F, op.Value, err)
	}
	return v, nil
}

// decodeRegisterJSON is parseRegisterValue with encoding/json: it decides
// what a value means.
func decodeRegisterJSON(b []byte) (registerValue, error) {
	var v registerValue
	var w struct {
		Value           *int64 `json:"value"`
		Version         *int64 `json:"version"`
		ExpectedVersion *int64 `json:"expected_version"`
		Zxid            *int64 `json:"zxid"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return v, err
	}
	for _, f := range []struct {
		p   *int64
		v   *int64
		has *bool
	}{{w.Value, &v.value, &v.hasValue}, {w.Version, &v.version, &v.hasVersion},
		{w.ExpectedVersion, &v.expected, &v.hasExpected}, {w.Zxid, &v.zxid, &v.hasZxid}} {
		if f.p != nil {
			*f.v, *f.has = *f.p, true
		}
	}
	return v, nil
}

// scanCompactRegisterValue is parseRegisterValue's fastest path: the
// values as encoding/json writes them, with no white space and integers of
// at most 18 digits. It reports false for anything else.
func scanCompactRegisterValue(b []byte, v *registerValue) bool {
	if len(b) < 2 || b[0] != '{' {
		return false
	}
	if len(b) == 2 {
		return b[1] == '}'
	}
	i := 1
	for {
		if i >= len(b) || b[i] != '"' {
			return false
		}
		rest := b[i+1:]
		var dst *int64
		var has *bool
		var n int
		switch {
		case bytes.HasPrefix(rest, []byte(`value":`)):
			dst, has, n = &v.value, &v.hasValue, 7
		case bytes.HasPrefix(rest, []byte(`version":`)):
			dst, has, n = &v.version, &v.hasVersion, 9
		case bytes.HasPrefix(rest, []byte(`zxid":`)):
			dst, has, n = &v.zxid, &v.hasZxid, 6
		case bytes.HasPrefix(rest, []byte(`expected_version":`)):
			dst, has, n = &v.expected, &v.hasExpected, 18
		default:
			return false
		}
		if *has {
			return false
		}
		i += 1 + n
		start := i
		var x int64
		for ; i < len(b) && i-start < 18 && b[i] >= '0' && b[i] <= '9'; i++ {
			x = x*10 + int64(b[i]-'0')
		}
		if i == start || i >= len(b) || (b[start] == '0' && i-start > 1) {
			return false
		}
		*dst, *has = x, true
		switch b[i] {
		case ',':
			i++
		case '}':
			return i+1 == len(b)
		default:
			return false
		}
	}
}

// scanRegisterValue is parseRegisterValue's fast path: an object of
// distinct known fields whose values are non-negative integers. It reports
// false for anything else.
func scanRegisterValue(b []byte, v *registerValue) bool {
	s := jsonScanner{b: b}
	if !s.consume('{') {
		return false
	}
	if s.consume('}') {
		return s.atEnd()
	}
	for {
		key, ok := s.plainString()
		if !ok || !s.consume(':') {
			return false
		}
		var dst *int64
		var has *bool
		switch string(key) {
		case "value":
			dst, has = &v.value, &v.hasValue
		case "version":
			dst, has = &v.version, &v.hasVersion
		case "expected_version":
			dst, has = &v.expected, &v.hasExpected
		case "zxid":
			dst, has = &v.zxid, &v.hasZxid
		default:
			return false
		}
		if *has {
			return false
		}
		if *dst, ok = s.smallNatural(); !ok {
			return false
		}
		*has = true
		if !s.consume(',') {
			return s.consume('}') && s.atEnd()
		}
	}
}

// smallNatural reads a non-negative integer of at most 18 digits, written
// as JSON writes integers; natural takes longer ones.
func (s *jsonScanner) smallNatural() (int64, bool) {
	s.skipSpace()
	start := s.i
	var n int64
	for ; s.i < len(s.b) && s.i-start < 18; s.i++ {
		c := s.b[s.i]
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int64(c-'0')
	}
	switch {
	case s.i == start, s.b[start] == '0' && s.i-start > 1:
		return 0, false
	case s.i < len(s.b):
		switch s.b[s.i] {
		case '.', 'e', 'E':
			return 0, false
		}
		if s.b[s.i] >= '0' && s.b[s.i] <= '9' { // more than 18 digits
			s.i = start
			return s.natural(math.MaxInt64)
		}
	}
	return n, true
}
