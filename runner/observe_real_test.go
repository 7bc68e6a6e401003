package runner

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/internal/realtest"
	"github.com/faultline/faultline/nemesis"
	"github.com/faultline/faultline/observer"
	"github.com/faultline/faultline/results"
	"github.com/faultline/faultline/workloads/kafkaqueue"
	"github.com/faultline/faultline/workloads/zklock"
	"github.com/faultline/faultline/workloads/zkregister"
)

// The specs of the real observer tests (TestObserverSpecs checks that
// they are valid without running them).
var (
	observerZKSpec = Spec{TimeLimit: 30 * time.Second, Concurrency: 10, Seed: 11,
		WorkloadOptions: &zkregister.Options{Reads: zkregister.ReadSync},
		Nemesis:         nemesis.Options{Kinds: []nemesis.Kind{nemesis.KindPause}, Target: nemesis.TargetZKLeader, Interval: 8 * time.Second}}
	observerKafkaSpec = Spec{Workload: "kafka-queue", TimeLimit: 30 * time.Second, Concurrency: 10, Seed: 12,
		Nemesis: nemesis.Options{Kinds: []nemesis.Kind{nemesis.KindKill}, Target: nemesis.TargetKafkaController, Interval: 8 * time.Second}}
	observerKRaftSpec = Spec{Workload: "kafka-queue", TimeLimit: 30 * time.Second, Concurrency: 10, Seed: 13,
		Cluster: cluster.Options{KafkaMode: cluster.ModeKRaft, KafkaVersion: cluster.DefaultKRaftKafkaVersion, Controllers: 3},
		Nemesis: nemesis.Options{Kinds: []nemesis.Kind{nemesis.KindKill}, Target: nemesis.TargetKRaftLeader, Interval: 8 * time.Second}}
)

// observedCall is an observer call, with its answer when it was answered.
type observedCall struct {
	history.Call
	took   time.Duration
	answer struct {
		Mode         string           `json:"mode"`
		Epoch        int64            `json:"epoch"`
		ID           int64            `json:"id"`
		Controller   int64            `json:"controller"`
		Leader       int64            `json:"leader"`
		Leaders      map[string]int64 `json:"leaders"`
		LeaderEpochs map[string]int64 `json:"leader_epochs"`
	}
}

func (c observedCall) ok() bool { return c.Completion != nil && c.Completion.Type == history.OK }

// observedCalls are a run's observer calls, per f and node, in order; it
// fails the test if the observer's calls overlap or one is left pending.
func observedCalls(t *testing.T, ops []history.Op) map[string]map[string][]observedCall {
	t.Helper()
	calls, err := history.Pair(ops)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string][]observedCall{}
	var last *history.Op
	for _, c := range calls {
		if c.Invoke.Process != history.Observer {
			continue
		}
		if c.Completion == nil {
			t.Fatalf("observer call %s never completed", c.Invoke)
		}
		if last != nil && c.Invoke.Index < last.Index {
			t.Fatalf("observer call %s began before the one completed at %s", c.Invoke, last)
		}
		last = c.Completion
		var node struct{ Node string }
		if err := json.Unmarshal(c.Invoke.Value, &node); err != nil || node.Node == "" {
			t.Fatalf("observer call %s names no node", c.Invoke)
		}
		oc := observedCall{Call: c, took: time.Duration(c.Completion.Time - c.Invoke.Time)}
		if oc.ok() {
			if err := json.Unmarshal(c.Completion.Value, &oc.answer); err != nil {
				t.Fatalf("observer answer %s: %v", c.Completion, err)
			}
		}
		if out[c.Invoke.F] == nil {
			out[c.Invoke.F] = map[string][]observedCall{}
		}
		out[c.Invoke.F][node.Node] = append(out[c.Invoke.F][node.Node], oc)
	}
	return out
}

