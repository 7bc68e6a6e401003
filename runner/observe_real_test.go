package runner

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/internal/realtest"
	"github.com/faultline/faultline/nemesis"
	"github.com/faultline/faultline/observer"
	"github.com/faultline/faultline/workloads/kafkaqueue"
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
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	spec := observerZKSpec
	spec.Store = t.TempDir()
	out, err := Run(ctx, spec)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
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
	for name, s := range map[string]Spec{"zk": observerZKSpec, "kafka": observerKafkaSpec, "kraft": observerKRaftSpec} {
		s.Store = t.TempDir()
		if err := s.Defaults().Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
