package nemesis

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/cluster/local"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/internal/realtest"
	"github.com/faultline/faultline/netfault"
	"github.com/go-zookeeper/zk"
)

// These tests start a real 3+3 cluster (root, Java, the fetched servers).

func realCluster(t *testing.T) cluster.Cluster {
	t.Helper()
	realtest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := local.Backend{}.Up(ctx, cluster.Options{KafkaNodes: 3})
	if err != nil {
		t.Fatalf("bring the cluster up: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = c.Close(ctx)
	})
	return c
}

func healthy(t *testing.T, c cluster.Cluster, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := c.WaitHealthy(ctx); err != nil {
		t.Fatalf("cluster not healthy: %v", err)
	}
}

// TestFaultsOnARealCluster checks each fault by its effect, not by "no error".
func TestFaultsOnARealCluster(t *testing.T) {
	c := realCluster(t)
	ctx := context.Background()
	env := &Env{Cluster: c, Options: Options{}.Defaults(), Seed: 1}

	t.Run("isolating the ZooKeeper leader", func(t *testing.T) {
		old, err := c.ZooKeeperLeader(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p := &partitionFault{}
		did, err := p.Start(ctx, env, Step{Kind: KindPartition, Shape: ShapeZKLeader})
		if err != nil {
			t.Fatal(err)
		}
		if g := did.(map[string]any)["drops"].(Grudge); len(g[old.Name()]) != len(c.Nodes())-1 {
			t.Errorf("zk-leader isolated %v, want %s cut off from every other node", g, old.Name())
		}
		realtest.Eventually(t, 60*time.Second, "the isolated leader stops serving and the majority elects another", func() (bool, string) {
			mode, err := cluster.ZooKeeperMode(ctx, c.Dial, old.ClientAddr())
			now, lerr := c.ZooKeeperLeader(ctx)
			return mode != "leader" && mode != "follower" && lerr == nil && now.Name() != old.Name(),
				fmt.Sprintf("old leader %s: %q %v; leader now %v %v", old.Name(), mode, err, now, lerr)
		})
		if _, err := p.Heal(ctx, env); err != nil {
			t.Fatal(err)
		}
		healthy(t, c, 90*time.Second)
	})

	t.Run("zk-kafka: brokers lose their registrations and get them back", func(t *testing.T) {
		var zks, brokers []string
		for _, n := range c.Nodes() {
			if n.Role() == cluster.RoleZooKeeper {
				zks = append(zks, n.Name())
			} else {
				brokers = append(brokers, n.Name())
			}
		}
		var servers []string
		for _, z := range c.ZooKeepers() {
			servers = append(servers, z.ClientAddr())
		}
		conn, err := cluster.ConnectZooKeeper(c.Dial, servers, 10*time.Second, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		registered := func() int {
			ids, _, err := conn.Children("/brokers/ids")
			if err != nil && err != zk.ErrNoNode {
				return -1
			}
			return len(ids)
		}
		if n := registered(); n != 3 {
			t.Fatalf("%d brokers registered before the partition", n)
		}
		if err := applyGrudge(ctx, c, Split([][]string{zks, brokers})); err != nil {
			t.Fatal(err)
		}
		realtest.Eventually(t, 60*time.Second, "registrations disappear", func() (bool, string) {
			n := registered()
			return n == 0, strconv.Itoa(n) + " registered"
		})
		if err := applyGrudge(ctx, c, nil); err != nil {
			t.Fatal(err)
		}
		realtest.Eventually(t, 90*time.Second, "registrations come back", func() (bool, string) {
			n := registered()
			return n == 3, strconv.Itoa(n) + " registered"
		})
		healthy(t, c, 90*time.Second)
	})

	t.Run("a 100ms delay", func(t *testing.T) {
		kafka1, _ := c.Node("kafka1")
		rtt := func() time.Duration {
			best := time.Hour
			for range 5 {
				began := time.Now()
				conn, err := c.Dial(ctx, "tcp", kafka1.ClientAddr())
				if err != nil {
					t.Fatal(err)
				}
				best = min(best, time.Since(began))
				conn.Close()
			}
			return best
		}
		before := rtt()
		p := netfault.Packet{Behaviours: netfault.PacketDelay, Delay: 100 * time.Millisecond, Jitter: time.Millisecond}.Defaults()
		via, err := kafka1.Network().ShapePackets(ctx, p, 1)
		if err != nil {
			t.Fatal(err)
		}
		during := rtt()
		if err := kafka1.Network().ClearPackets(ctx); err != nil {
			t.Fatal(err)
		}
		after := rtt()
		t.Logf("connect round trip to kafka1: %s before, %s with 100ms delay by %s, %s after", before, during, via, after)
		// A connect waits for its delayed packet: none is quicker than the
		// delay less the jitter, whatever the noise in before.
		if during < p.Delay-p.Jitter {
			t.Errorf("with the delay the quickest round trip is %s (%s before), want ≥ %s", during, before, p.Delay-p.Jitter)
		}
		if after > before+50*time.Millisecond {
			t.Errorf("after healing the round trip is %s, was %s", after, before)
		}
	})

	t.Run("a schedule of kills and pauses, recorded and healed", func(t *testing.T) {
		o := Options{Kinds: []Kind{KindKill, KindPause}, Interval: 2 * time.Second, Target: TargetOne}.Defaults()
		steps, err := Plan(o, infosOf(c), 11, 10*time.Second, Builtin())
		if err != nil {
			t.Fatal(err)
		}
		rec := &memRecorder{}
		nem := New(&Env{Cluster: c, Options: o, Seed: 11}, Builtin(), rec, steps)
		runCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		nem.Run(runCtx, time.Now())
		if err := nem.HealAll(ctx); err != nil {
			t.Fatalf("heal: %v", err)
		}
		ops := rec.ops()
		calls, err := history.Pair(ops)
		if err != nil {
			t.Fatalf("nemesis ops do not pair: %v", err)
		}
		started := 0
		for _, call := range calls {
			if call.Completion == nil || call.Completion.Type != history.Info {
				t.Errorf("nemesis call %v did not complete as info", call.Invoke)
			}
			if call.Completion != nil && call.Completion.Error != "" {
				t.Errorf("fault failed: %s", call.Completion)
			}
			if len(call.Invoke.F) > 6 && call.Invoke.F[:6] == "start-" {
				started++
			}
		}
		if started < 2 {
			t.Errorf("only %d faults started in 10s at a 2s interval", started)
		}
		st, err := c.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range st.Nodes {
			if n.Process != cluster.ProcessRunning {
				t.Errorf("%s is %s after healing", n.Name, n.Process)
			}
		}
		healthy(t, c, 120*time.Second)
	})
}

// infosOf describes a running cluster's nodes for planning.
func infosOf(c cluster.Cluster) []NodeInfo {
	var infos []NodeInfo
	for _, n := range c.Nodes() {
		infos = append(infos, NodeInfo{Name: n.Name(), Role: n.Role()})
	}
	return infos
}