// assertObservedAsPromised checks what every observed run must show: each
// of nodes asked about once a second, no call longer than the timeout
// (with slack for a busy machine), every node answering at times, and
// the leadership finding reading every lane.
func assertObservedAsPromised(t *testing.T, out Outcome, f string, nodes []string) map[string][]observedCall {
	t.Helper()
	all := observedCalls(t, mustReadHistory(t, out.Dir))
	byNode := all[f]
	for _, n := range nodes {
		calls := byNode[n]
		if len(calls) < 20 {
			t.Errorf("%s %s: %d calls in a 30 s run, want about one a second", f, n, len(calls))
		}
		answered := 0
		for i, c := range calls {
			if c.took > observer.DefaultTimeout+700*time.Millisecond {
				t.Errorf("%s %s: a call took %v: %s → %s", f, n, c.took, c.Invoke, c.Completion)
			}
			if i > 0 {
				if gap := time.Duration(c.Invoke.Time - calls[i-1].Invoke.Time); gap > 4*time.Second {
					t.Errorf("%s %s: %v between calls at %s", f, n, gap, c.Invoke)
				}
			}
			if c.ok() {
				answered++
			}
		}
		if answered == 0 {
			t.Errorf("%s %s never answered: first %s", f, n, calls[0].Completion)
		}
	}
	lr := leadershipResult(out.Report.Checks)
	if lr == nil || lr.Advisory == "" {
		t.Fatalf("no advisory leadership result: %+v", lr)
	}
	if d, _ := lr.Details.(*checker.LeadershipDetails); d == nil || len(d.Nodes) < len(nodes) {
		t.Errorf("leadership details %+v", lr.Details)
	}
	t.Logf("leadership: %v %v (run in %s)", lr.Valid, lr.AnomalyCounts, out.Dir)
	return byNode
}

// TestObserverZooKeeper: zk-register while the ZooKeeper leader is paused
// and resumed: the observer asks every node about once a second, the
// paused node's calls time out within the observer's timeout and stall
// no other, and the leadership finding reads them.
func TestObserverZooKeeper(t *testing.T) {
	realtest.Require(t)
	spec := observerZKSpec
	spec.Store = t.TempDir()
	out := runSpec(t, spec)
	if out.Report.Valid != checker.Valid {
		t.Errorf("verdict %s, want valid: %v", out.Report.Valid, leafAnomalies(out.Report.Checks))
	}
	byNode := assertObservedAsPromised(t, out, observer.FZKMode, []string{"zk1", "zk2", "zk3"})
	leaders, timeouts := 0, 0
	for _, calls := range byNode {
		for _, c := range calls {
			switch {
			case c.ok() && c.answer.Mode == "leader":
				leaders++
				if c.answer.Epoch < 1 {
					t.Errorf("a leader in epoch %d: %s", c.answer.Epoch, c.Completion)
				}
			case !c.ok() && c.Completion.Error == "timeout":
				timeouts++
			}
		}
	}
	if leaders == 0 || timeouts == 0 {
		t.Errorf("%d answers in mode leader, %d timeouts (the paused leader): want some of each", leaders, timeouts)
	}
}

