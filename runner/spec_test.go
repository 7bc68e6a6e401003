package runner

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/nemesis"
	"github.com/faultline/faultline/workloads/kafkaqueue"
	"github.com/faultline/faultline/workloads/zkregister"
)

// TestRecordRoundTrip: test.json reads back into the workload's own
// options type, with everything else the run recorded.
func TestRecordRoundTrip(t *testing.T) {
	rec := Record{Spec: Spec{Workload: "kafka-queue", WorkloadOptions: &kafkaqueue.Options{Acks: kafkaqueue.AcksLeader, Partitions: 7},
		TimeLimit: 40 * time.Second, Seed: 9, Nemesis: nemesis.Options{Kinds: []nemesis.Kind{nemesis.KindKill}}},
		Dir: "/s/x", ClusterRun: "abc123", EndNotes: []string{"late"}, WorkloadDetails: json.RawMessage(`{"topic":"t"}`)}
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	var back Record
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	o, ok := back.WorkloadOptions.(*kafkaqueue.Options)
	if !ok || o.Acks != kafkaqueue.AcksLeader || o.Partitions != 7 {
		t.Fatalf("workload options read back as %#v", back.WorkloadOptions)
	}
	if back.Seed != 9 || back.TimeLimit != 40*time.Second || back.ClusterRun != "abc123" || back.Dir != "/s/x" ||
		len(back.EndNotes) != 1 || string(back.WorkloadDetails) != `{"topic":"t"}` || back.Nemesis.Kinds[0] != nemesis.KindKill {
		t.Errorf("record read back as %+v", back)
	}
}

// TestLegacyTestJSON: a run stored before the workload registry kept the
// options under the workload's own key; they are read from there.
func TestLegacyTestJSON(t *testing.T) {
	const old = `{"name":"zk-register","workload":"zk-register","time_limit":20000000000,"seed":42,
		"zk_register":{"keys":7,"ops_per_key":50,"reads":"local","op_timeout":5000000000},
		"kafka_queue":{"partitions":3},"nemesis":{"kinds":null,"interval":10000000000}}`
	var rec Record
	if err := json.Unmarshal([]byte(old), &rec); err != nil {
		t.Fatal(err)
	}
	o, ok := rec.WorkloadOptions.(*zkregister.Options)
	if !ok || o.Keys != 7 || o.Reads != zkregister.ReadLocal || rec.Seed != 42 {
		t.Errorf("legacy test.json read as %#v, %+v", rec.WorkloadOptions, rec)
	}
}

func TestSpecJSONErrors(t *testing.T) {
	for _, tc := range []struct{ json, want string }{
		{`{"workload":"kafka"}`, "is not a workload"},
		{`{"workload":"kafka-queue","workload_options":{"partitions":"three"}}`, "kafka-queue's options"},
		{`{"time_limit":"soon"}`, "time_limit"},
	} {
		var s Spec
		if err := json.Unmarshal([]byte(tc.json), &s); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.json, err, tc.want)
		}
	}
}
