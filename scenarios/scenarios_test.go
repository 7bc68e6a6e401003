package scenarios

import (
	"context"
	"strings"
	"testing"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/results"
	"github.com/faultline/faultline/runner"
)

// TestBuiltinScenariosAreValid: every scenario that comes with faultline
// parses, and each variant makes a spec that validates with its schedule.
func TestBuiltinScenariosAreValid(t *testing.T) {
	all, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 2 {
		t.Fatalf("%d scenarios", len(all))
	}
	for _, sc := range all {
		found, notFound := 0, 0
		for _, v := range sc.Variants {
			spec, err := sc.Spec(v.Name)
			if err != nil {
				t.Fatal(err)
			}
			if spec.Name != sc.Name+"-"+v.Name || len(spec.Schedule) != len(sc.Schedule) {
				t.Errorf("%s/%s: spec %q with %d steps", sc.Name, v.Name, spec.Name, len(spec.Schedule))
			}
			if v.Expect == ExpectFound {
				found++
			} else {
				notFound++
			}
		}
		if found == 0 || notFound == 0 {
			t.Errorf("%s: a scenario proves something with a variant that finds the bug and one that must not (%d, %d)", sc.Name, found, notFound)
		}
	}
	sc, _ := find(all, "zookeeper-4925")
	spec, _ := sc.Spec("3.9.3")
	if spec.Cluster.ZooKeeperVersion != "3.9.3" || spec.Cluster.ZooKeeperNodes != 5 || spec.Cluster.ZooKeeperConfig["commitLogCount"] != "100000" {
		t.Errorf("the variant did not merge into the test: %+v", spec.Cluster)
	}
}

func find(all []Scenario, name string) (Scenario, bool) {
	for _, sc := range all {
		if sc.Name == name {
			return sc, true
		}
	}
	return Scenario{}, false
}

func TestParseRefusesBadScenarios(t *testing.T) {
	base := `"name":"x","title":"t","kind":"server bug","reference":"r","test":{"workload":"zk-register","time_limit":20000000000},"schedule":[{"kind":"kill","target":"zk1","start":"1s","stop":"2s"}]`
	for _, tc := range []struct{ text, want string }{
		{`{` + base + `}`, "no variants"},
		{`{` + base + `,"variants":[{"name":"a","expect":"maybe"}]}`, `expect "maybe"`},
		{`{` + base + `,"variants":[{"name":"a","expect":"found"},{"name":"a","expect":"found"}]}`, `variant name "a"`},
		{`{` + base + `,"variants":[{"name":"a","expect":"found","spec":{"cluster":{"zookeeper_nodes":12}}}]}`, "--zk-nodes 12 is out of range"},
		{`{` + base + `,"variants":[{"name":"a","expect":"found"}],"extra":1}`, "unknown field"},
		{`{"name":"Bad Name","schedule":[{"kind":"kill","target":"zk1"}],"variants":[{"name":"a","expect":"found"}]}`, "name \"Bad Name\""},
	} {
		if _, err := Parse([]byte(tc.text)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.text, err, tc.want)
		}
	}
}

// TestRunStopsAtTheFirstFindAndCountsTheRest: a variant expected found
// stops at its first invalid try; one expected not found runs every try
// and is met only if each is valid.
func TestRunStopsAtTheFirstFindAndCountsTheRest(t *testing.T) {
	all, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	sc, _ := find(all, "zookeeper-4925")
	verdicts := []checker.Validity{checker.Unknown, checker.Invalid, checker.Valid}
	var ran []string
	fake := func(_ context.Context, spec runner.Spec) (runner.Outcome, error) {
		i := len(ran)
		ran = append(ran, spec.Cluster.ZooKeeperVersion)
		return runner.Outcome{Dir: "store/x/" + string(rune('a'+i)), Report: results.Report{Valid: verdicts[i%len(verdicts)]}}, nil
	}
	r := sc.Run(context.Background(), "3.9.3", 5, nil, fake)
	if len(r.Tries) != 2 || r.Found != 1 || r.Unknown != 1 || r.FirstFound != "store/x/b" || !r.Met() {
		t.Errorf("found variant: %+v", r)
	}
	ran = nil
	verdicts = []checker.Validity{checker.Valid, checker.Valid, checker.Unknown}
	r = sc.Run(context.Background(), "3.9.4", 3, nil, fake)
	if len(r.Tries) != 3 || r.Clean != 2 || r.Unknown != 1 || r.Met() {
		t.Errorf("not-found variant with an unknown try: %+v, met %v", r, r.Met())
	}
	if ran[0] != "3.9.4" {
		t.Errorf("ran %v", ran)
	}
}
