package nemesis

import (
	"context"
	"strings"
	"testing"
)

func TestMostLeading(t *testing.T) {
	c := newFakeCluster("kafka1", "kafka2", "kafka3")
	brokers := c.Brokers()
	cases := []struct {
		leaders map[int32]string
		want    string
	}{
		{map[int32]string{0: "kafka1", 1: "kafka2", 2: "kafka2"}, "kafka2"},
		{map[int32]string{0: "kafka3", 1: "kafka2", 2: "kafka1"}, "kafka1"}, // a tie goes to the lowest id
		{map[int32]string{0: "kafka3", 1: "kafka3"}, "kafka3"},
		{map[int32]string{0: "kafka2", 1: "kafka3", 2: "kafka2", 3: "kafka3"}, "kafka2"},
	}
	for _, tc := range cases {
		c.leaders = tc.leaders
		leaders, _ := c.PartitionLeaders(context.Background(), "t")
		got, err := mostLeading(brokers, leaders, "t")
		if err != nil || got.Name() != tc.want {
			t.Errorf("mostLeading(%v) = %v, %v; want %s", tc.leaders, got, err, tc.want)
		}
	}
	if _, err := mostLeading(brokers, nil, "t"); err == nil || !strings.Contains(err.Error(), "no broker leads") {
		t.Errorf("no leaders: %v", err)
	}
}

func TestLeaderTargetsAskTheCluster(t *testing.T) {
	c := newFakeCluster("zk1", "zk2", "zk3", "kafka1", "kafka2", "kafka3")
	c.leader, c.ctrl, c.leaders = "zk2", "kafka3", map[int32]string{0: "kafka1", 1: "kafka1", 2: "kafka2"}
	env := &Env{Cluster: c, Topic: "t"}
	for target, want := range map[string]string{TargetZKLeader: "zk2", TargetKafkaController: "kafka3", TargetKafkaLeader: "kafka1"} {
		nodes, err := resolveTargets(context.Background(), env, Step{Target: target})
		if err != nil || len(nodes) != 1 || nodes[0].Name() != want {
			t.Errorf("%s resolved to %v, %v; want %s", target, nodes, err, want)
		}
	}
	env.Topic = ""
	if _, err := resolveTargets(context.Background(), env, Step{Target: TargetKafkaLeader}); err == nil || !strings.Contains(err.Error(), "kafka-queue") {
		t.Errorf("kafka-leader without a topic: %v", err)
	}
}

func TestRequiresTopic(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want bool
	}{
		{Options{Kinds: []Kind{KindPartition}, Partition: ShapeKafkaLeader}, true},
		{Options{Kinds: []Kind{KindKill}, Target: TargetKafkaLeader}, true},
		{Options{Kinds: []Kind{KindPartition}, Target: TargetKafkaLeader}, false},
		{Options{Kinds: []Kind{KindKill}, Partition: ShapeKafkaLeader}, false},
		{Options{Partition: ShapeKafkaLeader}, false},
	} {
		if got := RequiresTopic(tc.o); got != tc.want {
			t.Errorf("RequiresTopic(%+v) = %v", tc.o, got)
		}
	}
}

// TestZKLeaderOneWay: the other ZooKeeper nodes drop the leader's packets;
// the leader drops nothing, and brokers are left alone.
func TestZKLeaderOneWay(t *testing.T) {
	c := newFakeCluster("zk1", "zk2", "zk3", "kafka1")
	c.leader = "zk2"
	env := &Env{Cluster: c}
	did, err := (&partitionFault{}).Start(context.Background(), env, Step{Kind: KindPartition, Shape: ShapeZKLeaderOneWay})
	if err != nil {
		t.Fatal(err)
	}
	g := did.(map[string]any)["drops"].(Grudge)
	want := Grudge{"zk1": {"zk2"}, "zk3": {"zk2"}}
	if !sameGrudge(g, want) {
		t.Errorf("grudge %v, want %v", g, want)
	}
	for _, n := range c.nodes {
		got := n.dropped()
		switch n.name {
		case "zk1", "zk3":
			if len(got) != 1 || got[0] != "zk2" {
				t.Errorf("%s drops %v, want zk2", n.name, got)
			}
		default:
			if len(got) != 0 {
				t.Errorf("%s drops %v, want nothing", n.name, got)
			}
		}
	}
}