// TestObserverKafka: kafka-queue in both modes, the controller (or the
// KRaft quorum's leader) killed and restarted: every broker's view names
// the topic's partitions; in ZooKeeper mode the brokers agree at the end
// on one controller; in KRaft mode every controller answers, the ones
// that do not lead too (DescribeQuorum, then the refused Raft Fetch),
// and no two name different leaders in one epoch.
func TestObserverKafka(t *testing.T) {
	brokers := []string{"kafka1", "kafka2", "kafka3"}
	run := func(t *testing.T, spec Spec) Outcome {
		out := runKafkaQueue(t, spec)
		if out.Report.Valid != checker.Valid {
			t.Errorf("verdict %s, want valid (run in %s)", out.Report.Valid, out.Dir)
		}
		views := assertObservedAsPromised(t, out, observer.FKafkaView, brokers)
		partitions := kafkaqueue.DefaultOptions().Partitions
		for _, b := range brokers {
			calls := views[b]
			last := calls[len(calls)-1]
			id, _ := strconv.Atoi(b[len("kafka"):])
			if !last.ok() || last.answer.ID != int64(id) || len(last.answer.Leaders) != partitions || len(last.answer.LeaderEpochs) != partitions {
				t.Errorf("%s's last view: %s, want its id %d and %d partitions", b, last.Completion, id, partitions)
			}
		}
		return out
	}
	t.Run("zookeeper mode", func(t *testing.T) {
		out := run(t, observerKafkaSpec)
		views := observedCalls(t, mustReadHistory(t, out.Dir))[observer.FKafkaView]
		controllers := map[int64]bool{}
		for _, b := range brokers {
			calls := views[b]
			controllers[calls[len(calls)-1].answer.Controller] = true
		}
		if len(controllers) != 1 {
			t.Errorf("at the end the brokers name the controllers %v, want one", controllers)
		}
	})
	t.Run("kraft", func(t *testing.T) {
		out := run(t, observerKRaftSpec)
		quorum := assertObservedAsPromised(t, out, observer.FKRaftQuorum, []string{"ctrl1", "ctrl2", "ctrl3"})
		byEpoch := map[int64]int64{} // epoch → the leader named in it
		followers := 0
		for node, calls := range quorum {
			for _, c := range calls {
				if !c.ok() {
					continue
				}
				a := c.answer
				if a.Leader >= 0 && a.Leader != a.ID {
					followers++
				}
				if a.Leader < 0 {
					continue
				}
				if prev, seen := byEpoch[a.Epoch]; seen && prev != a.Leader {
					t.Errorf("%s names leader %d in epoch %d, another named %d: %s", node, a.Leader, a.Epoch, prev, c.Completion)
				}
				byEpoch[a.Epoch] = a.Leader
			}
		}
		if followers == 0 {
			t.Errorf("no controller that does not lead answered with its leader: the Raft Fetch fallback did not work")
		}
		if len(byEpoch) < 2 {
			t.Errorf("epochs seen %v: the quorum's leader was killed, want a new epoch", byEpoch)
		}
		// KRaft brokers name a broker of their choosing as the controller:
		// no controller overlap may be made of that.
		if lr := leadershipResult(out.Report.Checks); lr.AnomalyCounts["controller-overlap"] != 0 {
			t.Errorf("controller overlaps %d in a KRaft cluster: brokers' views taken for claims", lr.AnomalyCounts["controller-overlap"])
		}
	})
}

