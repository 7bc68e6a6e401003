package results

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/faultline/faultline/checker"
)

// maxAnomaliesShown bounds the anomalies a summary lists per checker;
// results.json has all.
const maxAnomaliesShown = 5

// PrintSummary writes what a person reads first: the ops, each checker's
// part of the verdict with what it found, and the verdict. A run prints
// it at its end, and `faultline check` prints the same from the stored
// files.
func PrintSummary(w io.Writer, r Report, runDir string) {
	if r.TimeLimit > 0 {
		fmt.Fprintf(w, "%d ops in %s, %.0f ops/s, seed %d\n", r.Ops.InTimeLimit, r.TimeLimit, r.Ops.PerSecond, r.Seed)
	}
	if len(r.Ops.ByF) > 0 {
		printCounts(w, r.Ops.ByF)
	}
	for _, lr := range r.Checks.Leaves() {
		printLeaf(w, lr)
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note: "+n)
	}
	if slices.Contains(r.Files, ReportFile) {
		fmt.Fprintf(w, "report: %s\n", ReportFile)
	}
	if glance := glanceLine(r.Checks); glance != "" {
		fmt.Fprintln(w, glance)
	}
	verdict := map[checker.Validity]string{checker.Valid: "VALID", checker.Invalid: "INVALID", checker.Unknown: "UNKNOWN"}[r.Valid]
	if runDir != "" {
		fmt.Fprintf(w, "verdict: %s   %s\n", verdict, runDir)
	} else {
		fmt.Fprintf(w, "verdict: %s\n", verdict)
	}
}

// printLeaf renders one checker's part.
func printLeaf(w io.Writer, lr checker.Result) {
	var head string
	var lines []string
	if lr.Details != nil {
		head, lines = lr.Details.Summary()
	}
	if quiet(lr) {
		return
	}
	var extra []string
	if head != "" {
		extra = append(extra, head)
	}
	line := fmt.Sprintf("%s: %s", lr.Checker, lr.Valid)
	if len(extra) > 0 {
		line += " (" + strings.Join(extra, ", ") + ")"
	}
	prefix := "  "
	if lr.Advisory != "" {
		line += " — a finding, not part of the verdict: " + lr.Advisory
		prefix = "  finding: "
	}
	fmt.Fprintln(w, line)
	for _, l := range lines {
		fmt.Fprintln(w, "    "+l)
	}
	if found := anomalyCounts(lr.AnomalyCounts); found != "" {
		fmt.Fprintln(w, "  found: "+found)
	}
	for _, n := range lr.Notes {
		fmt.Fprintln(w, "  note: "+n)
	}
	if lr.Error != "" {
		fmt.Fprintln(w, "  error: "+lr.Error)
	}
	for i, a := range lr.Anomalies {
		if i == maxAnomaliesShown {
			fmt.Fprintf(w, "  ... and %d more in %s\n", len(lr.Anomalies)-i, ResultsFile)
			break
		}
		where := ""
		if a.Key != "" {
			where = " on key " + a.Key
		}
		fmt.Fprintf(w, "%s%s%s: %s\n", prefix, a.Kind, where, a.Message)
		for _, op := range a.Ops {
			fmt.Fprintf(w, "    %s\n", clip(op.String(), maxOpLine))
		}
	}
	if len(lr.Files) > 0 {
		fmt.Fprintf(w, "  see %s\n", strings.Join(lr.Files, ", "))
	}
}

func printCounts(w io.Writer, counts map[string]checker.Counts) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "f\tok\tfail\tinfo\tincomplete\t")
	for _, f := range slices.Sorted(maps.Keys(counts)) {
		c := counts[f]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t\n", f, c.OK, c.Fail, c.Info, c.Incomplete)
	}
	tw.Flush()
}

// maxOpLine bounds an example op's line in the summary; results.json
// holds it whole.
const maxOpLine = 240

// clip shortens s to at most n bytes (on a rune boundary), marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + " …"
}

// anomalyCounts renders per-kind anomaly counts, the nonzero ones, e.g.
// "inconsistent-offsets 14990, lost-write 14967".
func anomalyCounts(counts map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		if counts[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, counts[k]))
		}
	}
	return strings.Join(parts, ", ")
}

// glanceLine shows every part of the verdict at once, e.g.
// "checks: faults ✓  linearizable-writes ✓  sequential ✓  linearizable ✗ (finding)".
func glanceLine(r checker.Result) string {
	leaves := r.Leaves()
	if len(leaves) < 2 {
		return ""
	}
	mark := map[checker.Validity]string{checker.Valid: "✓", checker.Invalid: "✗", checker.Unknown: "?"}
	var parts []string
	for _, lr := range leaves {
		if quiet(lr) {
			continue
		}
		p := lr.Checker + " " + mark[lr.Valid]
		if lr.Advisory != "" {
			p += " (finding)"
		}
		parts = append(parts, p)
	}
	return "checks: " + strings.Join(parts, "  ")
}

// quiet says whether a result has nothing to say: the faults checker of a
// run that asked for none and had none.
func quiet(lr checker.Result) bool {
	fd, ok := lr.Details.(*checker.FaultDetails)
	return ok && len(fd.Kinds) == 0 && len(fd.Windows) == 0 && fd.Heal == nil && lr.Valid == checker.Valid
}
