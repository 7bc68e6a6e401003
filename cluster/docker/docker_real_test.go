package docker

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/internal/realtest"
	"github.com/go-zookeeper/zk"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// These tests start real ZooKeeper and Kafka servers in containers. They
// need FAULTLINE_REAL_TESTS=1, root, a Docker daemon (scripts/start-dockerd.sh),
// the runtime image (`faultline docker setup`) and the fetched servers
// (`faultline cluster fetch`); without a daemon or the image they skip
// and say why. One real cluster at a time: go test -p 1.

func upDocker(t *testing.T, o cluster.Options) cluster.Cluster {
	t.Helper()
	requireDaemon(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := Backend{}.Up(ctx, o)
	if err != nil {
		var ne *cluster.NodeError
		if errors.As(err, &ne) {
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

func mustNode(t *testing.T, c cluster.Cluster, name string) cluster.Node {
	t.Helper()
	n, ok := c.Node(name)
	if !ok {
		t.Fatalf("no node %s", name)
	}
	return n
}

// TestDockerCluster brings up 3 ZooKeeper nodes and 3 brokers in
// containers and walks through the seed's steps, then a partition across
// a restart, then the teardown.
func TestDockerCluster(t *testing.T) {
	c := upDocker(t, cluster.Options{KafkaNodes: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	t.Run("seed walk-through", func(t *testing.T) { testWalkThrough(ctx, t, c) })
	t.Run("partition survives a restart", func(t *testing.T) { testPartitionAcrossRestart(ctx, t, c) })
	t.Run("teardown leaves nothing", func(t *testing.T) { testTeardown(ctx, t, c) })
}

// testWalkThrough: a znode made through zk1 is read through zk2; a topic
// of 3 partitions and 2 replicas; a record produced through kafka1 is
// consumed through kafka2.
func testWalkThrough(ctx context.Context, t *testing.T, c cluster.Cluster) {
	zk1, err := cluster.ConnectZooKeeper(c.Dial, []string{mustNode(t, c, "zk1").ClientAddr()}, 10*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer zk1.Close()
	if _, err := zk1.Create("/app1", []byte("Hello, app1"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("create /app1 through zk1: %v", err)
	}
	zk2, err := cluster.ConnectZooKeeper(c.Dial, []string{mustNode(t, c, "zk2").ClientAddr()}, 10*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer zk2.Close()
	if _, err := zk2.Sync("/app1"); err != nil {
		t.Fatalf("sync through zk2: %v", err)
	}
	if data, _, err := zk2.Get("/app1"); err != nil || string(data) != "Hello, app1" {
		t.Fatalf("get /app1 through zk2 = %q, %v; want \"Hello, app1\"", data, err)
	}
	client := func(node string, opts ...kgo.Opt) *kgo.Client {
		cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(mustNode(t, c, node).ClientAddr()), kgo.Dialer(c.Dial)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		return cl
	}
	admin := kadm.NewClient(client("kafka1"))
	created, err := admin.CreateTopic(ctx, 3, 2, nil, "example_topic")
	if err != nil || created.Err != nil {
		t.Fatalf("create example_topic: %v %v", err, created.Err)
	}
	realtest.Eventually(t, 30*time.Second, "example_topic with 3 partitions of 2 replicas", func() (bool, string) {
		topics, err := admin.ListTopics(ctx, "example_topic")
		if err != nil {
			return false, err.Error()
		}
		td := topics["example_topic"]
		if len(td.Partitions) != 3 {
			return false, fmt.Sprintf("partitions: %v", td.Partitions.Numbers())
		}
		for _, p := range td.Partitions {
			if len(p.Replicas) != 2 || p.Replicas[0] == p.Replicas[1] || p.Leader < 0 {
				return false, "a partition without 2 replicas and a leader"
			}
		}
		return true, ""
	})
	producer := client("kafka1", kgo.DefaultProduceTopic("example_topic"))
	record := &kgo.Record{Value: []byte("hello through kafka1")}
	if err := producer.ProduceSync(ctx, record).FirstErr(); err != nil {
		t.Fatalf("produce through kafka1: %v", err)
	}
	consumer := client("kafka2", kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
		"example_topic": {record.Partition: kgo.NewOffset().At(record.Offset)},
	}))
	pctx, pcancel := context.WithTimeout(ctx, 30*time.Second)
	defer pcancel()
	fetches := consumer.PollRecords(pctx, 1)
	if errs := fetches.Errors(); len(errs) > 0 {
		t.Fatalf("consume through kafka2: %v", errs)
	}
	if got := fetches.Records(); len(got) != 1 || string(got[0].Value) != "hello through kafka1" {
		t.Fatalf("consumed %v, want the record produced", got)
	}
}

// testPartitionAcrossRestart cuts zk3 off from zk1 and zk2, kills and
// starts zk3's container (a new network namespace), and checks that the
// cut holds: zk3's new namespace has faultline's table and zk3 stays out
// of the quorum; healed, it joins again.
func testPartitionAcrossRestart(ctx context.Context, t *testing.T, c cluster.Cluster) {
	zk3 := mustNode(t, c, "zk3")
	peers := []cluster.Node{mustNode(t, c, "zk1"), mustNode(t, c, "zk2")}
	from := make([]netip.Addr, 0, 2)
	for _, p := range peers {
		from = append(from, p.Addr())
	}
	if err := zk3.Network().Drop(ctx, from); err != nil {
		t.Fatal(err)
	}
	oldPath := zk3.(*node).ns.host.NetNSPath
	oldPID := zk3.(*node).Process(ctx).PID
	if err := zk3.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	if err := zk3.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if pid := zk3.(*node).Process(ctx).PID; pid == oldPID || pid == 0 {
		t.Fatalf("zk3's pid after the restart is %d (before %d)", pid, oldPID)
	}
	if !hasFaultlineTable(t, zk3.(*node).ns.host.NetNSPath) {
		t.Fatalf("zk3's new namespace has no faultline table (old one was %s)", oldPath)
	}
	// Well past an election (tickTime 2 s, initLimit 10 ticks is longer:
	// 12 s is enough to see it does not join while cut off).
	deadline := time.Now().Add(12 * time.Second)
	for time.Now().Before(deadline) {
		if mode, err := cluster.ZooKeeperMode(ctx, c.Dial, zk3.ClientAddr()); err == nil && (mode == "follower" || mode == "leader") {
			t.Fatalf("zk3 serves as %s while cut off from zk1 and zk2 after its restart", mode)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err := zk3.Network().Drop(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if hasFaultlineTable(t, zk3.(*node).ns.host.NetNSPath) {
		t.Fatal("healed zk3 keeps a faultline table")
	}
	realtest.Eventually(t, 60*time.Second, "zk3 back in the quorum", func() (bool, string) {
		mode, err := cluster.ZooKeeperMode(ctx, c.Dial, zk3.ClientAddr())
		if err != nil {
			return false, err.Error()
		}
		return mode == "follower" || mode == "leader", mode
	})
	if err := c.WaitHealthy(ctx); err != nil {
		t.Fatal(err)
	}
}

// testTeardown closes the cluster and finds no container or network of
// the run by label; the servers' logs stay in the run's folder when it is
// kept.
func testTeardown(ctx context.Context, t *testing.T, c cluster.Cluster) {
	dc := c.(*dockerCluster)
	id := dc.id
	logFile := mustNode(t, c, "zk1").LogFile()
	if st, err := os.Stat(logFile); err != nil || st.Size() == 0 {
		t.Errorf("zk1's log %s is missing or empty in the run's folder: %v", logFile, err)
	}
	d2, err := connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.close()
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if ctrs, err := d2.runContainers(ctx, id); err != nil || len(ctrs) > 0 {
		t.Fatalf("after Close: %d containers of run %s left (%v)", len(ctrs), id, err)
	}
	if _, found, err := d2.runHarness(ctx, id); err != nil || found {
		t.Fatalf("after Close: run %s still has a network (%v)", id, err)
	}
}

// TestDownAfterSIGKILL brings a cluster up with the faultline binary,
// SIGKILLs it once the containers run, and then `faultline cluster down
// --backend docker` (Down) must leave no container and no network of the
// run, found by label.
func TestDownAfterSIGKILL(t *testing.T) {
	requireDaemon(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "faultline")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/faultline/faultline/cmd/faultline")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build faultline: %v\n%s", err, out)
	}
	d, err := connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	before, err := d.runIDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, bin, "cluster", "up", "--backend", "docker", "--zk-nodes", "1")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var run string
	realtest.Eventually(t, 2*time.Minute, "the run's container running", func() (bool, string) {
		ids, err := d.runIDs(ctx)
		if err != nil {
			return false, err.Error()
		}
		for _, id := range ids {
			if slices.Contains(before, id) {
				continue
			}
			ctrs, err := d.runContainers(ctx, id)
			if err == nil && len(ctrs) > 0 && ctrs[0].State == "running" {
				run = id
				return true, ""
			}
		}
		return false, "no new run yet"
	})
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	removed, _, err := Down(ctx, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(removed, run) {
		t.Fatalf("Down removed %v, not the killed harness's run %s", removed, run)
	}
	if ctrs, err := d.runContainers(ctx, run); err != nil || len(ctrs) > 0 {
		t.Fatalf("after Down: %d containers of run %s left (%v)", len(ctrs), run, err)
	}
	if _, found, err := d.runHarness(ctx, run); err != nil || found {
		t.Fatalf("after Down: run %s still has a network (%v)", run, err)
	}
}
