package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/realtest"

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
	return runZKRegisterFor(t, reads, 20*time.Second, 42)
}

// runZKRegisterFor runs zk-register without faults in a fresh store.
func runZKRegisterFor(t *testing.T, reads zkregister.ReadMode, limit time.Duration, seed uint64) Outcome {
	t.Helper()
	realtest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := Run(ctx, Spec{
		TimeLimit:       limit,
		Concurrency:     10,
		Seed:            seed,
		Store:           t.TempDir(),
		WorkloadOptions: &zkregister.Options{Reads: reads},
	})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	assertStored(t, out)
	return out
}

// assertStored checks the run's directory holds what a person needs: a
// log per node of the cluster the run had, and no other.
func assertStored(t *testing.T, out Outcome) {
	t.Helper()
	rec, err := ReadRecord(out.Dir)
	if err != nil {
		t.Fatal(err)
	}
	files := []string{results.TestFile, results.HistoryFile, results.ResultsFile, results.LogFile}
	for _, n := range cluster.PlanNodes(rec.Cluster) {
		log := "server.log"
		if n.Role == cluster.RoleZooKeeper {
			log = "zookeeper.log"
		}
		files = append(files, filepath.Join(n.Name, log))
	}
	if _, err := os.Stat(filepath.Join(out.Dir, fmt.Sprintf("kafka%d", rec.Cluster.KafkaNodes+1))); !os.IsNotExist(err) {
		t.Errorf("a broker beyond the %d the run asked for left a folder: %v", rec.Cluster.KafkaNodes, err)
	}
	for _, f := range files {
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

// okCounts returns the ok ops per f.
func okCounts(t *testing.T, r results.Report) map[string]int {
	t.Helper()
	if len(r.Ops.ByF) == 0 {
		t.Fatal("no counts in the report")
	}
	okc := map[string]int{}
	for f, c := range r.Ops.ByF {
		okc[f] = c.OK
	}
	return okc
}

// TestZKRegisterWritesAreLinearizable: with no reads but the final ones,
// ZooKeeper's writes and compare-and-sets must be linearizable.
func TestZKRegisterWritesAreLinearizable(t *testing.T) {
	out := runZKRegister(t, zkregister.ReadNone)
	if out.Report.Valid != checker.Valid {
		t.Fatalf("verdict %s, want valid: %+v", out.Report.Valid, out.Report.Checks)
	}
	okc := okCounts(t, out.Report)
	if okc["write"] < 1000 || okc["cas"] < 100 || okc["read"] < 1 {
		t.Errorf("too few ok ops to mean anything: %v", okc)
	}
	assertOfflineCheckAgrees(t, out)
}

// TestZKRegisterSyncReads: sync, then get, with no faults, several runs.
// ZooKeeper does not promise that such a read is linearizable (a leader
// serves it without waiting for what it committed, ZOOKEEPER-1675), so a
// stale read is a finding, not a failure: every run must be valid, its
// writes linearizable and every session sequentially consistent.
func TestZKRegisterSyncReads(t *testing.T) {
	for run := range 3 {
		out := runZKRegisterFor(t, zkregister.ReadSync, 15*time.Second, uint64(100+run))
		okc := okCounts(t, out.Report)
		if okc["read"] < 500 || okc["write"] < 200 || okc["cas"] < 50 {
			t.Errorf("run %d: too few ok ops to mean anything: %v", run, okc)
		}
		if out.Report.Valid != checker.Valid {
			t.Fatalf("run %d: verdict %s, want valid (stale reads are findings): %v", run, out.Report.Valid, requiredAnomalies(out.Report.Checks))
		}
		lin := leafNamed(t, out.Report.Checks, "linearizable")
		if lin.Advisory == "" {
			t.Errorf("run %d: with sync reads, linearizable reads are required; ZooKeeper does not promise them", run)
		}
		t.Logf("run %d: valid; %d stale-read findings (linearizable reads %s)", run, len(lin.Anomalies), lin.Valid)
		assertOfflineCheckAgrees(t, out)
	}
}

// TestZKRegisterLocalReads: plain gets, which ZooKeeper documents may be
// stale: valid as sequential, with stale reads as findings, and blamed on
// reads only.
func TestZKRegisterLocalReads(t *testing.T) {
	out := runZKRegister(t, zkregister.ReadLocal)
	if okc := okCounts(t, out.Report); okc["read"] < 1000 {
		t.Errorf("too few ok reads: %v", okc)
	}
	if out.Report.Valid != checker.Valid {
		t.Fatalf("verdict %s, want valid as sequential: %v", out.Report.Valid, requiredAnomalies(out.Report.Checks))
	}
	lin := leafNamed(t, out.Report.Checks, "linearizable")
	if lin.Advisory == "" || lin.Valid != checker.Invalid || len(lin.Anomalies) == 0 {
		t.Errorf("local reads with no stale-read finding: %s, advisory %q", lin.Valid, lin.Advisory)
	}
	for _, a := range lin.Anomalies {
		if a.At == nil || a.At.F != "read" {
			t.Errorf("a finding not on a read: %s", a.Message)
		}
	}
	t.Logf("local reads: valid as sequential; %d keys with stale-read findings", len(lin.Anomalies))
	assertOfflineCheckAgrees(t, out)
}

// TestZKRegisterQuorumReadsUnderFaults: quorum reads are linearizable,
// and required to be, through partitions, kills and pauses.
func TestZKRegisterQuorumReadsUnderFaults(t *testing.T) {
	realtest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, err := Run(ctx, Spec{
		TimeLimit:       45 * time.Second,
		Concurrency:     10,
		Seed:            77,
		Store:           t.TempDir(),
		WorkloadOptions: &zkregister.Options{Reads: zkregister.ReadQuorum},
		Nemesis: nemesis.Options{
			Kinds:    []nemesis.Kind{nemesis.KindPartition, nemesis.KindKill, nemesis.KindPause},
			Interval: 5 * time.Second,
			Roles:    []cluster.Role{cluster.RoleZooKeeper},
		},
	})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if out.Report.Valid != checker.Valid {
		t.Fatalf("verdict %s, want valid: %v", out.Report.Valid, requiredAnomalies(out.Report.Checks))
	}
	lin := leafNamed(t, out.Report.Checks, "linearizable")
	if lin.Advisory != "" || lin.Valid != checker.Valid {
		t.Errorf("quorum reads: linearizable %s, advisory %q; want required and holding", lin.Valid, lin.Advisory)
	}
	if okc := okCounts(t, out.Report); okc["read"] < 100 {
		t.Errorf("too few ok quorum reads: %v", okc)
	}
	assertOfflineCheckAgrees(t, out)
}

// TestZKLeaderOneWay: the other ZooKeeper nodes stop hearing the leader,
// which still hears them: they elect a new leader while the old one serves
// its sessions until it notices (the situation of ZOOKEEPER-1675). Sync
// reads may then be stale: findings, never a failure. Quorum reads are
// linearizable all the same.
func TestZKLeaderOneWay(t *testing.T) {
	realtest.Require(t)
	for _, reads := range []zkregister.ReadMode{zkregister.ReadSync, zkregister.ReadQuorum} {
		t.Run(string(reads), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			out, err := Run(ctx, Spec{
				TimeLimit:       40 * time.Second,
				Concurrency:     12,
				Seed:            16,
				Store:           t.TempDir(),
				WorkloadOptions: &zkregister.Options{Reads: reads, Keys: 3},
				Nemesis: nemesis.Options{Kinds: []nemesis.Kind{nemesis.KindPartition}, Partition: nemesis.ShapeZKLeaderOneWay,
					Interval: 6 * time.Second},
			})
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if out.Report.Valid != checker.Valid {
				t.Fatalf("verdict %s, want valid: %v", out.Report.Valid, requiredAnomalies(out.Report.Checks))
			}
			fd := faultDetails(t, out.Report)
			if fd.Kinds[0].Applied < 2 {
				t.Errorf("%d one-way partitions applied, want at least 2", fd.Kinds[0].Applied)
			}
			lin := leafNamed(t, out.Report.Checks, "linearizable")
			if reads == zkregister.ReadQuorum && (lin.Advisory != "" || lin.Valid != checker.Valid) {
				t.Errorf("quorum reads: linearizable %s, advisory %q", lin.Valid, lin.Advisory)
			}
			t.Logf("%s reads under a one-way partition of the ZooKeeper leader: %d keys with stale reads", reads, len(lin.Anomalies))
		})
	}
}

// leafNamed finds a checker's result.
func leafNamed(t *testing.T, r checker.Result, name string) checker.Result {
	t.Helper()
	for _, lr := range r.Leaves() {
		if lr.Checker == name {
			return lr
		}
	}
	t.Fatalf("no %s result", name)
	return checker.Result{}
}

// requiredAnomalies lists the anomalies of the results that count in the
// verdict, with their notes.
func requiredAnomalies(r checker.Result) []string {
	var out []string
	for _, lr := range r.Leaves() {
		if lr.Advisory != "" {
			continue
		}
		for _, a := range lr.Anomalies {
			out = append(out, lr.Checker+": "+a.Message)
		}
		for _, n := range lr.Notes {
			out = append(out, lr.Checker+" note: "+n)
		}
	}
	return out
}

func leafAnomalies(r checker.Result) []checker.Anomaly {
	var as []checker.Anomaly
	for _, lr := range r.Leaves() {
		as = append(as, lr.Anomalies...)
	}
	return as
}

// assertOfflineCheckAgrees re-checks the stored run as `faultline check`
// does, from its test.json and history, and expects the run's verdict and
// the very summary the run printed.
func assertOfflineCheckAgrees(t *testing.T, out Outcome) {
	t.Helper()
	path := filepath.Join(out.Dir, results.HistoryFile)
	ops, err := history.ReadFile(path)
	if err != nil {
		t.Fatalf("stored history does not read back: %v", err)
	}
	if len(ops) < 2*out.Report.Ops.InTimeLimit {
		t.Errorf("history has %d ops for %d completed calls", len(ops), out.Report.Ops.InTimeLimit)
	}
	rec, err := ReadRecord(out.Dir)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := CheckRun(context.Background(), rec, path, checker.Options{Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	results.AttachFiles(out.Dir, &rep)
	if rep.Valid != out.Report.Valid {
		t.Errorf("offline check says %s, the run said %s", rep.Valid, out.Report.Valid)
	}
	var ran, checked strings.Builder
	results.PrintSummary(&ran, out.Report, out.Dir)
	results.PrintSummary(&checked, rep, rec.Dir)
	if ran.String() != checked.String() {
		t.Errorf("the offline check's summary differs from the run's:\n--- run\n%s--- check\n%s", ran.String(), checked.String())
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
		TimeLimit:       60 * time.Second,
		Concurrency:     10,
		Seed:            1234,
		Store:           t.TempDir(),
		WorkloadOptions: &zkregister.Options{Reads: zkregister.ReadNone},
		Nemesis: nemesis.Options{
			Kinds:    []nemesis.Kind{nemesis.KindPartition, nemesis.KindKill, nemesis.KindPause},
			Interval: 5 * time.Second,
		},
	})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	assertStored(t, out)
	// zk-register's own cluster: ZooKeeper alone, no idle brokers.
	if rec, err := ReadRecord(out.Dir); err != nil || rec.Cluster.KafkaNodes != 0 || len(rec.Nemesis.Roles) != 1 {
		t.Errorf("zk-register ran with %d brokers and nemesis roles %v (%v); want none and zookeeper", rec.Cluster.KafkaNodes, rec.Nemesis.Roles, err)
	}
	if out.Report.Valid != checker.Valid {
		t.Errorf("verdict %s, want valid: %v", out.Report.Valid, leafAnomalies(out.Report.Checks))
	}
	fd := faultDetails(t, out.Report)
	if len(fd.Windows) < 4 {
		t.Fatalf("%d faults in 60s at a 5s interval", len(fd.Windows))
	}
	for _, k := range fd.Kinds {
		if k.Applied != k.Started || k.Started == 0 {
			t.Errorf("%s: %d of %d applied: %v", k.Kind, k.Applied, k.Started, k.Errors)
		}
	}
	_, lines := fd.Summary()
	for _, l := range lines {
		t.Log(l)
	}
	okc := okCounts(t, out.Report)
	if okc["write"] < 100 || okc["cas"] < 10 {
		t.Errorf("too few ok ops under faults: %v", okc)
	}
	assertOfflineCheckAgrees(t, out)
}

// faultDetails finds the faults checker's figures in a report.
func faultDetails(t *testing.T, r results.Report) *checker.FaultDetails {
	t.Helper()
	for _, lr := range r.Checks.Leaves() {
		if fd, ok := lr.Details.(*checker.FaultDetails); ok {
			return fd
		}
	}
	t.Fatal("no faults result in the report")
	return nil
}

// unavailableFault is a built-in fault that says it cannot run here.
type unavailableFault struct{ nemesis.Fault }

func (unavailableFault) Available(*nemesis.Env) error {
	return errors.New("switched off by the test")
}

// TestAFaultThatNeverAppliedIsUnknown: a run whose requested partitions
// never took effect must not pass: the verdict is unknown, the note and
// the summary name the fault and the error.
func TestAFaultThatNeverAppliedIsUnknown(t *testing.T) {
	realtest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	spec := Spec{
		TimeLimit:       12 * time.Second,
		Concurrency:     4,
		Seed:            5,
		Store:           t.TempDir(),
		WorkloadOptions: &zkregister.Options{Reads: zkregister.ReadNone},
		Nemesis:         nemesis.Options{Kinds: []nemesis.Kind{nemesis.KindPartition}, Interval: 3 * time.Second},
	}
	spec.faults = func() []nemesis.Fault {
		fs := nemesis.Builtin()
		for i, f := range fs {
			if f.Kind() == nemesis.KindPartition {
				fs[i] = unavailableFault{f}
			}
		}
		return fs
	}
	out, err := Run(ctx, spec)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if out.Report.Valid != checker.Unknown {
		t.Fatalf("verdict %s, want unknown", out.Report.Valid)
	}
	var summary strings.Builder
	results.PrintSummary(&summary, out.Report, out.Dir)
	for _, want := range []string{"partition 0/2 applied, 2 failed: partition is not available on this cluster: switched off by the test",
		"partition faults were requested but none applied", "verdict: UNKNOWN"} {
		if !strings.Contains(summary.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, summary.String())
		}
	}
	assertOfflineCheckAgrees(t, out)
}

// TestZKRegisterFiveNodes: a ZooKeeper 3.9 ensemble of five, no brokers,
// under partitions and kills: writes linearizable, sessions sequential.
func TestZKRegisterFiveNodes(t *testing.T) {
	realtest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, err := Run(ctx, Spec{
		TimeLimit:       40 * time.Second,
		Concurrency:     10,
		Seed:            55,
		Store:           t.TempDir(),
		Cluster:         cluster.Options{ZooKeeperNodes: 5, ZooKeeperVersion: "3.9.4"},
		WorkloadOptions: &zkregister.Options{Reads: zkregister.ReadNone},
		Nemesis:         nemesis.Options{Kinds: []nemesis.Kind{nemesis.KindPartition, nemesis.KindKill}, Interval: 5 * time.Second},
	})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if out.Report.Valid != checker.Valid {
		t.Fatalf("verdict %s, want valid: %v", out.Report.Valid, requiredAnomalies(out.Report.Checks))
	}
	rec, err := ReadRecord(out.Dir)
	if err != nil || rec.Versions.ZooKeeper != "3.9.4" || len(cluster.PlanNodes(rec.Cluster)) != 5 {
		t.Errorf("the run's cluster: %+v, versions %+v (%v)", rec.Cluster, rec.Versions, err)
	}
	assertStored(t, out)
}
