package runner

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/internal/realtest"
	"github.com/faultline/faultline/nemesis"
	"github.com/faultline/faultline/results"
	"github.com/faultline/faultline/workloads/kafkaqueue"
)

// runKafkaQueue runs kafka-queue in a fresh store.
func runKafkaQueue(t *testing.T, spec Spec) Outcome {
	t.Helper()
	realtest.Require(t)
	spec.Workload = "kafka-queue"
	spec.Store = t.TempDir()
	out := runSpec(t, spec)
	assertStored(t, out)
	return out
}

// runSpec runs spec on a real cluster, failing the test if the harness
// could not (a verdict is the caller's to judge).
func runSpec(t *testing.T, spec Spec) Outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, err := Run(ctx, spec)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return out
}

// queueResult finds the queue checker's result.
func queueResult(t *testing.T, r checker.Result) checker.Result {
	t.Helper()
	for _, sub := range r.Leaves() {
		if sub.Checker == "queue" {
			return sub
		}
	}
	t.Fatalf("no queue result in %+v", r)
	return checker.Result{}
}

// anomalyKinds lists the kinds of a result's anomalies.
func anomalyKinds(r checker.Result) map[string]int {
	kinds := map[string]int{}
	for _, a := range r.Anomalies {
		kinds[a.Kind]++
	}
	return kinds
}

// TestKafkaQueueUnderFaults: on the safe defaults (acks all, min ISR 2,
// idempotence, no unclean election), Kafka keeps every acknowledged message
// while partitions and kills come and go.
func TestKafkaQueueUnderFaults(t *testing.T) {
	out := runKafkaQueue(t, Spec{
		TimeLimit:   60 * time.Second,
		Concurrency: 10,
		Seed:        7,
		Nemesis:     nemesis.Options{Kinds: []nemesis.Kind{nemesis.KindPartition, nemesis.KindKill}, Interval: 8 * time.Second},
	})
	q := queueResult(t, out.Report.Checks)
	if out.Report.Valid != checker.Valid {
		t.Fatalf("verdict %s, want valid; anomalies %v, notes %v (run in %s)", out.Report.Valid, anomalyKinds(q), q.Notes, out.Dir)
	}
	if ok := out.OKByF["send"]; ok < 1000 {
		t.Errorf("%d ok sends, want thousands", ok)
	}
	faults := 0
	for _, op := range mustReadHistory(t, out.Dir) {
		if op.Process == history.Nemesis && strings.HasPrefix(op.F, "start-") && op.Type != history.Invoke && op.Error == "" {
			faults++
		}
	}
	if faults < 3 {
		t.Errorf("%d faults took effect, want at least 3", faults)
	}
	assertOfflineCheckAgrees(t, out)
}

// TestKafkaLeaderDataLoss reproduces Kafka's documented loss of
// acknowledged writes: with acks=1, a partition leader cut off from the
// other brokers and ZooKeeper (but not from its clients) keeps
// acknowledging writes until the controller elects another leader; when the
// partition heals, it truncates its log to the new leader's and those
// writes are gone. The same schedule with acks=all and min.insync.replicas
// 2 loses nothing: the cut-off leader cannot acknowledge alone.
func TestKafkaLeaderDataLoss(t *testing.T) {
	spec := func(acks kafkaqueue.Acks) Spec {
		return Spec{
			TimeLimit:       40 * time.Second,
			Concurrency:     10,
			Seed:            1,
			WorkloadOptions: &kafkaqueue.Options{Acks: acks, MinISR: 2},
			// One fault, from 15s to 30s: isolate the broker leading the
			// most partitions.
			Nemesis: nemesis.Options{Kinds: []nemesis.Kind{nemesis.KindPartition}, Partition: nemesis.ShapeKafkaLeader, Interval: 15 * time.Second},
		}
	}
	t.Run("acks=leader", func(t *testing.T) {
		out := runKafkaQueue(t, spec(kafkaqueue.AcksLeader))
		q := queueResult(t, out.Report.Checks)
		kinds := anomalyKinds(q)
		if out.Report.Valid != checker.Invalid || kinds["lost-write"] == 0 {
			t.Fatalf("verdict %s with anomalies %v, want lost writes (run in %s)", out.Report.Valid, kinds, out.Dir)
		}
		for _, a := range q.Anomalies {
			if a.Kind == "lost-write" && (a.Key == "" || len(a.Ops) == 0 || a.Message == "") {
				t.Errorf("a lost-write example without its partition, message or ops: %+v", a)
			}
		}
		isolated := isolatedLeader(t, out.Dir)
		t.Logf("isolated %s; %d lost writes; anomalies %v", isolated, q.Details.(*checker.QueueDetails).Lost, kinds)
	})
	t.Run("acks=all", func(t *testing.T) {
		out := runKafkaQueue(t, spec(kafkaqueue.AcksAll))
		q := queueResult(t, out.Report.Checks)
		if kinds := anomalyKinds(q); kinds["lost-write"] > 0 || out.Report.Valid != checker.Valid {
			t.Fatalf("verdict %s with anomalies %v, want valid with no lost writes (run in %s)", out.Report.Valid, kinds, out.Dir)
		}
		isolatedLeader(t, out.Dir)
	})
}

