package main

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline/faultline/internal/fixture"
	"github.com/faultline/faultline/results"
)

// TestCheckJUnitAndReport: `faultline check DIR --out OUT --junit FILE`
// writes the report and junit.xml into OUT and the suite into FILE, with
// the exit code of the verdict.
func TestCheckJUnitAndReport(t *testing.T) {
	store := t.TempDir()
	if err := os.CopyFS(store, os.DirFS(fixture.Dir())); err != nil {
		t.Fatal(err)
	}
	out, file := filepath.Join(t.TempDir(), "out"), filepath.Join(t.TempDir(), "junit.xml")
	var stdout, stderr bytes.Buffer
	code := run([]string{"check", filepath.Join(store, fixture.InvalidRun), "--out", out, "--junit", file}, strings.NewReader(""), &stdout, &stderr)
	if code != exitInvalid {
		t.Fatalf("exit %d: %s %s", code, stdout.String(), stderr.String())
	}
	for _, f := range []string{results.ReportFile, results.JUnitFile, results.ResultsFile, results.UnseenPlotFile} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	var suites results.JUnitSuites
	b, _ := os.ReadFile(file)
	if err := xml.Unmarshal(b, &suites); err != nil || len(suites.Suites) != 1 || suites.Failures != 1 || suites.Suites[0].Name != "kafka-queue" {
		t.Errorf("junit %v: %s", err, b)
	}
	if !strings.Contains(stdout.String(), "report: report.html") {
		t.Errorf("the summary does not point at the report:\n%s", stdout.String())
	}

	// A check that cannot run is one error in the file.
	code = run([]string{"check", filepath.Join(store, "nope"), "--junit", file}, strings.NewReader(""), &stdout, &stderr)
	b, _ = os.ReadFile(file)
	if code != exitHarness || !strings.Contains(string(b), `<error message="`) || !strings.Contains(string(b), `errors="1"`) {
		t.Errorf("exit %d, junit %s", code, b)
	}
}

// TestTestJUnitOnAHarnessError: `faultline test --junit FILE` that cannot
// run writes the error there, for CI to show.
func TestTestJUnitOnAHarnessError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "junit.xml")
	var stdout, stderr bytes.Buffer
	code := run([]string{"test", "--workload", "zk-register", "--concurrency", "0", "--junit", file}, strings.NewReader(""), &stdout, &stderr)
	b, _ := os.ReadFile(file)
	if code != exitHarness || !strings.Contains(string(b), "--concurrency 0 is out of range") || !strings.Contains(string(b), `name="zk-register"`) {
		t.Errorf("exit %d, junit %s", code, b)
	}
}
