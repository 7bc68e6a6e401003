package checker

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/history"
)

// TestTestdataHistories checks every history in testdata: each
// testdata/<name>.jsonl (a history.jsonl as a run writes it; a partly
// written last line is dropped, as `faultline check` does) comes with
// testdata/<name>.want.json, which names the checkers to run and what each
// must find, e.g.
//
//	{"linearizable-writes": {"valid": true},
//	 "sequential": {"valid": true},
//	 "linearizable": {"valid": false, "anomalies": ["nonlinearizable"]}}
//
// "valid" is true, false or "unknown"; "anomalies", when given, lists the
// kinds of anomaly found, exactly ([] for none). To add a real run's history, copy it
// here and write its want file; -update-want writes want files from what
// the checkers find now (check them by hand before committing).
func TestTestdataHistories(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Skip("no histories in testdata")
	}
	for _, path := range paths {
		name := strings.TrimSuffix(filepath.Base(path), ".jsonl")
		t.Run(name, func(t *testing.T) {
			ops, err := history.ReadFile(path)
			if err != nil && !errors.Is(err, history.ErrTruncatedTail) {
				t.Fatal(err)
			}
			wantPath := strings.TrimSuffix(path, ".jsonl") + ".want.json"
			if *updateWant {
				writeWant(t, wantPath, ops)
			}
			b, err := os.ReadFile(wantPath)
			if err != nil {
				t.Fatalf("%v: every history in testdata needs a want file naming the checkers to run and their verdicts", err)
			}
			var want map[string]testdataWant
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatalf("%s: %v", wantPath, err)
			}
			if len(want) == 0 {
				t.Fatalf("%s names no checker", wantPath)
			}
			for _, name := range slices.Sorted(maps.Keys(want)) {
				w := want[name]
				c, ok := testdataCheckers[name]
				if !ok {
					t.Errorf("%s: no checker %q", wantPath, name)
					continue
				}
				res := c.Check(context.Background(), ops, Options{Timeout: 5 * time.Minute})
				if res.Valid != w.Valid {
					t.Errorf("%s: valid %v, want %v (error %q, notes %q, anomalies %v)", name, res.Valid, w.Valid, res.Error, res.Notes, res.AnomalyCounts)
				}
				if w.Anomalies != nil {
					if got := anomalyKinds(res); !slices.Equal(got, w.sortedAnomalies()) {
						t.Errorf("%s: anomalies %v, want %v", name, got, w.sortedAnomalies())
					}
				}
			}
		})
	}
}

var updateWant = flag.Bool("update-want", false, "write testdata/*.want.json from what the checkers find")

// testdataCheckers are the checkers a want file may name.
var testdataCheckers = map[string]Checker{
	"linearizable":        Linearizable{},
	"linearizable-writes": LinearizableWrites{},
	"sequential":          Sequential{},
	"queue":               Queue{},
}

// testdataWant is what a checker must find in a testdata history.
type testdataWant struct {
	Valid     Validity `json:"valid"`
	Anomalies []string `json:"anomalies"` // nil: not checked
}

func (w testdataWant) sortedAnomalies() []string {
	s := slices.Clone(w.Anomalies)
	slices.Sort(s)
	return s
}

// anomalyKinds lists the kinds res found, sorted.
func anomalyKinds(res Result) []string {
	kinds := []string{}
	for k, n := range res.AnomalyCounts {
		if n > 0 {
			kinds = append(kinds, k)
		}
	}
	slices.Sort(kinds)
	return kinds
}

// writeWant writes a want file for the zk-register checkers from what they
// find in ops.
func writeWant(t *testing.T, path string, ops []history.Op) {
	want := map[string]testdataWant{}
	for _, name := range []string{"linearizable", "linearizable-writes", "sequential"} {
		res := testdataCheckers[name].Check(context.Background(), ops, Options{Timeout: 5 * time.Minute})
		want[name] = testdataWant{Valid: res.Valid, Anomalies: anomalyKinds(res)}
	}
	b, err := json.MarshalIndent(want, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}
