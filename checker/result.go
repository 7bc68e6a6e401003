package checker

import "github.com/faultline/faultline/history"

// Result is what a checker found.
type Result struct {
	// Checker names the checker, e.g. "linearizable", or "compose".
	Checker string `json:"checker"`
	// Valid is the verdict.
	Valid Validity `json:"valid"`
	// Counts counts the client calls the checker looked at.
	Counts Counts `json:"counts"`
	// Anomalies are the problems found, each with example ops.
	Anomalies []Anomaly `json:"anomalies,omitempty"`
	// Notes are remarks for a person: why a verdict is unknown, what the
	// checker skipped, and what to do about it.
	Notes []string `json:"notes,omitempty"`
	// Error says why the checker could not do its job (a malformed
	// history, a file it could not write). A result with an error is
	// Unknown unless the checker had already reached a verdict.
	Error string `json:"error,omitempty"`
	// Details holds checker-specific figures (documented on each checker);
	// a caller may add its own, e.g. the workload's read mode.
	Details map[string]any `json:"details,omitempty"`
	// Results are the results Compose combined.
	Results []Result `json:"results,omitempty"`
}

// Counts counts client calls (invocations with their completions) by outcome.
type Counts struct {
	Calls      int `json:"calls"`
	OK         int `json:"ok"`
	Fail       int `json:"fail"`
	Info       int `json:"info"`
	Incomplete int `json:"incomplete"` // no completion: the history ended first
}

// add counts one call.
func (c *Counts) add(call history.Call) {
	c.Calls++
	switch {
	case call.Incomplete():
		c.Incomplete++
	case call.Completion.Type == history.OK:
		c.OK++
	case call.Completion.Type == history.Fail:
		c.Fail++
	default:
		c.Info++
	}
}

// Anomaly is one problem a checker found.
type Anomaly struct {
	// Kind names the kind of problem, e.g. "nonlinearizable".
	Kind string `json:"kind"`
	// Key is the object the problem is on, if the workload has keys.
	Key string `json:"key,omitempty"`
	// Message explains the problem to a person.
	Message string `json:"message"`
	// At is the op the problem shows at, when there is one: for a key
	// that is not linearizable, the completion (or, if it never completed,
	// the invocation) of the first op that cannot be linearized.
	At *history.Op `json:"at,omitempty"`
	// Ops are example ops from the history, in index order.
	Ops []history.Op `json:"ops,omitempty"`
}

// Compose combines results like Jepsen's compose: the verdict is Invalid if
// any result is Invalid, else Unknown if any is Unknown, else Valid. The
// results are kept, in order, under Results.
func Compose(results ...Result) Result {
	out := Result{Checker: "compose", Results: results}
	vs := make([]Validity, len(results))
	for i, r := range results {
		vs[i] = r.Valid
	}
	out.Valid = Merge(vs...)
	return out
}
