package checker

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/faultline/faultline/history"
)

// Faults judges the nemesis's part of a history: whether the faults the
// test asked for really happened, and whether the cluster was healed at
// the end. A verdict is only as good as the faults behind it, so:
//   - a requested kind of fault that never applied (none scheduled, or
//     every start failed) makes the result Unknown, with a note naming the
//     kind and the first error;
//   - a history with faults but no successful final heal ("heal" missing,
//     or its completion carrying an error) is Unknown too: the end of the
//     test (final reads) ran on a cluster that may still be faulted.
//
// It never finds a history invalid. It reads only nemesis ops (see
// docs/history.md): a "start-<kind>" call applied the fault when its
// completion has no error; the "stop-<kind>" after it ends the fault's
// window; "heal" is the final heal.
//
// Result.Details is a *FaultDetails.
type Faults struct {
	// Requested are the kinds of fault the test asked for. Empty means
	// the kinds found in the history.
	Requested []string
	// Scripted says the faults followed a scripted schedule (--schedule,
	// a scenario), every step of which the test needs: any step that
	// failed (a start, a stop, a bind, a condition that never held)
	// makes the result Unknown.
	Scripted bool
}

// FaultDetails is what Faults found.
type FaultDetails struct {
	// Kinds has one entry per requested kind (and any other kind found),
	// in the order requested.
	Kinds []FaultKind `json:"kinds"`
	// Windows are the faults as they happened, in start order.
	Windows []FaultWindow `json:"windows"`
	// Heal is the final heal, nil when the history has none.
	Heal *FaultHeal `json:"heal,omitempty"`
}

// FaultKind counts one kind of fault.
type FaultKind struct {
	Kind      string `json:"kind"`
	Requested bool   `json:"requested"`
	Started   int    `json:"started"`
	Applied   int    `json:"applied"`
	Failed    int    `json:"failed"`
	// OffWorkload counts the applied faults that touched no node the
	// workload exercises (the nemesis recorded "on_workload": false).
	OffWorkload int `json:"off_workload"`
	// Errors are the first few distinct errors of failed starts.
	Errors []string `json:"errors,omitempty"`
}

// FaultWindow is one fault: from its start's invocation to its stop's
// completion, in nanoseconds on the history's clock (time zero is the
// workload's start).
type FaultWindow struct {
	Kind    string `json:"kind"`
	Start   int64  `json:"start"`
	Stop    int64  `json:"stop"`
	Applied bool   `json:"applied"`
	// What is what the start did, as the nemesis recorded it.
	What  string `json:"what,omitempty"`
	Error string `json:"error,omitempty"`
	// StopError says why stopping the fault failed, if it did.
	StopError string `json:"stop_error,omitempty"`
}

// FaultHeal is the final heal.
type FaultHeal struct {
	Time  int64  `json:"time"`
	Done  bool   `json:"done"`
	What  string `json:"what,omitempty"`
	Error string `json:"error,omitempty"`
}

// maxFaultErrors bounds the errors kept per kind.
const maxFaultErrors = 3

// Name returns "faults".
func (Faults) Name() string { return "faults" }

