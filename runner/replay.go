package runner

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/faultline/faultline/history"
)

// NemesisCall is one call of the nemesis as a replay compares it: what it
// was asked (the step, without its times) and what it did.
type NemesisCall struct {
	F      string `json:"f"`
	Step   string `json:"step"` // the invocation's value, compacted
	Did    string `json:"did"`  // the completion's value, without on_workload
	Error  string `json:"error,omitempty"`
	Missed bool   `json:"missed,omitempty"` // never completed
}

// NemesisCalls lists a history's nemesis calls in order.
func NemesisCalls(ops []history.Op) ([]NemesisCall, error) {
	var nem []history.Op
	for _, op := range ops {
		if op.Process == history.Nemesis {
			nem = append(nem, op)
		}
	}
	calls, err := history.Pair(nem)
	if err != nil {
		return nil, err
	}
	out := make([]NemesisCall, 0, len(calls))
	for _, c := range calls {
		nc := NemesisCall{F: c.Invoke.F, Step: compact(c.Invoke.Value)}
		if c.Completion == nil {
			nc.Missed = true
		} else {
			nc.Did, nc.Error = compact(withoutKey(c.Completion.Value, "on_workload")), c.Completion.Error
		}
		out = append(out, nc)
	}
	return out, nil
}

func compact(v json.RawMessage) string {
	var b bytes.Buffer
	if len(v) == 0 || json.Compact(&b, v) != nil {
		return string(v)
	}
	return b.String()
}

func withoutKey(v json.RawMessage, key string) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(v, &m) != nil || m == nil {
		return v
	}
	delete(m, key)
	b, err := json.Marshal(m)
	if err != nil {
		return v
	}
	return b
}

// ReplayComparison says how a replay's faults compare with the stored
// run's: the steps asked for must be the same, call for call; what they
// did may differ where a step aims at whoever leads at that moment, or
// where a server did not do what it did before.
type ReplayComparison struct {
	Calls, Replayed int
	// StepDiffs are calls asked differently (or missing): the replay did
	// not repeat the schedule.
	StepDiffs []string
	// DidDiffs are calls asked the same that did something else.
	DidDiffs []string
}

// CompareReplay compares the nemesis calls of a stored run and its replay.
func CompareReplay(orig, replay []history.Op) (ReplayComparison, error) {
	a, err := NemesisCalls(orig)
	if err != nil {
		return ReplayComparison{}, fmt.Errorf("the stored run's nemesis ops: %w", err)
	}
	b, err := NemesisCalls(replay)
	if err != nil {
		return ReplayComparison{}, fmt.Errorf("the replay's nemesis ops: %w", err)
	}
	c := ReplayComparison{Calls: len(a), Replayed: len(b)}
	for i := range max(len(a), len(b)) {
		switch {
		case i >= len(a):
			c.StepDiffs = append(c.StepDiffs, fmt.Sprintf("call %d: the replay has %s %s, the run had none", i+1, b[i].F, b[i].Step))
		case i >= len(b):
			c.StepDiffs = append(c.StepDiffs, fmt.Sprintf("call %d: the run had %s %s, the replay has none", i+1, a[i].F, a[i].Step))
		case a[i].F != b[i].F || a[i].Step != b[i].Step:
			c.StepDiffs = append(c.StepDiffs, fmt.Sprintf("call %d: the run had %s %s, the replay %s %s", i+1, a[i].F, a[i].Step, b[i].F, b[i].Step))
		case a[i].Did != b[i].Did || a[i].Error != b[i].Error:
			c.DidDiffs = append(c.DidDiffs, fmt.Sprintf("call %d, %s: the run did %s%s, the replay %s%s", i+1, a[i].F, a[i].Did, errText(a[i].Error), b[i].Did, errText(b[i].Error)))
		}
	}
	return c, nil
}

func errText(e string) string {
	if e == "" {
		return ""
	}
	return " (error: " + e + ")"
}

// Summary says the comparison in a line, and the differences.
func (c ReplayComparison) Summary() (string, []string) {
	if len(c.StepDiffs) > 0 {
		return fmt.Sprintf("the replay's faults differ from the run's: %d of %d calls asked differently", len(c.StepDiffs), c.Calls), append(c.StepDiffs, c.DidDiffs...)
	}
	if len(c.DidDiffs) > 0 {
		return fmt.Sprintf("the replay asked for the run's %d nemesis calls in order; %d did something else (a leader target found another leader, a server answered otherwise)", c.Calls, len(c.DidDiffs)), c.DidDiffs
	}
	return fmt.Sprintf("the replay repeated the run's %d nemesis calls in order, each doing what it did then", c.Calls), nil
}