// isolatedLeader returns the broker the kafka-leader partition isolated,
// failing the test when the fault did not take effect.
func isolatedLeader(t *testing.T, dir string) string {
	t.Helper()
	for _, op := range mustReadHistory(t, dir) {
		if op.Process != history.Nemesis || op.F != "start-partition" || op.Type == history.Invoke {
			continue
		}
		if op.Error != "" {
			t.Fatalf("the kafka-leader partition failed: %s", op.Error)
		}
		var v struct {
			Drops map[string][]string `json:"drops"`
		}
		if err := json.Unmarshal(op.Value, &v); err != nil {
			t.Fatal(err)
		}
		for node, from := range v.Drops {
			if strings.HasPrefix(node, "kafka") && len(from) == len(v.Drops)-1 {
				return node
			}
		}
		t.Fatalf("start-partition %s isolates no broker", op.Value)
	}
	t.Fatal("no start-partition in the history")
	return ""
}

func mustReadHistory(t *testing.T, dir string) []history.Op {
	t.Helper()
	ops, err := history.ReadFile(dir + "/" + results.HistoryFile)
	if err != nil {
		t.Fatal(err)
	}
	return ops
}

// TestKafkaQueueSubscribeLeaderFaults: consumers in a consumer group, while
// the broker leading the most partitions is killed and paused in turn; the
// safe defaults keep every acknowledged message.
func TestKafkaQueueSubscribeLeaderFaults(t *testing.T) {
	out := runKafkaQueue(t, Spec{
		TimeLimit:       45 * time.Second,
		Concurrency:     10,
		Seed:            3,
		WorkloadOptions: &kafkaqueue.Options{Consumer: kafkaqueue.ConsumerSubscribe},
		Nemesis: nemesis.Options{Kinds: []nemesis.Kind{nemesis.KindKill, nemesis.KindPause},
			Target: nemesis.TargetKafkaLeader, Interval: 8 * time.Second},
	})
	q := queueResult(t, out.Report.Checks)
	if out.Report.Valid != checker.Valid {
		t.Fatalf("verdict %s, want valid; anomalies %v, notes %v (run in %s)", out.Report.Valid, anomalyKinds(q), q.Notes, out.Dir)
	}
	if out.OKByF["poll"] == 0 || out.OKByF["send"] < 1000 {
		t.Errorf("ok polls %d, ok sends %d: want both to have run", out.OKByF["poll"], out.OKByF["send"])
	}
	hit := 0
	for _, op := range mustReadHistory(t, out.Dir) {
		if op.Process != history.Nemesis || (op.F != "start-kill" && op.F != "start-pause") || op.Type == history.Invoke {
			continue
		}
		var v struct {
			Nodes []string `json:"nodes"`
		}
		if err := json.Unmarshal(op.Value, &v); err != nil || op.Error != "" || len(v.Nodes) != 1 || !strings.HasPrefix(v.Nodes[0], "kafka") {
			t.Errorf("%s did not hit one broker: %s (%s)", op.F, op.Value, op.Error)
			continue
		}
		hit++
	}
	if hit < 2 {
		t.Errorf("%d faults hit the kafka leader, want at least 2", hit)
	}
}

// TestKRaftKafkaQueue: Kafka's newest release in KRaft mode keeps every
// acknowledged message on the safe defaults while the quorum's leader is
// cut off and nodes are killed; with acks=leader, cutting off the broker
// leading the most partitions loses acknowledged writes, as in ZooKeeper
// mode.
func TestKRaftKafkaQueue(t *testing.T) {
	kraft := cluster.Options{KafkaMode: cluster.ModeKRaft, KafkaVersion: cluster.DefaultKRaftKafkaVersion, Controllers: 3}
	t.Run("safe defaults under partition and kill", func(t *testing.T) {
		out := runKafkaQueue(t, Spec{
			TimeLimit:   40 * time.Second,
			Concurrency: 10,
			Seed:        5,
			Cluster:     kraft,
			Nemesis: nemesis.Options{Kinds: []nemesis.Kind{nemesis.KindPartition, nemesis.KindKill},
				Partition: nemesis.ShapeKRaftLeader, Interval: 8 * time.Second},
		})
		q := queueResult(t, out.Report.Checks)
		if out.Report.Valid != checker.Valid {
			t.Fatalf("verdict %s, want valid; anomalies %v, notes %v (run in %s)", out.Report.Valid, anomalyKinds(q), q.Notes, out.Dir)
		}
		rec, err := ReadRecord(out.Dir)
		if err != nil || !rec.Cluster.KRaft() || rec.Cluster.ZooKeeperNodes != 0 || rec.Versions.Kafka != cluster.DefaultKRaftKafkaVersion {
			t.Errorf("the run's cluster: %+v, versions %+v (%v)", rec.Cluster, rec.Versions, err)
		}
		for _, k := range faultDetails(t, out.Report).Kinds {
			if k.Applied == 0 {
				t.Errorf("no %s applied", k.Kind)
			}
		}
		assertOfflineCheckAgrees(t, out)
	})
	t.Run("acks=leader loses writes", func(t *testing.T) {
		out := runKafkaQueue(t, Spec{
			TimeLimit:       40 * time.Second,
			Concurrency:     10,
			Seed:            1,
			Cluster:         kraft,
			WorkloadOptions: &kafkaqueue.Options{Acks: kafkaqueue.AcksLeader},
			Nemesis:         nemesis.Options{Kinds: []nemesis.Kind{nemesis.KindPartition}, Partition: nemesis.ShapeKafkaLeader, Interval: 15 * time.Second},
		})
		q := queueResult(t, out.Report.Checks)
		if kinds := anomalyKinds(q); out.Report.Valid != checker.Invalid || kinds["lost-write"] == 0 {
			t.Fatalf("verdict %s with anomalies %v, want lost writes (run in %s)", out.Report.Valid, kinds, out.Dir)
		}
		t.Logf("isolated %s; %d lost writes", isolatedLeader(t, out.Dir), q.Details.(*checker.QueueDetails).Lost)
	})
}
