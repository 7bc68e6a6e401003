package results_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	junit "github.com/joshdk/go-junit"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/internal/fixture"
	"github.com/faultline/faultline/results"
)

// junitSchema is Jenkins' junit-10.xsd, the schema CI systems read JUnit
// XML by, as element → allowed attributes (required ones marked "!")
// and allowed children.
var junitSchema = map[string]struct {
	attrs    []string
	children []string
	text     bool
}{
	"testsuites": {attrs: []string{"name", "time", "tests", "failures", "errors"}, children: []string{"testsuite"}},
	"testsuite": {attrs: []string{"!name", "!tests", "!failures", "!errors", "group", "time", "skipped", "timestamp", "hostname", "id", "package", "file", "log", "url"},
		children: []string{"testsuite", "properties", "testcase", "system-out", "system-err"}},
	"properties": {children: []string{"property"}},
	"property":   {attrs: []string{"!name", "!value"}},
	"testcase":   {attrs: []string{"!name", "time", "classname", "group"}, children: []string{"skipped", "error", "failure", "system-out", "system-err"}},
	"failure":    {attrs: []string{"type", "message"}, text: true},
	"error":      {attrs: []string{"type", "message"}, text: true},
	"skipped":    {attrs: []string{"type", "message"}, text: true},
	"system-out": {text: true},
	"system-err": {text: true},
}

// surefireTime is junit-10.xsd's SUREFIRE_TIME pattern.
var surefireTime = regexp.MustCompile(`^(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]*)?$`)

// validateJUnit checks b against junitSchema: the root, every element's
// place, attributes, required attributes and times.
func validateJUnit(b []byte) error {
	dec := xml.NewDecoder(bytes.NewReader(b))
	var stack []string
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := t.Name.Local
			rule, ok := junitSchema[name]
			if !ok {
				return fmt.Errorf("element <%s> is not in the schema", name)
			}
			if len(stack) == 0 && name != "testsuites" && name != "testsuite" {
				return fmt.Errorf("root <%s>", name)
			}
			if len(stack) > 0 && !slices.Contains(junitSchema[stack[len(stack)-1]].children, name) {
				return fmt.Errorf("<%s> inside <%s>", name, stack[len(stack)-1])
			}
			got := map[string]string{}
			for _, a := range t.Attr {
				if !slices.Contains(rule.attrs, a.Name.Local) && !slices.Contains(rule.attrs, "!"+a.Name.Local) {
					return fmt.Errorf("<%s %s=…> is not in the schema", name, a.Name.Local)
				}
				got[a.Name.Local] = a.Value
			}
			for _, a := range rule.attrs {
				if req, ok := strings.CutPrefix(a, "!"); ok {
					if _, ok := got[req]; !ok {
						return fmt.Errorf("<%s> lacks %s", name, req)
					}
				}
			}
			if tm, ok := got["time"]; ok && (name == "testsuite" || name == "testsuites") && !surefireTime.MatchString(tm) {
				return fmt.Errorf("<%s time=%q> is not a time", name, tm)
			}
			stack = append(stack, name)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 && len(bytes.TrimSpace(t)) > 0 && !junitSchema[stack[len(stack)-1]].text {
				return fmt.Errorf("text inside <%s>", stack[len(stack)-1])
			}
		}
	}
	return nil
}

