package main

import (
	"github.com/faultline/faultline/results"
	"github.com/spf13/pflag"
)

// junitOut collects the JUnit suites of a command's runs for --junit: one
// testsuite per run (each run also writes its own junit.xml).
type junitOut struct {
	path   string
	suites []results.JUnitSuite
}

func (j *junitOut) flag(f *pflag.FlagSet) {
	f.StringVar(&j.path, "junit", "", "also write JUnit XML of the runs into this file (a testsuite per run, a testcase per checker), for CI")
}

// run adds a checked run.
func (j *junitOut) run(r results.Report, dir string) {
	info, _ := results.ReadRunInfo(dir)
	j.suites = append(j.suites, results.JUnitRun(r, dir, info))
}

// harness adds a run the harness could not finish.
func (j *junitOut) harness(test string, err error, dir string) {
	j.suites = append(j.suites, results.JUnitHarnessError(test, err, dir))
}

// write writes the file, if asked for. err is the command's: a command
// that failed before any run is one harness error in the file, so that CI
// sees it.
func (j *junitOut) write(test string, err error) error {
	if j.path == "" {
		return nil
	}
	if len(j.suites) == 0 && err != nil {
		if _, isVerdict := err.(*exitError); !isVerdict {
			j.harness(test, err, "")
		}
	}
	return results.WriteJUnit(j.path, j.suites...)
}
