package checker

import (
	"io"

	"github.com/faultline/faultline/history"
)

// Result is what a checker found.
type Result struct {
	// Checker names the checker, e.g. "linearizable", or "compose".
	Checker string `json:"checker"`
	// Valid is the verdict.
	Valid Validity `json:"valid"`
	// Advisory, when set, makes the result a finding rather than a part
	// of the verdict: it says why (e.g. "not promised by ZooKeeper;
	// --consistency linearizable to require"). Compose leaves an advisory
	// result's verdict out; its anomalies are shown as findings.
	Advisory string `json:"advisory,omitempty"`
	// Counts counts the client calls the checker looked at.
	Counts Counts `json:"counts"`
	// AnomalyCounts counts the anomalies found per kind (the examples in
	// Anomalies may be fewer).
	AnomalyCounts map[string]int `json:"anomaly_counts,omitempty"`
	// Anomalies are the problems found, each with example ops.
	Anomalies []Anomaly `json:"anomalies,omitempty"`
	// Notes are remarks for a person: why a verdict is unknown, what the
	// checker skipped, and what to do about it.
	Notes []string `json:"notes,omitempty"`
	// Error says why the checker could not do its job (a malformed
	// history). A result with an error is Unknown unless the checker had
	// already reached a verdict.
	Error string `json:"error,omitempty"`
	// DurationMS is how long the check took.
	DurationMS int64 `json:"duration_ms"`
	// Details holds the checker's own figures, a type of its own
	// (documented on each checker).
	Details Details `json:"details,omitempty"`
	// Artifacts are files the checker can draw for a person (porcupine's
	// visualization of a key that is not linearizable). The results
	// package decides whether and where to write them, and lists what it
	// wrote in Files.
	Artifacts []Artifact `json:"-"`
	// Files are the artifacts written, relative to the run's directory.
	Files []string `json:"files,omitempty"`
	// Results are the results Compose combined.
	Results []Result `json:"results,omitempty"`
}

// Details are a checker's own figures. Summary renders them for the
// run's summary: a few words for the checker's line (e.g. "1805 keys")
// and further lines, if any.
type Details interface {
	Summary() (headline string, lines []string)
}

// Artifact is a file a checker can draw for a person.
type Artifact interface {
	// Name is the file's name, e.g. "linearizability-r1.html".
	Name() string
	// WriteTo writes the file's content.
	WriteTo(w io.Writer) (int64, error)
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

// CountCalls counts the client calls (nemesis and observer ones left
// out) in all and per f.
func CountCalls(calls []history.Call) (total Counts, byF map[string]Counts) {
	byF = map[string]Counts{}
	for _, c := range calls {
		if !c.Invoke.Process.IsClient() {
			continue
		}
		total.add(c)
		n := byF[c.Invoke.F]
		n.add(c)
		byF[c.Invoke.F] = n
	}
	return total, byF
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
// any result is Invalid, else Unknown if any is Unknown, else Valid.
// Advisory results (findings) do not count. The results are kept, in
// order, under Results; Counts are the first result's that has any.
func Compose(results ...Result) Result {
	out := Result{Checker: "compose", Results: results}
	var vs []Validity
	for _, r := range results {
		if r.Advisory == "" {
			vs = append(vs, r.Valid)
		}
		if out.Counts.Calls == 0 {
			out.Counts = r.Counts
		}
	}
	out.Valid = Merge(vs...)
	return out
}

// Leaves lists the results a composed result is made of, depth first; a
// result that composes nothing is its own leaf.
func (r Result) Leaves() []Result {
	if len(r.Results) == 0 {
		return []Result{r}
	}
	var out []Result
	for _, sub := range r.Results {
		out = append(out, sub.Leaves()...)
	}
	return out
}
