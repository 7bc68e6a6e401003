package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/faultline/faultline/runner"
	"github.com/faultline/faultline/scenarios"
	"github.com/spf13/cobra"
)

func newScenarioCommand(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "scenario",
		Short: "Known bugs as scripted tests: run each on the versions that had it and those that fixed it",
		Long: `A scenario is a known ZooKeeper or Kafka bug (or a dangerous configuration)
as a test: a workload, a cluster, a scripted fault schedule that reaches
the bug, and variants (server versions, configurations) each expected to
find it or not. The scenarios that come with faultline live in scenarios/
(docs/scenarios.md describes the file; --dir reads others).`,
	}
	var dir string
	cmd.PersistentFlags().StringVar(&dir, "dir", "", "read scenarios from this directory of *.json files instead of faultline's own")
	load := func() ([]scenarios.Scenario, error) {
		if dir != "" {
			return scenarios.Dir(dir)
		}
		return scenarios.Builtin()
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the scenarios and their variants",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			all, err := load()
			if err != nil {
				return err
			}
			printScenarioList(cmd.OutOrStdout(), all)
			return nil
		},
	}
	var (
		variant, store string
		tries          int
		all, verify    bool
		junit          junitOut
	)
	run := &cobra.Command{
		Use:   "run [NAME]",
		Short: "Run a scenario's variants until the bug is found or the tries run out, and tabulate what each showed",
		Long: `Runs a scenario (or, with --all, every one) on each of its variants, or on the
one --version names: a variant expected to find the bug stops at its first
invalid run; one expected not to runs every try. Prints a line per try and
a table: variant, what it expects, tries, found, unknown, the first run
that found it and the time to that verdict.

Exit code: with --verify, 0 if every variant showed what it expects (found
in some try; valid in every try), else 1; without, 1 if the bug was found
in any run, else 2 if any run was unknown, else 0. 3 if a run could not run.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			defer func() {
				if jerr := junit.write("scenarios", err); jerr != nil && err == nil {
					err = jerr
				}
			}()
			if (len(args) == 1) == all {
				return fmt.Errorf("give a scenario's name, or --all (see `faultline scenario list`)")
			}
			if tries < 0 || tries > 1000 {
				return fmt.Errorf("--tries %d is out of range: give 1 to 1000 (0: each variant's own)", tries)
			}
			everything, err := load()
			if err != nil {
				return err
			}
			chosen := everything
			if !all {
				chosen = nil
				for _, sc := range everything {
					if sc.Name == args[0] {
						chosen = append(chosen, sc)
					}
				}
				if len(chosen) == 0 {
					return fmt.Errorf("no scenario %q: choose %s", args[0], scenarioNames(everything))
				}
			}
			if variant != "" {
				if all {
					return fmt.Errorf("--version picks a variant of one scenario: drop --all")
				}
				if _, ok := chosen[0].Variant(variant); !ok {
					return fmt.Errorf("scenario %s has no variant %q: choose %s", chosen[0].Name, variant, strings.Join(chosen[0].VariantNames(), ", "))
				}
			}
			term := newTerminal(cmd.ErrOrStderr())
			log, err := g.logger(term)
			if err != nil {
				return err
			}
			ctx, stop := signalContext()
			defer stop()
			out := cmd.OutOrStdout()
			var res []scenarios.Result
			for _, sc := range chosen {
				for _, v := range sc.Variants {
					if variant != "" && v.Name != variant {
						continue
					}
					n := tries
					if n == 0 {
						n = max(v.Tries, 1)
					}
					fmt.Fprintf(out, "%s %s (expect %s): up to %d tries\n", sc.Name, v.Name, v.Expect, n)
					prepare := func(s *runner.Spec, try int) {
						s.Seed, s.Logger, s.Progress = randomSeed(), log, term.progress
						if store != "" {
							s.Store = store
						}
					}
					r := sc.Run(ctx, v.Name, n, prepare, func(ctx context.Context, s runner.Spec) (runner.Outcome, error) {
						began := time.Now()
						o, err := runner.Run(ctx, s)
						if err == nil {
							junit.run(o.Report, o.Dir)
							fmt.Fprintf(out, "  try: %s in %s: %s (%s)\n", verdictWord(o.Report.Valid), time.Since(began).Round(time.Second), found(o.Report), o.Dir)
						} else {
							junit.harness(s.Name, err, o.Dir)
						}
						return o, err
					})
					if r.Err != nil {
						fmt.Fprintf(out, "  could not run: %v\n", r.Err)
					}
					res = append(res, r)
					if ctx.Err() != nil {
						break
					}
				}
			}
			printScenarioTable(out, res)
			return scenarioExit(res, verify)
		},
	}
	run.Flags().StringVar(&variant, "version", "", "run only this variant (a server version such as 3.9.3, or a configuration: see `faultline scenario list`)")
	run.Flags().IntVar(&tries, "tries", 0, "tries per variant (default: each variant's own)")
	run.Flags().StringVar(&store, "store", "store", "the store directory")
	run.Flags().BoolVar(&all, "all", false, "run every scenario")
	run.Flags().BoolVar(&verify, "verify", false, "exit 0 only if every variant showed what it expects (for CI and make scenarios)")
	junit.flag(run.Flags())
	cmd.AddCommand(list, run)
	return cmd
}

func scenarioNames(all []scenarios.Scenario) string {
	var names []string
	for _, sc := range all {
		names = append(names, sc.Name)
	}
	return strings.Join(names, ", ")
}

func printScenarioList(w io.Writer, all []scenarios.Scenario) {
	for _, sc := range all {
		fmt.Fprintf(w, "%s (%s): %s\n  %s\n", sc.Name, sc.Kind, sc.Title, sc.Reference)
		for _, v := range sc.Variants {
			fmt.Fprintf(w, "  variant %-12s expect %-9s tries %d\n", v.Name, v.Expect, max(v.Tries, 1))
		}
	}
}

// printScenarioTable prints what each variant showed.
func printScenarioTable(w io.Writer, res []scenarios.Result) {
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tVARIANT\tSERVERS\tEXPECT\tTRIES\tFOUND\tUNKNOWN\tMET\tFIRST FOUND\tTIME TO FIND")
	for _, r := range res {
		first, took := "-", "-"
		if r.FirstFound != "" {
			first, took = r.FirstFound, r.TimeToFirstFind.Round(time.Second).String()
		}
		met := "yes"
		switch {
		case r.Err != nil:
			met = "could not run: " + oneLine(r.Err.Error())
		case !r.Met():
			met = "NO"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\n", r.Scenario, r.Variant.Name, r.Versions, r.Variant.Expect, len(r.Tries), r.Found, r.Unknown, met, first, took)
	}
	tw.Flush()
}

func scenarioExit(res []scenarios.Result, verify bool) error {
	found, unknown, unmet, broken := false, false, false, false
	for _, r := range res {
		found = found || r.Found > 0
		unknown = unknown || r.Unknown > 0
		unmet = unmet || !r.Met()
		broken = broken || r.Err != nil
	}
	switch {
	case broken:
		return &exitError{code: exitHarness}
	case verify && unmet:
		return &exitError{code: exitInvalid, err: fmt.Errorf("a variant did not show what it expects (see the table)")}
	case verify:
		return nil
	case found:
		return &exitError{code: exitInvalid}
	case unknown:
		return &exitError{code: exitUnknown}
	}
	return nil
}
