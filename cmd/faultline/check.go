package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/results"
	"github.com/faultline/faultline/runner"
	"github.com/faultline/faultline/workloads/registry"
	"github.com/spf13/cobra"
)

func newCheckCommand() *cobra.Command {
	var workload, outDir, consistency string
	var timeout time.Duration
	var maxLine int
	var junit junitOut
	cmd := &cobra.Command{
		Use:   "check DIR|FILE",
		Short: "Check a stored history again: no cluster, no root, no network",
		Long: `Checks a stored run's history again and prints the same summary as the
run, with the same exit code: 0 valid, 1 invalid, 2 unknown, 3 could not
check. DIR is a run's directory (or store/latest); FILE a history.jsonl.
The workload, its options and the faults asked for come from the run's
test.json; --workload checks the history without it (for a history alone,
or a run whose test.json is damaged).`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("`faultline check` takes one run directory or history file, got %d: e.g. `faultline check store/latest`", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			defer func() {
				if jerr := junit.write("check", err); jerr != nil && err == nil {
					err = jerr
				}
			}()
			if timeout <= 0 {
				return fmt.Errorf("--check-timeout %s is not a timeout: give a positive duration such as 5m", timeout)
			}
			path, dir, err := results.Locate(args[0])
			if err != nil {
				return err
			}
			rec, err := recordFor(dir, workload, cmd.Flags().Changed("workload"))
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("consistency") {
				c, ok := rec.WorkloadOptions.(interface{ SetConsistency(string) error })
				if !ok {
					return fmt.Errorf("--consistency says what reads must be, and %s's checkers judge no reads that way: drop it", rec.Workload)
				}
				if err := c.SetConsistency(consistency); err != nil {
					return err
				}
			}
			if maxLine < 1 {
				return fmt.Errorf("--max-line %d is out of range: give a length in bytes, at least 1 (the default is %d, 64 MiB)", maxLine, history.DefaultMaxLine)
			}
			ops, note, err := runner.ReadHistory(path, history.ReadOptions{MaxLine: maxLine})
			if err != nil {
				return fmt.Errorf("check %s: %w", path, err)
			}
			if len(ops) == 0 {
				return fmt.Errorf("check %s: the history has no ops, so there is nothing to check: give the history.jsonl of a run that ran", path)
			}
			ctx, stop := signalContext()
			defer stop()
			rep, err := runner.Judge(ctx, rec, ops, checker.Options{Timeout: timeout})
			if err != nil {
				return fmt.Errorf("check %s: %w", path, err)
			}
			if note != "" {
				rep.Notes = append(rep.Notes, note)
			}
			if msg := runner.Malformed(rep.Checks); msg != "" {
				return fmt.Errorf("check %s: %s (the history format is in docs/history.md)", path, msg)
			}
			if outDir != "" {
				if err := results.WriteFiles(outDir, &rep, results.From(dir, path)); err != nil {
					return err
				}
			} else {
				results.AttachFiles(dir, &rep)
			}
			shown := dir
			if rec.Dir != "" {
				shown = rec.Dir
			}
			junit.run(rep, dir)
			results.PrintSummary(cmd.OutOrStdout(), rep, shown)
			return verdictExit(rep.Valid)
		},
	}
	cmd.Flags().StringVar(&workload, "workload", "", "check the history as this workload's, without test.json: "+workloadNames())
	cmd.Flags().IntVar(&maxLine, "max-line", history.DefaultMaxLine, "the longest history line to read, in bytes (a longer one is an error)")
	cmd.Flags().DurationVar(&timeout, "check-timeout", 5*time.Minute, "how long the checkers may take before the verdict is unknown")
	cmd.Flags().StringVar(&outDir, "out", "", "write results.json, visualizations and plots into this directory (made if missing)")
	junit.flag(cmd.Flags())
	cmd.Flags().StringVar(&consistency, "consistency", "", "zk-register: judge the reads as linearizable or sequential, whatever the run asked for")
	return cmd
}

// recordFor returns what to check a history as: the run's test.json, or,
// with --workload, a bare record of that workload.
func recordFor(dir, workload string, given bool) (runner.Record, error) {
	if given {
		def, err := registry.Lookup(workload)
		if err != nil {
			return runner.Record{}, err
		}
		return runner.Record{Spec: runner.Spec{Workload: def.Name, WorkloadOptions: def.NewOptions()}}, nil
	}
	rec, err := runner.ReadRecord(dir)
	if errors.Is(err, os.ErrNotExist) {
		return runner.Record{}, fmt.Errorf("no %s beside the history in %s: name its workload with --workload (%s)", results.TestFile, filepath.Clean(dir), workloadNames())
	}
	return rec, err
}