// Check checks ops; see Faults.
func (f Faults) Check(ctx context.Context, ops []history.Op, _ Options) Result {
	start := time.Now()
	res := Result{Checker: f.Name(), Valid: Unknown}
	defer func() { res.DurationMS = time.Since(start).Milliseconds() }()
	var nemesisOps []history.Op
	var end int64
	for _, op := range ops {
		end = max(end, op.Time)
		if op.Process == history.Nemesis {
			nemesisOps = append(nemesisOps, op)
		}
	}
	calls, err := history.Pair(nemesisOps)
	if err != nil {
		res.Error = fmt.Sprintf("malformed nemesis ops: %v", err)
		return res
	}
	d := faultDetails(calls, end, f.Requested)
	res.Details = d

	res.Valid = Valid
	for _, k := range d.Kinds {
		if !k.Requested || k.Applied > 0 {
			continue
		}
		res.Valid = Unknown
		switch {
		case k.Started == 0:
			res.Notes = append(res.Notes, fmt.Sprintf("%s faults were requested but none was scheduled: the run tested nothing under them; run longer than --nemesis-interval, or drop the kind", k.Kind))
		default:
			res.Notes = append(res.Notes, fmt.Sprintf("%s faults were requested but none applied (%d started, %d failed: %s): the run tested nothing under them", k.Kind, k.Started, k.Failed, strings.Join(k.Errors, "; ")))
		}
	}
	if f.Scripted {
		var failed []string
		n := 0
		for _, c := range calls {
			if c.Invoke.F == "heal" {
				continue
			}
			why := "the history ended before it completed"
			if c.Completion != nil {
				why = c.Completion.Error
			}
			if why == "" {
				continue
			}
			n++
			if len(failed) < maxFaultErrors {
				failed = append(failed, fmt.Sprintf("%s %s: %s", c.Invoke.F, stepID(c.Invoke.Value), why))
			}
		}
		if n > 0 {
			res.Valid = Unknown
			res.Notes = append(res.Notes, fmt.Sprintf("%d step(s) of the scripted schedule did not go as written (%s): the run did not test what the schedule describes", n, strings.Join(failed, "; ")))
		}
	}
	switch {
	case len(d.Windows) == 0 && d.Heal == nil:
	case d.Heal == nil:
		res.Valid = Unknown
		res.Notes = append(res.Notes, "the history has faults but no final heal: the end of the test may have run on a faulted cluster")
	case !d.Heal.Done:
		res.Valid = Unknown
		res.Notes = append(res.Notes, fmt.Sprintf("the final heal failed (%s): the end of the test may have run on a faulted cluster", d.Heal.Error))
	}
	return res
}

// faultDetails reads the nemesis's calls.
func faultDetails(calls []history.Call, end int64, requested []string) *FaultDetails {
	d := &FaultDetails{Kinds: []FaultKind{}, Windows: []FaultWindow{}}
	kinds := map[string]int{} // kind → index into d.Kinds
	kindOf := func(k string) *FaultKind {
		i, ok := kinds[k]
		if !ok {
			i = len(d.Kinds)
			kinds[k] = i
			d.Kinds = append(d.Kinds, FaultKind{Kind: k})
		}
		return &d.Kinds[i]
	}
	for _, k := range requested {
		kindOf(k).Requested = true
	}
	open := map[string]int{} // kind and step id → index into d.Windows
	for _, c := range calls {
		f := c.Invoke.F
		switch {
		case strings.HasPrefix(f, "start-"):
			kind := strings.TrimPrefix(f, "start-")
			key := kind + "\x00" + stepID(c.Invoke.Value)
			k := kindOf(kind)
			k.Started++
			w := FaultWindow{Kind: kind, Start: c.Invoke.Time, Stop: end}
			switch {
			case c.Completion == nil:
				w.Error = "the history ended before the fault started"
			case c.Completion.Error != "":
				w.Error = c.Completion.Error
			default:
				w.Applied = true
			}
			if c.Completion != nil {
				w.What = string(c.Completion.Value)
			}
			if w.Applied {
				k.Applied++
				if offWorkload(c.Completion.Value) {
					k.OffWorkload++
				}
			} else {
				k.Failed++
				if len(k.Errors) < maxFaultErrors && !slices.Contains(k.Errors, w.Error) {
					k.Errors = append(k.Errors, w.Error)
				}
			}
			open[key] = len(d.Windows)
			d.Windows = append(d.Windows, w)
		case strings.HasPrefix(f, "stop-"):
			key := strings.TrimPrefix(f, "stop-") + "\x00" + stepID(c.Invoke.Value)
			i, ok := open[key]
			if !ok {
				continue
			}
			delete(open, key)
			switch {
			case c.Completion == nil:
				d.Windows[i].StopError = "the history ended before the fault stopped"
			default:
				d.Windows[i].Stop = c.Completion.Time
				d.Windows[i].StopError = c.Completion.Error
			}
		case f == "heal":
			h := &FaultHeal{Time: c.Invoke.Time}
			switch {
			case c.Completion == nil:
				h.Error = "the history ended before the heal completed"
			default:
				h.Done = c.Completion.Error == ""
				h.Error = c.Completion.Error
				h.What = string(c.Completion.Value)
			}
			d.Heal = h
		}
	}
	return d
}