// TestJUnitOfTheFixtureRuns: each run's junit.xml holds to the schema; a
// testcase per checker; the kafka run's queue fails once per anomaly
// kind with its count and first example; the zk run's finding is no
// failure; the unknown run's faults checker is an error with its note.
func TestJUnitOfTheFixtureRuns(t *testing.T) {
	store := t.TempDir()
	if _, err := fixture.Materialize(store); err != nil {
		t.Fatal(err)
	}
	type want struct {
		cases                  []string
		failed, errored        map[string]string // case → text it must hold
		failures               int
		passedWithOut          map[string]string
		properties             map[string]string
		failuresInQueue        []string
		verdict                string
		suiteFailures, suiteEr int
	}
	cases := map[string]want{
		fixture.ValidRun: {cases: []string{"faults", "linearizable-writes", "sequential", "linearizable"}, verdict: "valid",
			passedWithOut: map[string]string{"linearizable": "a finding, not part of the verdict"}},
		fixture.InvalidRun: {cases: []string{"faults", "queue"}, verdict: "invalid", suiteFailures: 1,
			failed:          map[string]string{"queue": `"f":"send","key":"1"`},
			failuresInQueue: []string{"inconsistent-offsets: 76", "lost-write: 75", "nonmonotonic-send: 5"}},
		fixture.UnknownRun: {cases: []string{"faults", "linearizable-writes", "sequential", "linearizable"}, verdict: "unknown", suiteEr: 1,
			errored: map[string]string{"faults": "kill faults were requested but none applied"}},
	}
	for run, w := range cases {
		t.Run(filepath.Dir(run), func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(store, run, results.JUnitFile))
			if err != nil {
				t.Fatal(err)
			}
			if err := validateJUnit(b); err != nil {
				t.Fatalf("junit.xml breaks the schema: %v\n%s", err, b)
			}
			suites, err := junit.Ingest(b)
			if err != nil || len(suites) != 1 {
				t.Fatalf("go-junit read %d suites: %v", len(suites), err)
			}
			s := suites[0]
			var names []string
			for _, tc := range s.Tests {
				names = append(names, tc.Name)
				switch {
				case w.failed[tc.Name] != "":
					if tc.Status != junit.StatusFailed || !strings.Contains(tc.Error.Error(), w.failed[tc.Name]) {
						t.Errorf("%s: %s %v, want a failure showing %s", tc.Name, tc.Status, tc.Error, w.failed[tc.Name])
					}
				case w.errored[tc.Name] != "":
					if tc.Status != junit.StatusError || !strings.Contains(tc.Message, w.errored[tc.Name]) {
						t.Errorf("%s: %s %q, want an error saying %s", tc.Name, tc.Status, tc.Message, w.errored[tc.Name])
					}
				default:
					if tc.Status != junit.StatusPassed {
						t.Errorf("%s: %s %v", tc.Name, tc.Status, tc.Error)
					}
				}
				if out := w.passedWithOut[tc.Name]; out != "" && !strings.Contains(tc.SystemOut, out) {
					t.Errorf("%s's system-out %q lacks %q", tc.Name, tc.SystemOut, out)
				}
			}
			if !slices.Equal(names, w.cases) {
				t.Errorf("testcases %v, want %v", names, w.cases)
			}
			if s.Properties["verdict"] != w.verdict || s.Properties["seed"] == "" || s.Properties["zookeeper_version"] != "3.8.4" {
				t.Errorf("properties %v", s.Properties)
			}
			if s.Totals.Failed != w.suiteFailures || s.Totals.Error != w.suiteEr {
				t.Errorf("totals %+v", s.Totals)
			}
			// Every failure of the queue checker, each its own element.
			var raw results.JUnitSuites
			if err := xml.Unmarshal(b, &raw); err != nil {
				t.Fatal(err)
			}
			for _, c := range raw.Suites[0].Cases {
				if c.Name != "queue" {
					continue
				}
				var msgs []string
				for _, f := range c.Failures {
					msgs = append(msgs, f.Message)
					if f.Text == "" {
						t.Errorf("failure %s has no example", f.Type)
					}
				}
				for _, want := range w.failuresInQueue {
					if !slices.ContainsFunc(msgs, func(m string) bool { return strings.HasPrefix(m, want) }) {
						t.Errorf("no failure %q among %q", want, msgs)
					}
				}
			}
			// No fixture history has a finding: no finding property.
			for _, p := range raw.Suites[0].Properties {
				if strings.HasPrefix(p.Name, "finding.") {
					t.Errorf("finding property %s on a linearizable history", p.Name)
				}
			}
		})
	}
}

// TestJUnitFindingAndHarnessError: a finding is counted in the suite's
// properties and shown in system-out, not failed; a run the harness could
// not finish is one error; several runs make one file with the totals.
func TestJUnitFindingAndHarnessError(t *testing.T) {
	r := findingReport()
	s := results.JUnitRun(r, "/store/x", results.RunInfo{})
	h := results.JUnitHarnessError("zk-register", errors.New("bring the cluster up: zk2 did not start\nlast lines…"), "/store/y")
	path := filepath.Join(t.TempDir(), "all.xml")
	if err := results.WriteJUnit(path, s, h); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if err := validateJUnit(b); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	suites, err := junit.Ingest(b)
	if err != nil || len(suites) != 2 {
		t.Fatalf("%d suites: %v", len(suites), err)
	}
	for _, tc := range suites[0].Tests {
		if tc.Status != junit.StatusPassed {
			t.Errorf("%s is %s: a finding failed the run", tc.Name, tc.Status)
		}
		if tc.Name == "linearizable" && !strings.Contains(tc.SystemOut, "finding: nonlinearizable 2") {
			t.Errorf("system-out %q", tc.SystemOut)
		}
	}
	if suites[0].Properties["finding.linearizable.nonlinearizable"] != "2" {
		t.Errorf("properties %v", suites[0].Properties)
	}
	if h := suites[1].Tests; len(h) != 1 || h[0].Status != junit.StatusError || h[0].Message != "bring the cluster up: zk2 did not start" {
		t.Errorf("harness suite %+v", h)
	}
	var all results.JUnitSuites
	if err := xml.Unmarshal(b, &all); err != nil || all.Tests != 3 || all.Errors != 1 || all.Failures != 0 {
		t.Errorf("totals %+v %v", all, err)
	}
}

// findingReport is a valid zk-register run with two nonlinearizable
// findings.
func findingReport() results.Report {
	writes := checker.Result{Checker: "linearizable-writes", Valid: checker.Valid, DurationMS: 12}
	lin := checker.Result{Checker: "linearizable", Valid: checker.Invalid, Advisory: "not promised by ZooKeeper",
		AnomalyCounts: map[string]int{"nonlinearizable": 2},
		Anomalies:     []checker.Anomaly{{Kind: "nonlinearizable", Key: "r96", Message: "key r96 is not linearizable"}}}
	checks := checker.Compose(writes, lin)
	return results.Report{Test: "zk-register", Workload: "zk-register", Seed: 203, TimeLimit: 20 * time.Second, Valid: checks.Valid, Checks: checks}
}
