package scenarios

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/internal/realtest"
	"github.com/faultline/faultline/results"
	"github.com/faultline/faultline/runner"
)

func runVariant(t *testing.T, name, variant string, tries int) Result {
	t.Helper()
	all, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	sc, ok := find(all, name)
	if !ok {
		t.Fatalf("no scenario %s", name)
	}
	store := t.TempDir()
	r := sc.Run(context.Background(), variant, tries, func(s *runner.Spec, try int) {
		s.Store, s.Seed = store, uint64(4925+try)
	}, runner.Run)
	if r.Err != nil {
		t.Fatalf("%s %s could not run: %v", name, variant, r.Err)
	}
	for i, try := range r.Tries {
		t.Logf("%s %s try %d: %s in %s (%s)", name, variant, i+1, try.Valid, try.Took.Round(1e9), try.Dir)
	}
	return r
}

// finalReadsDisagree counts, per server, the keys whose final read on it
// differs from the other servers' (all of which agree).
func finalReadsDisagree(t *testing.T, dir string) map[string]int {
	t.Helper()
	ops, err := history.ReadFile(filepath.Join(dir, results.HistoryFile))
	if err != nil {
		t.Fatal(err)
	}
	final := map[history.Process]bool{}
	byKey := map[string]map[string]string{} // key → server → value
	for _, op := range ops {
		if op.F != "read" {
			continue
		}
		if op.Type == history.Invoke && json.Valid(op.Value) && string(op.Value) == `{"final":true}` {
			final[op.Process] = true
		}
		if op.Type == history.OK && final[op.Process] {
			if byKey[op.Key] == nil {
				byKey[op.Key] = map[string]string{}
			}
			byKey[op.Key][op.Node] = string(op.Value)
		}
	}
	off := map[string]int{}
	for _, servers := range byKey {
		count := map[string]int{}
		for _, v := range servers {
			count[v]++
		}
		for node, v := range servers {
			if len(servers) > 2 && len(count) == 2 && count[v] == 1 { // one server against all the others
				off[node]++
			}
		}
	}
	return off
}

// TestZooKeeper4925FoundIn393NotIn394 is the proof of the harness: the
// ZOOKEEPER-4925 scenario finds acknowledged writes lost on one server of
// a ZooKeeper 3.9.3 ensemble (the server that DIFF-synced from a leader
// whose committedLog had a hole), and nothing on 3.9.4, which fixed it.
func TestZooKeeper4925FoundIn393NotIn394(t *testing.T) {
	realtest.Require(t)
	bad := runVariant(t, "zookeeper-4925", "3.9.3", 2)
	if bad.Found == 0 {
		t.Fatalf("ZOOKEEPER-4925 not found on 3.9.3 in %d tries", len(bad.Tries))
	}
	off := finalReadsDisagree(t, bad.FirstFound)
	if len(off) != 1 {
		t.Errorf("want one server whose final reads disagree with the others', got %v", off)
	}
	rec, err := runner.ReadRecord(bad.FirstFound)
	if err != nil {
		t.Fatal(err)
	}
	for node, n := range off {
		t.Logf("%s lost the writes to %d keys that the other servers kept", node, n)
	}
	if rec.Versions.ZooKeeper != "3.9.3" {
		t.Errorf("ran ZooKeeper %s", rec.Versions.ZooKeeper)
	}
	good := runVariant(t, "zookeeper-4925", "3.9.4", 1)
	if !good.Met() {
		t.Fatalf("3.9.4: %d found, %d unknown of %d tries; want every try valid", good.Found, good.Unknown, len(good.Tries))
	}
	if off := finalReadsDisagree(t, good.Tries[0].Dir); len(off) != 0 {
		t.Errorf("3.9.4: servers disagree in their final reads: %v", off)
	}
}

// TestUncleanElectionLosesWritesOnlyWhenOn: the unclean-election scenario
// finds acknowledged records replaced with unclean leader election on,
// and nothing with it off.
func TestUncleanElectionLosesWritesOnlyWhenOn(t *testing.T) {
	realtest.Require(t)
	on := runVariant(t, "kafka-unclean-election", "unclean-on", 2)
	if on.Found == 0 {
		t.Fatalf("unclean election on: nothing found in %d tries", len(on.Tries))
	}
	off := runVariant(t, "kafka-unclean-election", "unclean-off", 1)
	if !off.Met() {
		t.Fatalf("unclean election off: %d found, %d unknown of %d tries; want every try valid", off.Found, off.Unknown, len(off.Tries))
	}
}

// lockResult is the lock checker's result in a report.
func lockResult(t *testing.T, r results.Report) (*checker.Result, *checker.LockDetails) {
	t.Helper()
	for _, lr := range r.Checks.Leaves() {
		if lr.Checker == "lock" {
			d, _ := lr.Details.(*checker.LockDetails)
			if d == nil {
				t.Fatalf("lock details %T", lr.Details)
			}
			return &lr, d
		}
	}
	t.Fatal("no lock check in the report")
	return nil, nil
}

// TestZKLockSplitBrainNaiveNotFenced: a client host cut off while one of
// its processes holds the lock, longer than the session timeout: naive
// clients end in a split brain (two processes named, both believing they
// hold l1) and a fencing violation; fenced clients are valid, with the
// overlap counted as harmless and the deposed holder's writes refused.
func TestZKLockSplitBrainNaiveNotFenced(t *testing.T) {
	realtest.Require(t)
	naive := runVariant(t, "zk-lock-split-brain", "naive", 2)
	if naive.Found == 0 {
		t.Fatalf("naive: no split brain in %d tries", len(naive.Tries))
	}
	last := naive.Tries[len(naive.Tries)-1]
	lr, d := lockResult(t, last.Report)
	if d.SplitBrains == 0 || d.Longest == nil || lr.AnomalyCounts["split-brain"] == 0 {
		t.Errorf("naive: split brains %d, counts %v", d.SplitBrains, lr.AnomalyCounts)
	}
	if _, err := os.Stat(filepath.Join(last.Dir, results.LocksPlotFile)); err != nil {
		t.Errorf("naive: no picture of the lock holders: %v", err)
	}
	for _, a := range lr.Anomalies {
		if a.Kind == "split-brain" && !regexp.MustCompile(`processes \d+ \(naive client, token \d+\) and \d+ \(naive client, token \d+\) both believed they held l1 for`).MatchString(a.Message) {
			t.Errorf("naive: the split brain does not name both processes: %s", a.Message)
		}
	}
	fenced := runVariant(t, "zk-lock-split-brain", "fenced", 1)
	if !fenced.Met() {
		t.Fatalf("fenced: %d found, %d unknown of %d tries; want every try valid", fenced.Found, fenced.Unknown, len(fenced.Tries))
	}
	lr, d = lockResult(t, fenced.Tries[0].Report)
	if d.FencedOverlaps == 0 || d.Fenced == 0 || lr.AnomalyCounts["fencing-violation"] != 0 {
		t.Errorf("fenced: overlaps %d, writes refused %d, counts %v; want an overlap, a refused write, no violation", d.FencedOverlaps, d.Fenced, lr.AnomalyCounts)
	}
}
