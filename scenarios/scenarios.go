// Package scenarios holds faultline's known-bug scenarios: each a small
// JSON file naming a test (workload, cluster, options), a scripted fault
// schedule, and variants (server versions, configurations) with the
// verdict each should get: the bug found where it exists, never where it
// was fixed or is configured away. `faultline scenario` lists and runs
// them; docs/scenarios.md describes the file.
package scenarios

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/nemesis"
	"github.com/faultline/faultline/results"
	"github.com/faultline/faultline/runner"
)

//go:embed *.json
var builtin embed.FS

// Expectations of a variant.
const (
	ExpectFound    = "found"     // the bug is there: some try is invalid
	ExpectNotFound = "not-found" // fixed or configured away: every try is valid
)

// Scenario is one known bug and how to show it.
type Scenario struct {
	// Name names the scenario (its file's name without .json).
	Name string `json:"name"`
	// Title says what the bug does, in a line.
	Title string `json:"title"`
	// Kind says what it is: "server bug", "configuration" or "client" (an
	// application's use of the servers, such as a lock recipe).
	Kind string `json:"kind"`
	// Reference is where it is told: the JIRA, the fix.
	Reference string `json:"reference"`
	// Notes say how the schedule reaches it, and what faultline sees.
	Notes string `json:"notes,omitempty"`
	// Test is the test's spec, as test.json records one (workload,
	// workload_options, time_limit, cluster, …); variants add to it.
	Test json.RawMessage `json:"test"`
	// Schedule is the scripted fault schedule (see nemesis.Step).
	Schedule []nemesis.Step `json:"schedule"`
	// Variants are the versions or configurations to run it on.
	Variants []Variant `json:"variants"`
}

