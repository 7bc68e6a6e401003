package runner

import (
	"context"
	"errors"
	"fmt"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/nemesis"
	"github.com/faultline/faultline/results"
	"github.com/faultline/faultline/workloads/registry"
)

// Judge checks a run's history with the checkers its record calls for:
// the faults checker (did the requested faults happen, was the cluster
// healed), the workload's own, and, for a run with the leadership
// observer, the leadership checker (advisory). A run and `faultline check` of it both
// call Judge, so both reach, and show, the same verdict.
//
// rec may be a bare record (only Workload set) for a history with no
// test.json: then the faults asked for are those in the history.
func Judge(ctx context.Context, rec Record, ops []history.Op, opts checker.Options) (results.Report, error) {
	def, err := registry.Lookup(rec.Workload)
	if err != nil {
		return results.Report{}, err
	}
	wopts := rec.WorkloadOptions
	if wopts == nil {
		wopts = def.NewOptions()
	}
	var requested []string
	for _, k := range rec.Nemesis.Kinds {
		requested = append(requested, string(k))
	}
	checkers := append([]checker.Checker{checker.Faults{Requested: requested, Scripted: nemesis.Scripted(rec.Schedule)}}, wopts.Checkers()...)
	if observed(rec, ops) {
		checkers = append(checkers, checker.Leadership{}) // advisory: a finding, never the verdict
	}
	res := checker.All(checkers...).Check(ctx, ops, opts)
	rep := results.Report{
		Test: rec.Name, Workload: rec.Workload, Seed: rec.Seed, TimeLimit: rec.TimeLimit,
		Valid: res.Valid, Checks: res, WorkloadDetails: rec.WorkloadDetails,
	}
	if calls, err := history.Pair(ops); err == nil {
		rep.Ops = results.CountOps(calls, rec.TimeLimit)
	}
	if len(rec.EndNotes) > 0 {
		rep.Notes = append(rep.Notes, rec.EndNotes...)
		if rep.Valid == checker.Valid {
			rep.Valid = checker.Unknown
			rep.Notes = append(rep.Notes, "valid as far as recorded, but unknown: the end of the test did not go as planned")
		}
	}
	return rep, nil
}

// Malformed returns the error of the first checker that could not read
// the history, when the checks reached no verdict: the input is bad.
func Malformed(r checker.Result) string {
	if r.Valid != checker.Unknown {
		return ""
	}
	for _, lr := range r.Leaves() {
		if lr.Error != "" && lr.Valid == checker.Unknown {
			return lr.Error
		}
	}
	return ""
}

// ReadHistory reads a stored history, with lines up to o.MaxLine long. A
// crashed run's half-written last line is left out, with a note saying so.
func ReadHistory(path string, o history.ReadOptions) (ops []history.Op, note string, err error) {
	ops, err = history.ReadFileWith(path, o)
	if errors.Is(err, history.ErrTruncatedTail) {
		return ops, fmt.Sprintf("%v: checked the %d whole ops", err, len(ops)), nil
	}
	return ops, "", err
}
