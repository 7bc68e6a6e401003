package local

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/internal/realtest"
	"github.com/go-zookeeper/zk"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestKRaftCluster brings up 3 controllers and 3 brokers in KRaft mode, on
// Kafka's newest release and on the last 3.x, walks through a topic
// (produce through kafka1, consume through kafka2), then kills the active
// controller: the quorum elects another, and the killed one rejoins.
func TestKRaftCluster(t *testing.T) {
	for _, version := range []string{cluster.DefaultKRaftKafkaVersion, cluster.DefaultKafkaVersion} {
		t.Run(version, func(t *testing.T) {
			c := upCluster(t, cluster.Options{KafkaMode: cluster.ModeKRaft, KafkaVersion: version, KafkaNodes: 3, Controllers: 3})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			if len(c.ZooKeepers()) != 0 {
				t.Errorf("a KRaft cluster with %d ZooKeeper nodes", len(c.ZooKeepers()))
			}
			testKafkaWalkThrough(ctx, t, c)
			testKRaftFailover(ctx, t, c)
		})
	}
}

// testKafkaWalkThrough makes a 3-partition topic with replication factor
// 2 through kafka1, produces through kafka1 and consumes through kafka2.
func testKafkaWalkThrough(ctx context.Context, t *testing.T, c cluster.Cluster) {
	topic := "walk"
	admin := kafkaClient(t, c, mustNode(t, c, "kafka1"))
	createTopic(ctx, t, admin, topic, 3, 2)
	producer := kafkaClient(t, c, mustNode(t, c, "kafka1"), kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.AllISRAcks()))
	for i := range 10 {
		if err := producer.ProduceSync(ctx, kgo.StringRecord(fmt.Sprint("m", i))).FirstErr(); err != nil {
			t.Fatalf("produce through kafka1: %v", err)
		}
	}
	consumer := kafkaClient(t, c, mustNode(t, c, "kafka2"), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := map[string]bool{}
	deadline := time.Now().Add(60 * time.Second)
	for len(got) < 10 && time.Now().Before(deadline) {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		fetches := consumer.PollFetches(pctx)
		cancel()
		fetches.EachRecord(func(r *kgo.Record) { got[string(r.Value)] = true })
	}
	if len(got) != 10 {
		t.Fatalf("consumed %d of 10 records through kafka2", len(got))
	}
}

func testKRaftFailover(ctx context.Context, t *testing.T, c cluster.Cluster) {
	old, err := c.KafkaController(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if old.Role() != cluster.RoleController {
		t.Fatalf("the active controller is %s, a %s", old.Name(), old.Role())
	}
	if err := old.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	realtest.Eventually(t, 60*time.Second, "the quorum elects another leader", func() (bool, string) {
		st, err := c.Status(ctx)
		if err != nil {
			return false, err.Error()
		}
		if st.Quorum == nil {
			return false, "no quorum in the status"
		}
		return st.Quorum.LeaderID >= 0 && st.Quorum.LeaderID != old.Spec().KafkaNodeID(),
			fmt.Sprintf("leader %d (epoch %d) %s", st.Quorum.LeaderID, st.Quorum.LeaderEpoch, st.Quorum.Error)
	})
	if err := old.Start(ctx); err != nil {
		t.Fatal(err)
	}
	hctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if err := c.WaitHealthy(hctx); err != nil {
		t.Fatalf("after restarting %s: %v", old.Name(), err)
	}
}

// createTopic makes a topic and waits until every partition has a leader.
func createTopic(ctx context.Context, t *testing.T, cl *kgo.Client, topic string, partitions int32, rf int16) {
	t.Helper()
	admin := kadm.NewClient(cl)
	created, err := admin.CreateTopic(ctx, partitions, rf, nil, topic)
	if err != nil || created.Err != nil {
		t.Fatalf("create %s: %v %v", topic, err, created.Err)
	}
	realtest.Eventually(t, 30*time.Second, topic+" has leaders", func() (bool, string) {
		md, err := admin.Metadata(ctx, topic)
		if err != nil {
			return false, err.Error()
		}
		td := md.Topics[topic]
		if len(td.Partitions) != int(partitions) {
			return false, fmt.Sprintf("%d partitions", len(td.Partitions))
		}
		for _, p := range td.Partitions {
			if p.Leader < 0 || len(p.Replicas) != int(rf) {
				return false, fmt.Sprintf("partition %d: leader %d, replicas %v", p.Partition, p.Leader, p.Replicas)
			}
		}
		return true, ""
	})
}

// TestZooKeeperOnlyEnsemble: five ZooKeeper nodes of a 3.9 release and no
// broker come up, elect one leader, and serve a write through one node and
// a read through another.
func TestZooKeeperOnlyEnsemble(t *testing.T) {
	c := upCluster(t, cluster.Options{ZooKeeperNodes: 5, ZooKeeperVersion: "3.9.4"})
	if len(c.Brokers()) != 0 || len(c.ZooKeepers()) != 5 {
		t.Fatalf("%d ZooKeeper nodes and %d brokers, want 5 and none", len(c.ZooKeepers()), len(c.Brokers()))
	}
	if v := c.Versions().ZooKeeper; v != "3.9.4" {
		t.Errorf("ZooKeeper version %s", v)
	}
	zk1 := zkSession(t, c, mustNode(t, c, "zk1"))
	if _, err := zk1.Create("/five", []byte("5"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	zk5 := zkSession(t, c, mustNode(t, c, "zk5"))
	if _, err := zk5.Sync("/five"); err != nil {
		t.Fatal(err)
	}
	if data, _, err := zk5.Get("/five"); err != nil || string(data) != "5" {
		t.Errorf("get through zk5 = %q, %v", data, err)
	}
	leader, err := c.ZooKeeperLeader(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("leader %s", leader.Name())
}
