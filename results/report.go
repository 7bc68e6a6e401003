package results

import (
	"encoding/json"
	"time"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/history"
)

// Report is a run's verdict and everything behind it, as results.json
// holds it and the summary shows it. A run and `faultline check` of its
// directory make the same Report from the same files.
type Report struct {
	// Test and Workload name the test and its workload.
	Test     string `json:"test,omitempty"`
	Workload string `json:"workload"`
	// Seed is the run's seed; TimeLimit how long the workload ran.
	Seed      uint64        `json:"seed"`
	TimeLimit time.Duration `json:"time_limit,omitempty"`
	// Valid is the verdict: the checks' (faults included), unknown where
	// the end of the test did not go as planned.
	Valid checker.Validity `json:"valid"`
	// AnomalyCounts and FindingCounts total the anomalies per kind of the
	// checks that are part of the verdict, and of the findings: the
	// figures a listing of many runs shows, near the file's head so that
	// it reads no further (WriteFiles fills them in).
	AnomalyCounts map[string]int `json:"anomaly_counts"`
	FindingCounts map[string]int `json:"finding_counts"`
	// Ops counts the history's client calls.
	Ops OpStats `json:"ops"`
	// Checks is every checker's result, composed.
	Checks checker.Result `json:"checks"`
	// WorkloadDetails are the workload's own figures (its options, keys
	// used, topic), as the workload recorded them.
	WorkloadDetails json.RawMessage `json:"workload_details,omitempty"`
	// Notes say why the verdict is what it is when the checks alone do
	// not (the end of the test did not go as planned).
	Notes []string `json:"notes,omitempty"`
	// Files are the run's own files WriteFiles wrote (report.html,
	// junit.xml, the pictures), relative to the run's directory; each
	// check's files are in its result.
	Files []string `json:"files,omitempty"`
}

// tally totals the leaves' anomaly counts into AnomalyCounts and
// FindingCounts.
func (r *Report) tally() {
	r.AnomalyCounts, r.FindingCounts = map[string]int{}, map[string]int{}
	for _, lr := range r.Checks.Leaves() {
		dst := &r.AnomalyCounts
		if lr.Advisory != "" {
			dst = &r.FindingCounts
		}
		for k := range lr.AnomalyCounts {
			if n := kindCount(lr, k); n > 0 {
				(*dst)[k] += n
			}
		}
		if len(lr.AnomalyCounts) == 0 {
			for _, a := range lr.Anomalies {
				(*dst)[a.Kind]++
			}
		}
	}
}

// OpStats count client calls (invocation and completion; nemesis ops left
// out).
type OpStats struct {
	// Total and ByF count every client call, final reads included.
	Total checker.Counts            `json:"total"`
	ByF   map[string]checker.Counts `json:"by_f"`
	// InTimeLimit counts the calls invoked before the time limit (the
	// workload's own, not the final reads), PerSecond their rate.
	InTimeLimit int     `json:"in_time_limit"`
	PerSecond   float64 `json:"per_second"`
}

// CountOps counts the client calls of a history. ops' times count from
// the workload's start; timeLimit (0: unknown) splits the workload's
// calls from the final reads.
func CountOps(calls []history.Call, timeLimit time.Duration) OpStats {
	st := OpStats{}
	st.Total, st.ByF = checker.CountCalls(calls)
	if timeLimit <= 0 {
		return st
	}
	for _, c := range calls {
		if c.Invoke.Process.IsClient() && c.Invoke.Time < int64(timeLimit) && !c.Incomplete() {
			st.InTimeLimit++
		}
	}
	st.PerSecond = float64(st.InTimeLimit) / timeLimit.Seconds()
	return st
}
