package checker

import (
	"strings"

	"github.com/anishathalye/porcupine"
	"github.com/faultline/faultline/history"
)

// faultWindow is a span of time during which the nemesis had a fault in
// place: from the invocation of "start-<kind>" to the completion of the
// "stop-<kind>" after it (or the end of the history). A nemesis op of any
// other name makes a window of its own invocation to completion.
type faultWindow struct {
	kind       string
	start, end int64
	details    string
}

// faultWindows finds the nemesis's fault windows among calls. end is the
// time to close a window that was never stopped.
func faultWindows(calls []history.Call, end int64) []faultWindow {
	var (
		windows []faultWindow
		open    = map[string]int{} // kind and step id → index into windows
	)
	doneAt := func(c history.Call) int64 {
		if c.Completion == nil {
			return end
		}
		return c.Completion.Time
	}
	for _, c := range calls {
		inv := c.Invoke
		if inv.Process != history.Nemesis {
			continue
		}
		switch {
		case strings.HasPrefix(inv.F, "start-"):
			kind := strings.TrimPrefix(inv.F, "start-")
			open[kind+"\x00"+stepID(inv.Value)] = len(windows)
			windows = append(windows, faultWindow{kind: kind, start: inv.Time, end: end, details: describeNemesis(c)})
		case strings.HasPrefix(inv.F, "stop-"):
			key := strings.TrimPrefix(inv.F, "stop-") + "\x00" + stepID(inv.Value)
			if i, ok := open[key]; ok {
				windows[i].end = doneAt(c)
				windows[i].details += "; " + describeNemesis(c)
				delete(open, key)
			}
		default:
			windows = append(windows, faultWindow{kind: inv.F, start: inv.Time, end: doneAt(c), details: describeNemesis(c)})
		}
	}
	return windows
}

// describeNemesis renders a nemesis call for a tooltip.
func describeNemesis(c history.Call) string {
	s := c.Invoke.F
	op := c.Invoke
	if c.Completion != nil {
		op = *c.Completion
		s += " (" + string(op.Type) + ")"
	}
	if len(op.Value) > 0 {
		s += " " + string(op.Value)
	}
	if op.Error != "" {
		s += " error: " + op.Error
	}
	return s
}

// faultAnnotations renders fault windows for porcupine's visualization.
func faultAnnotations(windows []faultWindow) []porcupine.Annotation {
	out := make([]porcupine.Annotation, len(windows))
	for i, w := range windows {
		out[i] = porcupine.Annotation{
			Tag:             "nemesis",
			Start:           w.start,
			End:             w.end,
			Description:     w.kind,
			Details:         w.details,
			BackgroundColor: "#f8d7da",
		}
	}
	return out
}
