package results

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/faultline/faultline/checker"
)

// JUnitFile is a run's JUnit XML, beside its results.json.
const JUnitFile = "junit.xml"

// JUnit XML, as CI systems read it (Jenkins' junit-10.xsd, which GitLab,
// GitHub actions' reporters and others take too): one testsuite per run,
// a testcase per checker. An anomaly kind of a checker that is part of
// the verdict is a failure (its count, and its first example); a finding
// (an advisory checker's anomalies) is not: it is written to the
// testcase's system-out and counted in the suite's properties; an
// unknown result is an error carrying its notes.

// JUnitSuites is a JUnit XML file: the suites of one or more runs.
type JUnitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr,omitempty"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []JUnitSuite `xml:"testsuite"`
}

// JUnitSuite is one run.
type JUnitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Hostname   string          `xml:"hostname,attr,omitempty"`
	Properties []JUnitProperty `xml:"properties>property,omitempty"`
	Cases      []JUnitCase     `xml:"testcase"`
	SystemOut  string          `xml:"system-out,omitempty"`
}

// JUnitProperty is a name and a value of a suite.
type JUnitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// JUnitCase is one checker's part of a run.
type JUnitCase struct {
	Name      string         `xml:"name,attr"`
	Classname string         `xml:"classname,attr"`
	Time      string         `xml:"time,attr"`
	Failures  []JUnitProblem `xml:"failure"`
	Errors    []JUnitProblem `xml:"error"`
	SystemOut string         `xml:"system-out,omitempty"`
}

// JUnitProblem is a failure or an error.
type JUnitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// maxJUnitExample bounds the example text of a failure.
const maxJUnitExample = 8 << 10

// JUnitRun makes a run's suite from its report. dir is the run's
// directory (a property, so a CI page can point at it); info is its
// test.json, when known (a zero info leaves the start and options out).
func JUnitRun(r Report, dir string, info RunInfo) JUnitSuite {
	name := r.Test
	if name == "" {
		name = r.Workload
	}
	s := JUnitSuite{Name: name, Time: "0"}
	if !info.Start.IsZero() {
		s.Timestamp = info.Start.UTC().Format("2006-01-02T15:04:05")
	}
	if h, err := os.Hostname(); err == nil {
		s.Hostname = h
	}
	prop := func(n, v string) {
		if v != "" {
			s.Properties = append(s.Properties, JUnitProperty{Name: n, Value: v})
		}
	}
	prop("verdict", verdictWord(r.Valid))
	prop("workload", r.Workload)
	prop("seed", strconv.FormatUint(r.Seed, 10))
	if r.TimeLimit > 0 {
		prop("time_limit", r.TimeLimit.String())
	}
	prop("nemesis", strings.Join(info.Nemesis.Kinds, ","))
	prop("zookeeper_version", info.Versions.ZooKeeper)
	prop("kafka_version", info.Versions.Kafka)
	prop("run_dir", dir)
	var total int64
	var unknownLeaf bool
	for _, lr := range r.Checks.Leaves() {
		c := junitCase(name, lr)
		total += lr.DurationMS
		if lr.Advisory != "" {
			for _, k := range slices.Sorted(maps.Keys(lr.AnomalyCounts)) {
				if n := lr.AnomalyCounts[k]; n > 0 {
					prop("finding."+lr.Checker+"."+k, strconv.Itoa(n))
				}
			}
		} else if lr.Valid == checker.Unknown {
			unknownLeaf = true
		}
		s.Cases = append(s.Cases, c)
	}
	// A verdict made unknown by the end of the test (the cluster did not
	// come back, the final reads did not finish) and not by a checker.
	if r.Valid == checker.Unknown && !unknownLeaf {
		s.Cases = append(s.Cases, JUnitCase{Name: "end-of-test", Classname: name, Time: "0",
			Errors: []JUnitProblem{{Message: "unknown: " + firstLine(strings.Join(r.Notes, "; ")), Type: "unknown", Text: strings.Join(r.Notes, "\n")}}})
	} else if len(r.Notes) > 0 {
		s.SystemOut = "notes:\n" + strings.Join(r.Notes, "\n")
	}
	s.Time = junitSeconds(time.Duration(total) * time.Millisecond)
	s.count()
	return s
}

// JUnitHarnessError is the suite of a run the harness could not finish
// (exit code 3): one testcase, an error with why.
func JUnitHarnessError(test string, err error, dir string) JUnitSuite {
	s := JUnitSuite{Name: test, Time: "0"}
	if dir != "" {
		s.Properties = []JUnitProperty{{Name: "run_dir", Value: dir}}
	}
	s.Cases = []JUnitCase{{Name: "harness", Classname: test, Time: "0",
		Errors: []JUnitProblem{{Message: firstLine(err.Error()), Type: "harness", Text: err.Error()}}}}
	s.count()
	return s
}