// Variant is one version or configuration of a scenario.
type Variant struct {
	// Name names it, e.g. the server version "3.9.3", or "unclean-on".
	Name string `json:"name"`
	// Spec is merged into the scenario's Test (objects key by key).
	Spec json.RawMessage `json:"spec"`
	// Expect is found or not-found.
	Expect string `json:"expect"`
	// Tries is how many runs to give it (default 1): a found variant
	// stops at its first find, a not-found one runs them all.
	Tries int `json:"tries,omitempty"`
}

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*$`)

// Builtin returns the scenarios that come with faultline, by name.
func Builtin() ([]Scenario, error) { return load(builtin, ".") }

// Dir returns the scenarios in a directory of *.json files.
func Dir(dir string) ([]Scenario, error) { return load(os.DirFS(dir), ".") }

func load(fsys fs.FS, dir string) ([]Scenario, error) {
	names, err := fs.Glob(fsys, filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	var out []Scenario
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		sc, err := Parse(b)
		if err != nil {
			return nil, fmt.Errorf("scenario %s: %w", name, err)
		}
		if want := strings.TrimSuffix(filepath.Base(name), ".json"); sc.Name != want {
			return nil, fmt.Errorf("scenario %s: its name is %q; name the file %s.json", name, sc.Name, sc.Name)
		}
		out = append(out, sc)
	}
	slices.SortFunc(out, func(a, b Scenario) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Parse reads a scenario and checks what it can without a cluster: every
// variant makes a valid spec with the schedule.
func Parse(b []byte) (Scenario, error) {
	var sc Scenario
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sc); err != nil {
		return sc, err
	}
	if !namePattern.MatchString(sc.Name) {
		return sc, fmt.Errorf("name %q: use lower-case letters, digits, '.' and '-'", sc.Name)
	}
	if len(sc.Schedule) == 0 {
		return sc, errors.New("no schedule: a scenario is a scripted fault schedule")
	}
	if len(sc.Variants) == 0 {
		return sc, errors.New("no variants: give the versions or configurations to run it on")
	}
	seen := map[string]bool{}
	for _, v := range sc.Variants {
		if !namePattern.MatchString(v.Name) || seen[v.Name] {
			return sc, fmt.Errorf("variant name %q: give each variant its own name of lower-case letters, digits, '.' and '-'", v.Name)
		}
		seen[v.Name] = true
		if v.Expect != ExpectFound && v.Expect != ExpectNotFound {
			return sc, fmt.Errorf("variant %s: expect %q: give found or not-found", v.Name, v.Expect)
		}
		if v.Tries < 0 || v.Tries > 1000 {
			return sc, fmt.Errorf("variant %s: tries %d is out of range: give 1 to 1000", v.Name, v.Tries)
		}
		spec, err := sc.Spec(v.Name)
		if err != nil {
			return sc, err
		}
		if err := spec.Defaults().Validate(); err != nil {
			return sc, fmt.Errorf("variant %s: %w", v.Name, err)
		}
	}
	return sc, nil
}

// Variant finds a variant by name.
func (sc Scenario) Variant(name string) (Variant, bool) {
	i := slices.IndexFunc(sc.Variants, func(v Variant) bool { return v.Name == name })
	if i < 0 {
		return Variant{}, false
	}
	return sc.Variants[i], true
}

// VariantNames lists the variants' names.
func (sc Scenario) VariantNames() []string {
	var names []string
	for _, v := range sc.Variants {
		names = append(names, v.Name)
	}
	return names
}

// Spec is a variant's test spec: the scenario's test with the variant's
// spec merged in, the schedule, and the name "<scenario>-<variant>".
func (sc Scenario) Spec(variant string) (runner.Spec, error) {
	v, ok := sc.Variant(variant)
	if !ok {
		return runner.Spec{}, fmt.Errorf("scenario %s has no variant %q: choose %s", sc.Name, variant, strings.Join(sc.VariantNames(), ", "))
	}
	merged, err := merge(sc.Test, v.Spec)
	if err != nil {
		return runner.Spec{}, fmt.Errorf("variant %s: %w", v.Name, err)
	}
	var spec runner.Spec
	if err := json.Unmarshal(merged, &spec); err != nil {
		return runner.Spec{}, fmt.Errorf("variant %s's test: %w", v.Name, err)
	}
	spec.Name = sc.Name + "-" + v.Name
	spec.Schedule = slices.Clone(sc.Schedule)
	return spec, nil
}

// merge merges JSON object b into a, objects key by key; b's other
// values replace a's.
func merge(a, b json.RawMessage) (json.RawMessage, error) {
	if len(b) == 0 || string(b) == "null" {
		return a, nil
	}
	if len(a) == 0 || string(a) == "null" {
		return b, nil
	}
	var am, bm map[string]json.RawMessage
	if json.Unmarshal(a, &am) != nil || json.Unmarshal(b, &bm) != nil {
		return b, nil // not both objects: b replaces a
	}
	for k, bv := range bm {
		if av, ok := am[k]; ok {
			m, err := merge(av, bv)
			if err != nil {
				return nil, err
			}
			am[k] = m
		} else {
			am[k] = bv
		}
	}
	return json.Marshal(am)
}

// Try is one run of a variant.
type Try struct {
	Dir   string
	Valid checker.Validity
	// Took is the run's wall time, bring-up to verdict.
	Took time.Duration
	// Report is the run's verdict and what the checkers found.
	Report results.Report
}

// Result is what a variant's tries showed.
type Result struct {
	Scenario string
	Variant  Variant
	// Versions are the servers the runs had ("ZooKeeper 3.9.3", …).
	Versions string
	Tries    []Try
	// Found counts invalid tries, Clean valid ones, Unknown the rest.
	Found, Clean, Unknown int
	// FirstFound is the first invalid try's directory, and
	// TimeToFirstFind the wall time from the first try's start to its
	// verdict.
	FirstFound      string
	TimeToFirstFind time.Duration
	// Err is why a try could not run at all (the harness failed).
	Err error
}

// Met says whether the variant showed what it expects: found in some try,
// or valid in every try.
func (r Result) Met() bool {
	if r.Err != nil {
		return false
	}
	if r.Variant.Expect == ExpectFound {
		return r.Found > 0
	}
	return r.Found == 0 && r.Clean == len(r.Tries) && len(r.Tries) > 0
}

// RunFunc runs one test (runner.Run, or a stand-in in unit tests).
type RunFunc func(ctx context.Context, spec runner.Spec) (runner.Outcome, error)

// Run runs a variant up to tries times (0: the variant's own, default 1):
// a variant expected found stops at its first find; one expected not
// found runs every try. prepare may adjust each try's spec (store, seed,
// logger).
func (sc Scenario) Run(ctx context.Context, variant string, tries int, prepare func(*runner.Spec, int), run RunFunc) Result {
	v, _ := sc.Variant(variant)
	res := Result{Scenario: sc.Name, Variant: v}
	spec, err := sc.Spec(variant)
	if err != nil {
		res.Err = err
		return res
	}
	if tries <= 0 {
		tries = max(v.Tries, 1)
	}
	began := time.Now()
	for i := 1; i <= tries; i++ {
		s := spec
		s.Schedule = slices.Clone(spec.Schedule)
		if prepare != nil {
			prepare(&s, i)
		}
		start := time.Now()
		out, err := run(ctx, s)
		if err != nil {
			res.Err = err
			if out.Dir != "" {
				res.Err = fmt.Errorf("%w (the run's files are in %s)", err, out.Dir)
			}
			return res
		}
		try := Try{Dir: out.Dir, Valid: out.Report.Valid, Took: time.Since(start), Report: out.Report}
		res.Tries = append(res.Tries, try)
		if res.Versions == "" {
			res.Versions = versionsOf(out.Dir)
		}
		switch try.Valid {
		case checker.Invalid:
			res.Found++
			if res.FirstFound == "" {
				res.FirstFound, res.TimeToFirstFind = out.Dir, time.Since(began)
			}
		case checker.Valid:
			res.Clean++
		default:
			res.Unknown++
		}
		if res.Found > 0 && v.Expect == ExpectFound {
			break
		}
		if ctx.Err() != nil {
			res.Err = ctx.Err()
			return res
		}
	}
	return res
}

// versionsOf reads the servers' versions from a run's test.json.
func versionsOf(dir string) string {
	if dir == "" {
		return ""
	}
	rec, err := runner.ReadRecord(dir)
	if err != nil {
		return ""
	}
	var parts []string
	if rec.Cluster.ZooKeeperNodes > 0 && rec.Versions.ZooKeeper != "" {
		parts = append(parts, "ZooKeeper "+rec.Versions.ZooKeeper)
	}
	if rec.Cluster.KafkaNodes > 0 && rec.Versions.Kafka != "" {
		parts = append(parts, "Kafka "+rec.Versions.Kafka)
	}
	return strings.Join(parts, ", ")
}
