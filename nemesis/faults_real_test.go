package nemesis

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/internal/realtest"
	"github.com/go-zookeeper/zk"
)

// These tests start a real 3+3 cluster (root, Java, the fetched servers).

func realCluster(t *testing.T) cluster.Cluster {
	t.Helper()
	realtest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := cluster.NewLocal(ctx, cluster.Options{})
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

func nets(c cluster.Cluster) []NodeNet {
	var out []NodeNet
	for _, n := range c.Nodes() {
		out = append(out, NodeNet{Name: n.Name(), Addr: n.Addr(), NetNSPath: n.NetNSPath()})
	}
	return out
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
	all := nodeNames(Infos(c))

	t.Run("isolating the ZooKeeper leader", func(t *testing.T) {
		leader, err := ZooKeeperLeader(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if err := ApplyGrudge(ctx, nets(c), Isolate(all, leader)); err != nil {
			t.Fatal(err)
		}
		old, _ := c.Node(leader)
		realtest.Eventually(t, 60*time.Second, "the isolated leader stops serving and the majority elects another", func() (bool, string) {
			mode, err := cluster.ZooKeeperMode(ctx, c.Dial, old.ClientAddr())
			now, lerr := ZooKeeperLeader(ctx, c)
			return mode != "leader" && mode != "follower" && lerr == nil && now != leader,
				fmt.Sprintf("old leader %s: %q %v; leader now %q %v", leader, mode, err, now, lerr)
		})
		if err := HealPartitions(ctx, nets(c)); err != nil {
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
		if err := ApplyGrudge(ctx, nets(c), Split([][]string{zks, brokers})); err != nil {
			t.Fatal(err)
		}
		realtest.Eventually(t, 60*time.Second, "registrations disappear", func() (bool, string) {
			n := registered()
			return n == 0, strconv.Itoa(n) + " registered"
		})
		if err := HealPartitions(ctx, nets(c)); err != nil {
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
		p := Packet{Behaviours: PacketDelay, Delay: 100 * time.Millisecond, Jitter: time.Millisecond}.Defaults()
		n := NodeNet{Name: kafka1.Name(), Addr: kafka1.Addr(), NetNSPath: kafka1.NetNSPath()}
		via, heal := shapePackets(ctx, t, n, p)
		during := rtt()
		if err := heal(ctx); err != nil {
			t.Fatal(err)
		}
		after := rtt()
		t.Logf("connect round trip to kafka1: %s before, %s with 100ms delay by %s, %s after", before, during, via, after)
		if during-before < 99*time.Millisecond {
			t.Errorf("the delay raised the round trip by %s, want ≥ 100ms", during-before)
		}
		if after > before+50*time.Millisecond {
			t.Errorf("after healing the round trip is %s, was %s", after, before)
		}
	})

	t.Run("a schedule of kills and pauses, recorded and healed", func(t *testing.T) {
		o := Options{Kinds: []Kind{KindKill, KindPause}, Interval: 2 * time.Second, Target: TargetOne}.Defaults()
		steps, err := Plan(o, Infos(c), 11, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		rec := &memRecorder{}
		nem := New(c, rec, steps, o.Packet, nil)
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
		for _, n := range c.Nodes() {
			if !n.Running() {
				t.Errorf("%s is not running after healing", n.Name())
			}
			b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(n.PID()), "stat"))
			if st := string(b); len(st) > 0 && containsState(st, 'T') {
				t.Errorf("%s is still paused after healing", n.Name())
			}
		}
		healthy(t, c, 120*time.Second)
		if len(nem.Windows()) != started {
			t.Errorf("%d windows for %d faults", len(nem.Windows()), started)
		}
	})
}

// containsState reports whether a /proc/PID/stat line shows state s.
func containsState(stat string, s byte) bool {
	for i := len(stat) - 1; i >= 0; i-- {
		if stat[i] == ')' {
			return i+2 < len(stat) && stat[i+2] == s
		}
	}
	return false
}

// memRecorder keeps ops in memory, stamping them like a history.Writer.
type memRecorder struct {
	mu  sync.Mutex
	all []history.Op
}

func (m *memRecorder) Append(op history.Op) (history.Op, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	op.Index = int64(len(m.all))
	op.Time = time.Now().UnixNano()
	m.all = append(m.all, op)
	return op, nil
}

func (m *memRecorder) ops() []history.Op {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]history.Op(nil), m.all...)
}
