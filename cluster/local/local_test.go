package local

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/internal/realtest"
	"github.com/go-zookeeper/zk"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// These tests start real ZooKeeper and Kafka servers. They need root (for
// network namespaces), Java and the server distribution (`faultline cluster
// fetch`). Run one real-cluster test at a time: go test -p 1.

func upCluster(t *testing.T, o cluster.Options) cluster.Cluster {
	t.Helper()
	realtest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := Backend{}.Up(ctx, o)
	if err != nil {
		var ne *cluster.NodeError
		if ok := asNodeError(err, &ne); ok {
			t.Fatalf("bring the cluster up: %v\n%s", err, ne.LogTail(30))
		}
		t.Fatalf("bring the cluster up: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return c
}

func asNodeError(err error, target **cluster.NodeError) bool {
	ne, ok := err.(*cluster.NodeError)
	if ok {
		*target = ne
	}
	return ok
}

// zkSession connects to exactly one ZooKeeper node.
func zkSession(t *testing.T, c cluster.Cluster, node cluster.Node) *zk.Conn {
	t.Helper()
	conn, err := cluster.ConnectZooKeeper(c.Dial, []string{node.ClientAddr()}, 10*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	return conn
}

// kafkaClient talks to the cluster with node as its only seed broker.
func kafkaClient(t *testing.T, c cluster.Cluster, node cluster.Node, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	opts = append([]kgo.Opt{kgo.SeedBrokers(node.ClientAddr()), kgo.Dialer(c.Dial)}, opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func mustNode(t *testing.T, c cluster.Cluster, name string) cluster.Node {
	t.Helper()
	n, ok := c.Node(name)
	if !ok {
		t.Fatalf("no node %s", name)
	}
	return n
}

// TestRealCluster brings up the default 3+3 cluster once and walks through
// what a user does with it, then the failovers, then the teardown.
func TestRealCluster(t *testing.T) {
	c := upCluster(t, cluster.Options{KafkaNodes: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	t.Run("seed walk-through", func(t *testing.T) { testWalkThrough(ctx, t, c) })
	t.Run("pause and resume", func(t *testing.T) { testPauseResume(ctx, t, c) })
	t.Run("zookeeper leader failover", func(t *testing.T) { testZooKeeperFailover(ctx, t, c) })
	t.Run("kafka controller failover", func(t *testing.T) { testControllerFailover(ctx, t, c) })
	t.Run("teardown leaves nothing", func(t *testing.T) { testTeardown(ctx, t, c) })
}

func testWalkThrough(ctx context.Context, t *testing.T, c cluster.Cluster) {
	zk1 := zkSession(t, c, mustNode(t, c, "zk1"))
	if _, err := zk1.Create("/app1", []byte("Hello, app1"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("create /app1 through zk1: %v", err)
	}
	zk2 := zkSession(t, c, mustNode(t, c, "zk2"))
	if _, err := zk2.Sync("/app1"); err != nil {
		t.Fatalf("sync through zk2: %v", err)
	}
	data, _, err := zk2.Get("/app1")
	if err != nil || string(data) != "Hello, app1" {
		t.Fatalf("get /app1 through zk2 = %q, %v; want \"Hello, app1\"", data, err)
	}
	children, _, err := zk2.Children("/")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"app1", "zookeeper"} {
		if !slices.Contains(children, want) {
			t.Errorf("ls / = %v, want %s in it", children, want)
		}
	}

	admin := kadm.NewClient(kafkaClient(t, c, mustNode(t, c, "kafka1")))
	created, err := admin.CreateTopic(ctx, 3, 2, nil, "example_topic")
	if err != nil || created.Err != nil {
		t.Fatalf("create example_topic: %v %v", err, created.Err)
	}
	var assignment struct {
		Partitions map[string][]int `json:"partitions"`
	}
	realtest.Eventually(t, 30*time.Second, "example_topic in ZooKeeper", func() (bool, string) {
		data, _, err := zk1.Get("/brokers/topics/example_topic")
		if err != nil {
			return false, err.Error()
		}
		if err := json.Unmarshal(data, &assignment); err != nil {
			return false, err.Error()
		}
		return len(assignment.Partitions) == 3, string(data)
	})
	for p, replicas := range assignment.Partitions {
		if len(replicas) != 2 || replicas[0] == replicas[1] {
			t.Errorf("partition %s has replicas %v, want 2 distinct brokers", p, replicas)
		}
	}

	producer := kafkaClient(t, c, mustNode(t, c, "kafka1"), kgo.DefaultProduceTopic("example_topic"))
	record := &kgo.Record{Value: []byte("hello through kafka1")}
	if err := producer.ProduceSync(ctx, record).FirstErr(); err != nil {
		t.Fatalf("produce through kafka1: %v", err)
	}
	consumer := kafkaClient(t, c, mustNode(t, c, "kafka2"),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
			"example_topic": {record.Partition: kgo.NewOffset().At(record.Offset)},
		}))
	pctx, pcancel := context.WithTimeout(ctx, 30*time.Second)
	defer pcancel()
	fetches := consumer.PollRecords(pctx, 1)
	if errs := fetches.Errors(); len(errs) > 0 {
		t.Fatalf("consume through kafka2: %v", errs)
	}
	got := fetches.Records()
	if len(got) != 1 || string(got[0].Value) != "hello through kafka1" {
		t.Fatalf("consumed %v, want the record produced", got)
	}
}

func testPauseResume(ctx context.Context, t *testing.T, c cluster.Cluster) {
	n := mustNode(t, c, "zk1")
	if err := n.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := readProcStat(n.(*localNode).PID())
	if err != nil || st.State != 'T' {
		t.Fatalf("paused zk1 is in state %c (%v), want T", st.State, err)
	}
	if err := n.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	realtest.Eventually(t, 30*time.Second, "zk1 serving after resume", func() (bool, string) {
		if st, err := readProcStat(n.(*localNode).PID()); err != nil || st.State == 'T' {
			return false, fmt.Sprintf("state %c %v", st.State, err)
		}
		mode, err := cluster.ZooKeeperMode(ctx, c.Dial, n.ClientAddr())
		return err == nil && mode != "", fmt.Sprint(mode, err)
	})
}

// zkLeader returns the ZooKeeper leader among the running nodes.
func zkLeader(ctx context.Context, c cluster.Cluster) (cluster.Node, string) {
	var modes []string
	for _, n := range c.ZooKeepers() {
		if !n.Running() {
			continue
		}
		mode, err := cluster.ZooKeeperMode(ctx, c.Dial, n.ClientAddr())
		modes = append(modes, fmt.Sprintf("%s=%s%v", n.Name(), mode, errText(err)))
		if mode == "leader" {
			return n, ""
		}
	}
	return nil, strings.Join(modes, " ")
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return "(" + err.Error() + ")"
}

func testZooKeeperFailover(ctx context.Context, t *testing.T, c cluster.Cluster) {
	leader, why := zkLeader(ctx, c)
	if leader == nil {
		t.Fatalf("no ZooKeeper leader: %s", why)
	}
	if err := leader.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	if leader.Running() {
		t.Fatalf("%s still runs after Kill", leader.Name())
	}
	realtest.Eventually(t, 60*time.Second, "the other two elect a leader", func() (bool, string) {
		n, why := zkLeader(ctx, c)
		return n != nil && n.Name() != leader.Name(), why
	})
	if err := leader.Start(ctx); err != nil {
		t.Fatal(err)
	}
	realtest.Eventually(t, 60*time.Second, leader.Name()+" rejoins as follower", func() (bool, string) {
		mode, err := cluster.ZooKeeperMode(ctx, c.Dial, leader.ClientAddr())
		return mode == "follower", mode + errText(err)
	})
	// The restarted node kept its data: /app1 is there through it.
	conn := zkSession(t, c, leader)
	if data, _, err := conn.Get("/app1"); err != nil || string(data) != "Hello, app1" {
		t.Fatalf("get /app1 through restarted %s = %q, %v", leader.Name(), data, err)
	}
	if err := c.WaitHealthy(ctx); err != nil {
		t.Fatal(err)
	}
}

func testControllerFailover(ctx context.Context, t *testing.T, c cluster.Cluster) {
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Controller < 0 {
		t.Fatal("no controller")
	}
	old := mustNode(t, c, fmt.Sprintf("kafka%d", st.Controller))
	if err := old.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	realtest.Eventually(t, 60*time.Second, "another broker becomes controller", func() (bool, string) {
		st, err := c.Status(ctx)
		if err != nil {
			return false, err.Error()
		}
		return st.Controller >= 0 && st.Controller != old.ID(), fmt.Sprintf("controller %d", st.Controller)
	})
	if err := old.Start(ctx); err != nil {
		t.Fatal(err)
	}
	hctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if err := c.WaitHealthy(hctx); err != nil {
		var ne *cluster.NodeError
		if asNodeError(err, &ne) {
			t.Fatalf("after restarting %s: %v\n%s", old.Name(), err, ne.LogTail(40))
		}
		t.Fatalf("after restarting %s: %v", old.Name(), err)
	}
}

func testTeardown(ctx context.Context, t *testing.T, c cluster.Cluster) {
	lc := c.(*localCluster)
	id, dir := lc.ID(), lc.Dir()
	inodes := map[uint64]bool{}
	for _, name := range lc.state.Namespaces {
		ino, err := nsInode(nsPath(name))
		if err != nil {
			t.Fatalf("namespace %s before teardown: %v", name, err)
		}
		inodes[ino] = true
	}
	var pids []int
	for _, n := range c.Nodes() {
		pids = append(pids, n.(*localNode).PID())
	}
	began := time.Now()
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("torn down in %s", time.Since(began))
	assertRunGone(t, id, dir, inodes, pids)
}

// assertRunGone checks that nothing of a run remains: processes, namespaces
// (and with them their links), state file, work directory.
func assertRunGone(t *testing.T, id, dir string, inodes map[uint64]bool, pids []int) {
	t.Helper()
	for _, pid := range pids {
		if pid > 0 && alive(pid) {
			t.Errorf("server process %d still runs", pid)
		}
	}
	if left, err := pidsInNamespaces(inodes); err != nil || len(left) > 0 {
		t.Errorf("processes left in the run's namespaces: %v %v", left, err)
	}
	if names, err := runNamespaces(id); err != nil || len(names) > 0 {
		t.Errorf("namespaces left: %v %v", names, err)
	}
	if _, err := os.Stat(statePath(id)); !os.IsNotExist(err) {
		t.Errorf("state file left: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("work directory %s left: %v", dir, err)
	}
}
