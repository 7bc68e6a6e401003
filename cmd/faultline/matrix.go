package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/results"
	"github.com/faultline/faultline/runner"
	"github.com/spf13/cobra"
)

// combination is one cell of a version matrix.
type combination struct {
	kafka, mode, zookeeper string
}

func (c combination) String() string {
	parts := []string{}
	if c.kafka != "" {
		parts = append(parts, "kafka "+c.kafka)
	}
	if c.mode != "" {
		parts = append(parts, c.mode)
	}
	if c.zookeeper != "" {
		parts = append(parts, "zookeeper "+c.zookeeper)
	}
	if len(parts) == 0 {
		return "defaults"
	}
	return strings.Join(parts, ", ")
}

// matrixRow is what one combination gave.
type matrixRow struct {
	combo   combination
	skipped string // why the combination was not run
	err     error  // why it could not run
	report  results.Report
	dir     string
}

func newMatrixCommand(g *globalFlags) *cobra.Command {
	var tf *testFlags
	var junit junitOut
	cmd := &cobra.Command{
		Use:   "matrix",
		Short: "Run the same test on every combination of server versions and Kafka modes, one after the other, and tabulate the verdicts",
		Long: `Runs the same test (same workload, options, seed and fault schedule) on every
combination of --kafka-version, --kafka-mode and --zookeeper-version, each a
comma list, e.g.

  faultline matrix --workload kafka-queue --kafka-version 3.9.2,4.4.0 --kafka-mode zk,kraft --nemesis partition,kill

and prints a table: combination, verdict, ops, what was found, run
directory; --junit FILE writes every run's JUnit XML in one file. A combination that cannot be (Kafka 4.x in ZooKeeper mode) is
listed as skipped with the reason. The seed is drawn once, when not given,
and shared. Every other flag is the test command's.

Exit code: 1 if any combination is invalid, else 3 if any could not run,
else 2 if any is unknown, else 0.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			defer func() {
				if jerr := junit.write("matrix", err); jerr != nil && err == nil {
					err = jerr
				}
			}()
			term := newTerminal(cmd.ErrOrStderr())
			log, err := g.logger(term)
			if err != nil {
				return err
			}
			combos := combinations(
				splitList(tf.spec.Cluster.KafkaVersion, cmd.Flags().Changed("kafka-version")),
				splitList(tf.spec.Cluster.KafkaMode, cmd.Flags().Changed("kafka-mode")),
				splitList(tf.spec.Cluster.ZooKeeperVersion, cmd.Flags().Changed("zookeeper-version")))
			seed := tf.seed
			if !cmd.Flags().Changed("seed") {
				seed = randomSeed()
			}
			base := tf.spec
			ctx, stop := signalContext()
			defer stop()
			out := cmd.OutOrStdout()
			var rows []matrixRow
			for _, c := range combos {
				tf.spec = base
				if c.kafka != "" {
					tf.spec.Cluster.KafkaVersion = c.kafka
				}
				if c.mode != "" {
					tf.spec.Cluster.KafkaMode = c.mode
				}
				if c.zookeeper != "" {
					tf.spec.Cluster.ZooKeeperVersion = c.zookeeper
				}
				row := matrixRow{combo: c}
				if err := tf.toSpec(cmd.Flags()); err != nil {
					row.skipped = err.Error()
					rows = append(rows, row)
					fmt.Fprintf(out, "%s: skipped: %s\n", c, row.skipped)
					continue
				}
				spec := tf.spec
				spec.Seed, spec.Logger = seed, log
				spec.Progress = term.progress
				fmt.Fprintf(out, "%s: seed %d\n", c, seed)
				o, err := runner.Run(ctx, spec)
				row.err, row.report, row.dir = err, o.Report, o.Dir
				if err == nil {
					junit.run(o.Report, o.Dir)
					results.PrintSummary(out, o.Report, o.Dir)
				} else {
					junit.harness(c.String(), err, o.Dir)
					fmt.Fprintf(out, "%s: could not run: %v\n", c, err)
				}
				rows = append(rows, row)
				if ctx.Err() != nil {
					break
				}
			}
			printMatrix(out, rows)
			return matrixExit(rows)
		},
	}
	tf = bindTestFlags(cmd.Flags())
	junit.flag(cmd.Flags())
	for _, name := range []string{"kafka-version", "kafka-mode", "zookeeper-version"} {
		f := cmd.Flags().Lookup(name)
		f.Usage += " (a comma list: one run per combination)"
	}
	return cmd
}

// splitList reads a comma list flag; an unset flag is one empty entry (the
// default).
func splitList(s string, set bool) []string {
	if !set {
		return []string{""}
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return []string{""}
	}
	return out
}

// combinations lists every combination, Kafka versions outermost.
func combinations(kafka, modes, zks []string) []combination {
	var out []combination
	for _, k := range kafka {
		for _, m := range modes {
			for _, z := range zks {
				out = append(out, combination{kafka: k, mode: m, zookeeper: z})
			}
		}
	}
	return out
}

// printMatrix prints the table of a matrix's runs.
func printMatrix(w io.Writer, rows []matrixRow) {
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COMBINATION\tVERDICT\tOPS\tFOUND\tRUN")
	for _, r := range rows {
		switch {
		case r.skipped != "":
			fmt.Fprintf(tw, "%s\tskipped\t\t%s\t\n", r.combo, r.skipped)
		case r.err != nil:
			fmt.Fprintf(tw, "%s\tcould not run\t\t%s\t%s\n", r.combo, oneLine(r.err.Error()), r.dir)
		default:
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", r.combo, verdictWord(r.report.Valid), r.report.Ops.InTimeLimit, found(r.report), r.dir)
		}
	}
	tw.Flush()
}

// found sums what a report's checkers found, per anomaly kind, findings
// marked.
func found(r results.Report) string {
	var parts []string
	for _, lr := range r.Checks.Leaves() {
		for _, k := range slices.Sorted(maps.Keys(lr.AnomalyCounts)) {
			if n := lr.AnomalyCounts[k]; n > 0 {
				p := fmt.Sprintf("%s %d", k, n)
				if lr.Advisory != "" {
					p += " (finding)"
				}
				parts = append(parts, p)
			}
		}
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ", ")
}

func verdictWord(v checker.Validity) string {
	return map[checker.Validity]string{checker.Valid: "VALID", checker.Invalid: "INVALID", checker.Unknown: "UNKNOWN"}[v]
}

// matrixExit is the worst of the rows: invalid, then could not run, then
// unknown.
func matrixExit(rows []matrixRow) error {
	code := exitValid
	rank := map[int]int{exitValid: 0, exitUnknown: 1, exitHarness: 2, exitInvalid: 3}
	for _, r := range rows {
		c := exitValid
		switch {
		case r.skipped != "":
			continue
		case r.err != nil:
			c = exitHarness
		case r.report.Valid == checker.Invalid:
			c = exitInvalid
		case r.report.Valid == checker.Unknown:
			c = exitUnknown
		}
		if rank[c] > rank[code] {
			code = c
		}
	}
	if code == exitValid {
		return nil
	}
	return &exitError{code: code}
}