// TestObserverSpecs: the real observer tests' specs are valid, so that
// they fail on what they test and not on a spec.
func TestObserverSpecs(t *testing.T) {
	for name, s := range map[string]Spec{"zk": observerZKSpec, "kafka": observerKafkaSpec, "kraft": observerKRaftSpec, "isolate": observerIsolateSpec} {
		s.Store = t.TempDir()
		if err := s.Defaults().Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// observerIsolateSpec isolates the ZooKeeper leader for 30 s while
// zk-register runs (the schedule binds it first). The followers learn of
// the loss only after syncLimit ticks (10 s here), and their election may
// then wait on connects to the unreachable node (zookeeper.cnxTimeout, 5 s
// by default): a 15 s cut once healed before the two elected a leader
// (CI, 2026-12-01).
var observerIsolateSpec = Spec{TimeLimit: 50 * time.Second, Concurrency: 10, Seed: 14,
	WorkloadOptions: &zkregister.Options{Reads: zkregister.ReadSync},
	Schedule: []nemesis.Step{
		{Kind: nemesis.KindBind, ID: "l", Start: 5 * time.Second, Bind: map[string]string{"L": nemesis.TargetZKLeader}},
		{Kind: nemesis.KindPartition, ID: "iso", After: "l.started", Shape: nemesis.ShapeIsolate, Target: "$L", For: 30 * time.Second},
	}}

// TestObserverLeaderIsolated: with the ZooKeeper leader cut off from the
// other two (not from the harness), the timeline shows the isolated node
// still in mode leader well into the cut (it learns only after syncLimit
// ticks that it lost its quorum: ZOOKEEPER-1675's window), and a new leader
// in a higher epoch among the others before the heal. Whether the two
// lanes overlap depends on which side's timeout fires first (both wait
// syncLimit ticks); an overlap found is a finding with its length and the
// fault in place, never part of the verdict.
func TestObserverLeaderIsolated(t *testing.T) {
	realtest.Require(t)
	spec := observerIsolateSpec
	spec.Store = t.TempDir()
	out := runSpec(t, spec)
	if out.Report.Valid != checker.Valid {
		t.Errorf("verdict %s, want valid (run in %s)", out.Report.Valid, out.Dir)
	}
	lr := leadershipResult(out.Report.Checks)
	if lr == nil {
		t.Fatal("no leadership result")
	}
	d := lr.Details.(*checker.LeadershipDetails)
	var cut struct{ start, end int64 }
	var isolated string
	for _, op := range mustReadHistory(t, out.Dir) {
		switch {
		case op.Process == history.Nemesis && op.F == "bind" && op.Type != history.Invoke:
			var got map[string]string
			if err := json.Unmarshal(op.Value, &got); err != nil {
				t.Fatal(err)
			}
			isolated = got["L"]
		case op.Process == history.Nemesis && op.F == "start-partition" && op.Type != history.Invoke:
			cut.start = op.Time
		case op.Process == history.Nemesis && op.F == "stop-partition" && op.Type != history.Invoke:
			cut.end = op.Time
		}
	}
	if isolated == "" || cut.start == 0 || cut.end == 0 {
		t.Fatalf("no bind or partition in the history: %q %+v", isolated, cut)
	}
	var oldLed, newLed bool
	for _, n := range d.Nodes {
		for _, iv := range n.Intervals {
			if iv.Role != "leader" {
				continue
			}
			if n.Node == isolated && iv.Start <= cut.start && iv.End >= cut.start+int64(5*time.Second) {
				oldLed = true
			}
			if n.Node != isolated && iv.Start > cut.start && iv.Start < cut.end {
				newLed = true
			}
		}
	}
	if !oldLed {
		t.Errorf("the isolated leader %s was not seen leading 5 s into the cut: %+v", isolated, d.Nodes)
	}
	if !newLed {
		t.Errorf("no other node was seen leading during the cut: %+v", d.Nodes)
	}
	for _, a := range lr.Anomalies {
		if a.Kind != "zk-leader-overlap" || !strings.Contains(a.Message, "during partition") || !strings.Contains(a.Message, " for ") {
			t.Errorf("finding %s: %s", a.Kind, a.Message)
		}
	}
	t.Logf("isolated %s, cut %.1f-%.1f s; leadership %v %v; lanes %+v", isolated, float64(cut.start)/1e9, float64(cut.end)/1e9, lr.Valid, lr.AnomalyCounts, d.Nodes)
	for _, a := range lr.Anomalies {
		t.Logf("finding: %s", a.Message)
	}
}

// TestZKLockWithoutFaults: zk-lock on client hosts with no fault: no split
// brain, no anomaly of any kind, no leadership overlap, no lock node left.
func TestZKLockWithoutFaults(t *testing.T) {
	realtest.Require(t)
	out := runSpec(t, Spec{Workload: "zk-lock", TimeLimit: 20 * time.Second, Concurrency: 6, Seed: 15, Store: t.TempDir(),
		Cluster: cluster.Options{ClientHosts: 3}, WorkloadOptions: &zklock.Options{Client: zklock.Naive, Locks: 2}})
	if out.Report.Valid != checker.Valid {
		t.Fatalf("verdict %s, want valid (run in %s)", out.Report.Valid, out.Dir)
	}
	for _, lr := range out.Report.Checks.Leaves() {
		n := 0
		for _, c := range lr.AnomalyCounts {
			n += c
		}
		if n != 0 || lr.Valid != checker.Valid {
			t.Errorf("%s: %v %v %q", lr.Checker, lr.Valid, lr.AnomalyCounts, lr.Notes)
		}
		if d, ok := lr.Details.(*checker.LockDetails); ok {
			if d.Acquires < 10 || d.SplitBrains != 0 || d.FencedOverlaps != 0 {
				t.Errorf("lock: %d acquires, %d split brains", d.Acquires, d.SplitBrains)
			}
			t.Logf("lock: %d acquires, %d writes", d.Acquires, d.Writes)
			if _, err := os.Stat(filepath.Join(out.Dir, results.LocksPlotFile)); err != nil || !slices.Contains(lr.Files, results.LocksPlotFile) {
				t.Errorf("the lock result's files %v (%v): want %s", lr.Files, err, results.LocksPlotFile)
			}
		}
	}
}
