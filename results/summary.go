package results

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/faultline/faultline/checker"
)

// maxAnomaliesShown bounds the anomalies a summary lists; results.json has all.
const maxAnomaliesShown = 5

// PrintSummary writes what a person reads first: counts per f and outcome,
// each checker's verdict, the anomalies with their ops, and the verdict.
func PrintSummary(w io.Writer, r checker.Result, runDir string) {
	leaves := leafResults(r)
	for _, lr := range leaves {
		if counts, ok := lr.Details["counts"].(map[string]map[string]int); ok {
			printCounts(w, counts)
			break
		}
	}
	if faults, ok := r.Details["faults"].(interface{ Lines() []string }); ok {
		lines := faults.Lines()
		fmt.Fprintf(w, "faults (%d):\n", len(lines))
		for _, l := range lines {
			fmt.Fprintln(w, "  "+l)
		}
	}
	for _, lr := range leaves {
		line := fmt.Sprintf("%s: %s", lr.Checker, lr.Valid)
		var extra []string
		if k, ok := lr.Details["keys"]; ok {
			extra = append(extra, fmt.Sprintf("%v keys", k))
		}
		if ms, ok := lr.Details["duration_ms"]; ok {
			extra = append(extra, fmt.Sprintf("checked in %vms", ms))
		}
		if len(extra) > 0 {
			line += " (" + strings.Join(extra, ", ") + ")"
		}
		fmt.Fprintln(w, line)
		if found := anomalyCounts(lr.Details); found != "" {
			fmt.Fprintln(w, "  found: "+found)
		}
		if u, ok := lr.Details["unseen"]; ok {
			fmt.Fprintf(w, "  acknowledged sends never read: %v; info sends read after all (recovered): %v\n", u, lr.Details["recovered"])
		}
		for _, n := range lr.Notes {
			fmt.Fprintln(w, "  note: "+n)
		}
		if lr.Error != "" {
			fmt.Fprintln(w, "  error: "+lr.Error)
		}
		for i, a := range lr.Anomalies {
			if i == maxAnomaliesShown {
				fmt.Fprintf(w, "  ... and %d more anomalies in %s\n", len(lr.Anomalies)-i, ResultsFile)
				break
			}
			where := ""
			if a.Key != "" {
				where = " on key " + a.Key
			}
			fmt.Fprintf(w, "  %s%s: %s\n", a.Kind, where, a.Message)
			for _, op := range a.Ops {
				fmt.Fprintf(w, "    %s\n", clip(op.String(), maxOpLine))
			}
		}
		if files, ok := lr.Details["files"].([]string); ok && len(files) > 0 {
			fmt.Fprintf(w, "  see %s\n", strings.Join(files, ", "))
		}
	}
	if len(r.Results) > 0 {
		for _, n := range r.Notes {
			fmt.Fprintln(w, "note: "+n)
		}
	}
	verdict := map[checker.Validity]string{checker.Valid: "VALID", checker.Invalid: "INVALID", checker.Unknown: "UNKNOWN"}[r.Valid]
	if runDir != "" {
		fmt.Fprintf(w, "verdict: %s   %s\n", verdict, runDir)
	} else {
		fmt.Fprintf(w, "verdict: %s\n", verdict)
	}
}

func leafResults(r checker.Result) []checker.Result {
	if len(r.Results) == 0 {
		return []checker.Result{r}
	}
	var out []checker.Result
	for _, sub := range r.Results {
		out = append(out, leafResults(sub)...)
	}
	return out
}

func printCounts(w io.Writer, counts map[string]map[string]int) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "f\tok\tfail\tinfo\tincomplete\t")
	for _, f := range slices.Sorted(maps.Keys(counts)) {
		c := counts[f]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t\n", f, c["ok"], c["fail"], c["info"], c["incomplete"])
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

// anomalyCounts renders a checker's per-kind anomaly counts, the nonzero
// ones, e.g. "lost-write 14967, inconsistent-offsets 14990".
func anomalyCounts(details map[string]any) string {
	counts, ok := details["anomaly_counts"].(map[string]int)
	if !ok {
		return ""
	}
	kinds := make([]string, 0, len(counts))
	for k, n := range counts {
		if n > 0 {
			kinds = append(kinds, k)
		}
	}
	sort.Strings(kinds)
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%s %d", k, counts[k])
	}
	return strings.Join(parts, ", ")
}
