package runner

import (
	"context"
	"github.com/faultline/faultline/internal/realtest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/nemesis"
	"github.com/faultline/faultline/results"
	"github.com/faultline/faultline/workloads/zkregister"
)

// runZKRegister runs zk-register for 20s without faults in a fresh store.
func runZKRegister(t *testing.T, reads zkregister.ReadMode) Outcome {
	t.Helper()
	realtest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := Run(ctx, Spec{
		TimeLimit:   20 * time.Second,
		Concurrency: 10,
		Seed:        42,
		Store:       t.TempDir(),
		ZKRegister:  zkregister.Options{Reads: reads},
	})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	assertStored(t, out)
	return out
}

// assertStored checks the run's directory holds what a person needs.
func assertStored(t *testing.T, out Outcome) {
	t.Helper()
	for _, f := range []string{results.TestFile, results.HistoryFile, results.ResultsFile, results.LogFile,
		"zk1/zookeeper.log", "zk2/zookeeper.log", "zk3/zookeeper.log", "kafka1/server.log"} {
		if st, err := os.Stat(filepath.Join(out.Dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s is missing or empty in %s: %v", f, out.Dir, err)
		}
	}
	if _, err := os.Stat(filepath.Join(out.Dir, "zk1", "data")); !os.IsNotExist(err) {
		t.Errorf("zk1's data directory was kept without --keep-data")
	}
	latest, err := filepath.EvalSymlinks(filepath.Join(filepath.Dir(filepath.Dir(out.Dir)), "latest"))
	if err != nil || latest != out.Dir {
		t.Errorf("store/latest points at %q (%v), want %s", latest, err, out.Dir)
	}
}

// countsOf returns the ok ops per f.
func okCounts(t *testing.T, r checker.Result) map[string]int {
	t.Helper()
	for _, sub := range r.Results {
		if counts, ok := sub.Details["counts"].(map[string]map[string]int); ok {
			okc := map[string]int{}
			for f, c := range counts {
				okc[f] = c["ok"]
			}
			return okc
		}
	}
	t.Fatal("no counts in the result")
	return nil
}

// TestZKRegisterWritesAreLinearizable: with no reads but the final ones,
// ZooKeeper's writes and compare-and-sets must be linearizable.
func TestZKRegisterWritesAreLinearizable(t *testing.T) {
	out := runZKRegister(t, zkregister.ReadNone)
	if out.Result.Valid != checker.Valid {
		t.Fatalf("verdict %s, want valid: %+v", out.Result.Valid, out.Result)
	}
	okc := okCounts(t, out.Result)
	if okc["write"] < 1000 || okc["cas"] < 100 || okc["read"] < 1 {
		t.Errorf("too few ok ops to mean anything: %v", okc)
	}
	assertOfflineCheckAgrees(t, out, WorkloadZKRegister)
}

// TestZKRegisterSyncReads: sync, then get. ZooKeeper's sync makes a
// follower catch up with the leader; a read the leader serves itself does
// not wait for the leader to apply what it committed, so a stale read there
// is ZooKeeper's behaviour, not the harness's. Anything else is a failure.
func TestZKRegisterSyncReads(t *testing.T) {
	out := runZKRegister(t, zkregister.ReadSync)
	okc := okCounts(t, out.Result)
	if okc["read"] < 1000 || okc["write"] < 500 || okc["cas"] < 100 {
		t.Errorf("too few ok ops to mean anything: %v", okc)
	}
	switch out.Result.Valid {
	case checker.Valid:
	case checker.Invalid:
		leader := zkLeaderOf(t, out.Dir)
		for _, a := range leafAnomalies(out.Result) {
			if a.At == nil || a.At.F != "read" || a.At.Node != leader {
				t.Errorf("anomaly that is not a stale read served by the leader %s: %s", leader, a.Message)
			}
		}
		t.Logf("ZooKeeper served %d stale sync reads from its leader %s", len(leafAnomalies(out.Result)), leader)
	default:
		t.Fatalf("verdict %s", out.Result.Valid)
	}
	assertOfflineCheckAgrees(t, out, WorkloadZKRegister)
}

// TestZKRegisterLocalReads: plain gets, which ZooKeeper documents may be
// stale. The checker must reach a verdict, and blame only reads.
func TestZKRegisterLocalReads(t *testing.T) {
	out := runZKRegister(t, zkregister.ReadLocal)
	if okc := okCounts(t, out.Result); okc["read"] < 1000 {
		t.Errorf("too few ok reads: %v", okc)
	}
	if out.Result.Valid == checker.Unknown {
		t.Fatalf("verdict unknown: %+v", out.Result)
	}
	for _, a := range leafAnomalies(out.Result) {
		if a.At == nil || a.At.F != "read" {
			t.Errorf("anomaly not on a read: %s", a.Message)
		}
	}
	t.Logf("verdict with local reads: %s, %d keys with stale reads", out.Result.Valid, len(leafAnomalies(out.Result)))
	assertOfflineCheckAgrees(t, out, WorkloadZKRegister)
}

func leafAnomalies(r checker.Result) []checker.Anomaly {
	as := r.Anomalies
	for _, sub := range r.Results {
		as = append(as, leafAnomalies(sub)...)
	}
	return as
}

// zkLeaderOf finds the ZooKeeper node that led, from the stored logs.
func zkLeaderOf(t *testing.T, dir string) string {
	t.Helper()
	var leaders []string
	for _, n := range []string{"zk1", "zk2", "zk3"} {
		b, err := os.ReadFile(filepath.Join(dir, n, "zookeeper.log"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "LEADING - LEADER ELECTION TOOK") {
			leaders = append(leaders, n)
		}
	}
	if len(leaders) != 1 {
		t.Fatalf("leaders in the logs: %v, want one", leaders)
	}
	return leaders[0]
}

// assertOfflineCheckAgrees re-checks the stored history as `faultline
// check` does and expects the run's verdict.
func assertOfflineCheckAgrees(t *testing.T, out Outcome, workload string) {
	t.Helper()
	path := filepath.Join(out.Dir, results.HistoryFile)
	ops, err := history.ReadFile(path)
	if err != nil {
		t.Fatalf("stored history does not read back: %v", err)
	}
	if len(ops) < 2*int(out.Ops) {
		t.Errorf("history has %d ops for %d completed calls", len(ops), out.Ops)
	}
	res, err := Check(context.Background(), path, workload, nil, checker.Options{Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if res.Valid != out.Result.Valid {
		t.Errorf("offline check says %s, the run said %s", res.Valid, out.Result.Valid)
	}
}

// TestZKRegisterUnderFaults: partitions, kills and pauses for 60s; with no
// reads but the final ones, ZooKeeper's writes must stay linearizable, and
// every fault must be in the history and healed.
func TestZKRegisterUnderFaults(t *testing.T) {
	realtest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, err := Run(ctx, Spec{
		TimeLimit:   60 * time.Second,
		Concurrency: 10,
		Seed:        1234,
		Store:       t.TempDir(),
		ZKRegister:  zkregister.Options{Reads: zkregister.ReadNone},
		Nemesis: nemesis.Options{
			Kinds:    []nemesis.Kind{nemesis.KindPartition, nemesis.KindKill, nemesis.KindPause},
			Interval: 5 * time.Second,
			Roles:    []cluster.Role{cluster.RoleZooKeeper},
		},
	})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	assertStored(t, out)
	if out.Result.Valid != checker.Valid {
		t.Errorf("verdict %s, want valid: %v", out.Result.Valid, leafAnomalies(out.Result))
	}
	faults, _ := out.Result.Details["faults"].(nemesis.Windows)
	if len(faults) < 4 {
		t.Fatalf("%d faults in 60s at a 5s interval", len(faults))
	}
	for _, f := range faults {
		if f.Error != "" {
			t.Errorf("fault failed: %+v", f)
		}
	}
	for _, l := range faults.Lines() {
		t.Log(l)
	}
	okc := okCounts(t, out.Result)
	if okc["write"] < 100 || okc["cas"] < 10 {
		t.Errorf("too few ok ops under faults: %v", okc)
	}
	assertOfflineCheckAgrees(t, out, WorkloadZKRegister)
}
