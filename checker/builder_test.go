package checker

import (
	"encoding/json"

	"github.com/faultline/faultline/history"
)

// builder writes hand-made histories: each event is one time unit after the
// previous one, so the order of calls to inv and the completions is the
// real-time order.
type builder struct {
	ops []history.Op
}

func (b *builder) add(p history.Process, typ history.Type, f, key, value, err string) *builder {
	op := history.Op{Index: int64(len(b.ops)), Time: int64(len(b.ops)) * 10, Process: p, Type: typ, F: f, Key: key, Error: err}
	if value != "" {
		op.Value = json.RawMessage(value)
	}
	b.ops = append(b.ops, op)
	return b
}

// inv invokes f on key "x" by process p.
func (b *builder) inv(p history.Process, f, value string) *builder {
	return b.add(p, history.Invoke, f, "x", value, "")
}

func (b *builder) ok(p history.Process, f, value string) *builder {
	return b.add(p, history.OK, f, "x", value, "")
}

func (b *builder) info(p history.Process, f, value string) *builder {
	return b.add(p, history.Info, f, "x", value, "timeout")
}

func (b *builder) fail(p history.Process, f, value, err string) *builder {
	return b.add(p, history.Fail, f, "x", value, err)
}

// Sequential calls, invoked and completed before the next one starts.

func (b *builder) write(p history.Process, value, version string) *builder {
	return b.inv(p, "write", `{"value":`+value+`}`).ok(p, "write", `{"value":`+value+`,"version":`+version+`}`)
}

func (b *builder) read(p history.Process, value, version string) *builder {
	return b.inv(p, "read", "").ok(p, "read", `{"value":`+value+`,"version":`+version+`}`)
}

func (b *builder) cas(p history.Process, expected, value, version string) *builder {
	in := `{"expected_version":` + expected + `,"value":` + value
	return b.inv(p, "cas", in+`}`).ok(p, "cas", in+`,"version":`+version+`}`)
}

func (b *builder) casBadVersion(p history.Process, expected, value string) *builder {
	in := `{"expected_version":` + expected + `,"value":` + value + `}`
	return b.inv(p, "cas", in).fail(p, "cas", in, errBadVersion)
}

// nemesis records a fault being started or stopped.
func (b *builder) nemesis(f, value string) *builder {
	return b.add(history.Nemesis, history.Invoke, f, "", value, "").add(history.Nemesis, history.Info, f, "", value, "")
}
