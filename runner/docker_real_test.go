package runner

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/cluster/docker"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/internal/realtest"
	"github.com/faultline/faultline/nemesis"
	"github.com/faultline/faultline/workloads/kafkaqueue"
	"github.com/faultline/faultline/workloads/zkregister"
)

// requireDockerRun skips (or, with realtest.DockerEnv=1, fails) unless the
// docker backend can run o.
func requireDockerRun(t *testing.T, o cluster.Options) {
	t.Helper()
	realtest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := (docker.Backend{}).Preflight(ctx, o); err != nil {
		realtest.NoDocker(t, err)
	}
}

// TestDockerVerdicts: the same tests on the docker backend give the
// verdicts they give on the local one: zk-register under partitions,
// kills and pauses is valid, with the schedule the seed draws on either
// backend; kafka-queue with acks=leader under partitions cutting off
// partition leaders loses acknowledged writes.
func TestDockerVerdicts(t *testing.T) {
	t.Run("zk-register", func(t *testing.T) {
		spec := Spec{TimeLimit: 30 * time.Second, Concurrency: 10, Seed: 5, Store: t.TempDir(),
			Cluster:         cluster.Options{Backend: "docker"},
			WorkloadOptions: &zkregister.Options{Reads: zkregister.ReadSync},
			Nemesis: nemesis.Options{Kinds: []nemesis.Kind{nemesis.KindPartition, nemesis.KindKill, nemesis.KindPause},
				Interval: 5 * time.Second}}
		requireDockerRun(t, spec.Cluster)
		out := runSpec(t, spec)
		if out.Report.Valid != checker.Valid {
			t.Errorf("verdict %s, want valid: %v (run in %s)", out.Report.Valid, leafAnomalies(out.Report.Checks), out.Dir)
		}
		rec, err := ReadRecord(out.Dir)
		if err != nil {
			t.Fatal(err)
		}
		local := spec
		local.Cluster.Backend = cluster.DefaultBackend
		local = local.Defaults()
		want, err := nemesis.Plan(local.Nemesis, nemesis.PlanInfos(local.Cluster), local.Seed, local.TimeLimit, local.faults())
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.Schedule) < 3 || !reflect.DeepEqual(rec.Schedule, want) {
			t.Errorf("the docker run's schedule %+v, the local backend's for the seed %+v", rec.Schedule, want)
		}
		// A container is frozen, not sent SIGSTOP, and the history says so,
		// in the pauses' records and in the final heal's.
		pauses := 0
		for _, op := range mustReadHistory(t, out.Dir) {
			if op.Process != history.Nemesis || op.Type == history.Invoke {
				continue
			}
			v := string(op.Value)
			switch op.F {
			case "start-pause", "stop-pause":
				pauses++
			case "heal":
				var heal map[string]json.RawMessage
				if err := json.Unmarshal(op.Value, &heal); err != nil {
					t.Fatal(err)
				}
				v = string(heal["pause"])
			default:
				continue
			}
			if !strings.Contains(v, `"freezer"`) || strings.Contains(v, "SIG") {
				t.Errorf("%s says %s, want the freezer and no signal", op.F, v)
			}
		}
		if pauses == 0 {
			t.Error("no pause in the history")
		}
		assertStored(t, out)
	})
	t.Run("kafka-queue acks=leader", func(t *testing.T) {
		// One 15 s cut, as the local backend's test: the cut-off leader's
		// ZooKeeper session expires 5-8 s in, and the controller (which
		// may be the one cut off) must then elect a new leader before the
		// heal; 8 s cuts left too little of that to chance.
		spec := Spec{Workload: "kafka-queue", TimeLimit: 40 * time.Second, Concurrency: 10, Seed: 6, Store: t.TempDir(),
			Cluster:         cluster.Options{Backend: "docker"},
			WorkloadOptions: &kafkaqueue.Options{Acks: kafkaqueue.AcksLeader},
			Nemesis: nemesis.Options{Kinds: []nemesis.Kind{nemesis.KindPartition}, Partition: nemesis.ShapeKafkaLeader,
				Interval: 15 * time.Second}}
		requireDockerRun(t, spec.Cluster)
		out := runSpec(t, spec)
		if out.Report.Valid != checker.Invalid {
			t.Fatalf("verdict %s, want invalid (run in %s)", out.Report.Valid, out.Dir)
		}
		lost := 0
		for _, lr := range out.Report.Checks.Leaves() {
			lost += lr.AnomalyCounts["lost-write"]
		}
		if lost == 0 {
			t.Errorf("no lost-write: %v (run in %s)", leafAnomalies(out.Report.Checks), out.Dir)
		}
		t.Logf("%d lost writes", lost)
	})
}