// offWorkload says whether a start's value records that it touched no
// node of the workload's.
func offWorkload(v json.RawMessage) bool {
	var m struct {
		OnWorkload *bool `json:"on_workload"`
	}
	return json.Unmarshal(v, &m) == nil && m.OnWorkload != nil && !*m.OnWorkload
}

// Summary renders the per-kind counts, e.g. "partition 3/3 applied, kill
// 1/2 applied (1 failed: …); healed", and a line per fault.
func (d *FaultDetails) Summary() (string, []string) {
	var parts []string
	for _, k := range d.Kinds {
		s := fmt.Sprintf("%s %d/%d applied", k.Kind, k.Applied, k.Started)
		if k.OffWorkload > 0 {
			s += fmt.Sprintf(" (%d touched none of the workload's nodes)", k.OffWorkload)
		}
		if k.Failed > 0 {
			s += fmt.Sprintf(", %d failed: %s", k.Failed, strings.Join(k.Errors, "; "))
		}
		parts = append(parts, s)
	}
	head := strings.Join(parts, ", ")
	switch {
	case d.Heal == nil && len(d.Windows) > 0:
		head += "; not healed"
	case d.Heal != nil && d.Heal.Done:
		head += "; healed"
	case d.Heal != nil:
		head += "; heal failed: " + d.Heal.Error
	}
	lines := make([]string, len(d.Windows))
	for i, w := range d.Windows {
		lines[i] = fmt.Sprintf("%6.1fs–%6.1fs %-9s %s", seconds(w.Start), seconds(w.Stop), w.Kind, w.What)
		if w.Error != "" {
			lines[i] += "  FAILED: " + w.Error
		}
		if w.StopError != "" {
			lines[i] += "  STOP FAILED: " + w.StopError
		}
	}
	return strings.TrimPrefix(head, "; "), lines
}

func seconds(ns int64) float64 { return float64(ns) / 1e9 }

// stepID is the id of the schedule step a nemesis invocation names
// ("id"), "" for histories recorded before steps had ids.
func stepID(v json.RawMessage) string {
	if len(v) == 0 || !strings.Contains(string(v), `"id"`) {
		return ""
	}
	var m struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(v, &m)
	return m.ID
}

// historyFaults returns the fault windows of the nemesis's calls among
// calls, as the faults checker finds them (FaultDetails.Windows); end is
// the history's end, which closes a fault never stopped. Other checkers
// use them to say which faults were in place when something happened.
func historyFaults(calls []history.Call, end int64) []FaultWindow {
	var nem []history.Call
	for _, c := range calls {
		if c.Invoke.Process == history.Nemesis {
			nem = append(nem, c)
		}
	}
	return faultDetails(nem, end, nil).Windows
}

// activeFaults returns the windows of faults that applied and were in
// place at some time in [start, end] (at start, when end = start).
func activeFaults(windows []FaultWindow, start, end int64) []FaultWindow {
	var out []FaultWindow
	for _, w := range windows {
		if w.Applied && w.Start <= end && w.Stop >= start {
			out = append(out, w)
		}
	}
	return out
}

// faultKindsText names the kinds of faults in windows, e.g. "during
// partition and kill", or "with no fault in place".
func faultKindsText(windows []FaultWindow) string {
	var kinds []string
	for _, w := range windows {
		if !slices.Contains(kinds, w.Kind) {
			kinds = append(kinds, w.Kind)
		}
	}
	switch len(kinds) {
	case 0:
		return "with no fault in place"
	case 1:
		return "during " + kinds[0]
	}
	return "during " + strings.Join(kinds[:len(kinds)-1], ", ") + " and " + kinds[len(kinds)-1]
}
