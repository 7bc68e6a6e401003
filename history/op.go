package history

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Op is one line of a history: an invocation or a completion.
//
// A completion repeats its invocation's Process, F and Key. Value is the
// workload's JSON payload (for example {"value":17} on a write's invocation
// and {"value":17,"version":4} on its completion); Node names the server the
// client talked to, when known; Error says why an op failed or is unknown.
type Op struct {
	Index   int64           `json:"index"`
	Time    int64           `json:"time"`
	Process Process         `json:"process"`
	Type    Type            `json:"type"`
	F       string          `json:"f"`
	Key     string          `json:"key,omitempty"`
	Value   json.RawMessage `json:"value,omitempty"`
	Node    string          `json:"node,omitempty"`
	Error   string          `json:"error,omitempty"`
}

// Validate reports the first thing wrong with op, if any: a negative index or
// time, an invalid process or type, a missing f, or a value that is not JSON.
func (op Op) Validate() error {
	if op.Index < 0 {
		return fmt.Errorf("negative index %d", op.Index)
	}
	if op.Time < 0 {
		return fmt.Errorf("negative time %d", op.Time)
	}
	if err := op.Process.Validate(); err != nil {
		return err
	}
	if err := op.Type.Validate(); err != nil {
		return err
	}
	if op.F == "" {
		return errors.New(`missing "f" (the operation's name, e.g. "read")`)
	}
	if len(op.Value) > 0 && !json.Valid(op.Value) {
		return fmt.Errorf("value is not valid JSON: %s", truncate(op.Value, 40))
	}
	return nil
}

// String renders op compactly for messages, e.g.
// "12 process 3 ok write k1 {"value":17,"version":4}".
func (op Op) String() string {
	s := fmt.Sprintf("%d process %s %s %s", op.Index, op.Process, op.Type, op.F)
	if op.Key != "" {
		s += " " + op.Key
	}
	if len(op.Value) > 0 {
		s += " " + string(op.Value)
	}
	if op.Error != "" {
		s += " error=" + op.Error
	}
	return s
}