// count fills in a suite's totals: a testcase with a failure counts as
// failed, one with an error as an error.
func (s *JUnitSuite) count() {
	s.Tests, s.Failures, s.Errors = len(s.Cases), 0, 0
	for _, c := range s.Cases {
		switch {
		case len(c.Errors) > 0:
			s.Errors++
		case len(c.Failures) > 0:
			s.Failures++
		}
	}
}

func junitCase(suite string, lr checker.Result) JUnitCase {
	c := JUnitCase{Name: lr.Checker, Classname: suite, Time: junitSeconds(time.Duration(lr.DurationMS) * time.Millisecond)}
	var out []string
	if lr.Details != nil {
		if head, lines := lr.Details.Summary(); head != "" || len(lines) > 0 {
			out = append(out, strings.TrimSpace(head))
			out = append(out, lines...)
		}
	}
	for _, n := range lr.Notes {
		out = append(out, "note: "+n)
	}
	kinds := slices.Sorted(maps.Keys(lr.AnomalyCounts))
	for _, a := range lr.Anomalies {
		if !slices.Contains(kinds, a.Kind) {
			kinds = append(kinds, a.Kind)
		}
	}
	switch {
	case lr.Advisory != "":
		out = append(out, "a finding, not part of the verdict: "+lr.Advisory)
		for _, k := range kinds {
			out = append(out, fmt.Sprintf("finding: %s %d", k, kindCount(lr, k)))
			if a, ok := firstOf(lr.Anomalies, k); ok {
				out = append(out, anomalyText(a))
			}
		}
	case lr.Valid == checker.Invalid:
		for _, k := range kinds {
			n := kindCount(lr, k)
			if n == 0 {
				continue
			}
			p := JUnitProblem{Message: fmt.Sprintf("%s: %d", k, n), Type: k}
			if a, ok := firstOf(lr.Anomalies, k); ok {
				p.Text = clipText(anomalyText(a), maxJUnitExample)
				p.Message += " (first: " + firstLine(a.Message) + ")"
			}
			c.Failures = append(c.Failures, p)
		}
		if len(c.Failures) == 0 {
			c.Failures = append(c.Failures, JUnitProblem{Message: "invalid", Type: "invalid", Text: strings.Join(lr.Notes, "\n")})
		}
	case lr.Valid == checker.Unknown:
		why := append(slices.Clone(lr.Notes), lr.Error)
		why = slices.DeleteFunc(why, func(s string) bool { return s == "" })
		if len(why) == 0 {
			why = []string{"the checker reached no verdict"}
		}
		c.Errors = append(c.Errors, JUnitProblem{Message: "unknown: " + firstLine(why[0]), Type: "unknown", Text: strings.Join(why, "\n")})
	}
	c.SystemOut = strings.TrimSpace(strings.Join(out, "\n"))
	return c
}

// kindCount is how many anomalies of a kind a result counted (its
// examples, when it counted none).
func kindCount(lr checker.Result, kind string) int {
	if n, ok := lr.AnomalyCounts[kind]; ok {
		return n
	}
	n := 0
	for _, a := range lr.Anomalies {
		if a.Kind == kind {
			n++
		}
	}
	return n
}

func firstOf(as []checker.Anomaly, kind string) (checker.Anomaly, bool) {
	for _, a := range as {
		if a.Kind == kind {
			return a, true
		}
	}
	return checker.Anomaly{}, false
}

// anomalyText is an anomaly's message and its example ops, each as its
// history line.
func anomalyText(a checker.Anomaly) string {
	var b strings.Builder
	b.WriteString(a.Kind)
	if a.Key != "" {
		b.WriteString(" on key " + a.Key)
	}
	b.WriteString(": " + a.Message + "\n")
	for _, op := range a.Ops {
		line, _ := json.Marshal(op)
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.String()
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return clipText(s, 300)
}

// clipText cuts s to about n bytes, on a rune boundary, saying so.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return clip(s, n)
}

func junitSeconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}

// JUnitFileOf wraps suites in a testsuites element, with the totals.
func JUnitFileOf(suites ...JUnitSuite) JUnitSuites {
	f := JUnitSuites{Name: "faultline", Suites: suites}
	var t float64
	for _, s := range suites {
		f.Tests += s.Tests
		f.Failures += s.Failures
		f.Errors += s.Errors
		v, _ := strconv.ParseFloat(s.Time, 64)
		t += v
	}
	f.Time = strconv.FormatFloat(t, 'f', 3, 64)
	return f
}

// Marshal renders the file, with its XML declaration.
func (f JUnitSuites) Marshal() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(f); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// WriteJUnit writes suites to path as one JUnit XML file, atomically.
func WriteJUnit(path string, suites ...JUnitSuite) error {
	b, err := JUnitFileOf(suites...).Marshal()
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}
