package nemesis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/netfault"
)

// fakeCluster is a cluster with no servers: its nodes remember what the
// nemesis did to them, so unit tests can check it without root.
type fakeCluster struct {
	nodes   []*fakeNode
	leader  string // the ZooKeeper leader
	ctrl    string // the Kafka controller
	leaders map[int32]string
	noNet   bool // nodes offer no network capability
	frozen  bool // nodes pause by freezing, as containers do
	hosts   []*fakeNode
}

func newFakeCluster(names ...string) *fakeCluster {
	c := &fakeCluster{}
	for i, name := range names {
		role := cluster.RoleKafka
		if strings.HasPrefix(name, "zk") {
			role = cluster.RoleZooKeeper
		}
		c.nodes = append(c.nodes, &fakeNode{c: c, name: name, role: role, id: i + 1,
			addr: netip.AddrFrom4([4]byte{10, 213, 0, byte(10 + i)}), running: true})
	}
	return c
}

func (c *fakeCluster) ID() string { return "fake" }
func (c *fakeCluster) Nodes() []cluster.Node {
	out := make([]cluster.Node, len(c.nodes))
	for i, n := range c.nodes {
		out[i] = n
	}
	return out
}
func (c *fakeCluster) Node(name string) (cluster.Node, bool) {
	for _, n := range c.nodes {
		if n.name == name {
			return n, true
		}
	}
	return nil, false
}
func (c *fakeCluster) byRole(r cluster.Role) []cluster.Node {
	var out []cluster.Node
	for _, n := range c.nodes {
		if n.role == r {
			out = append(out, n)
		}
	}
	return out
}
func (c *fakeCluster) ZooKeepers() []cluster.Node { return c.byRole(cluster.RoleZooKeeper) }
func (c *fakeCluster) Brokers() []cluster.Node    { return c.byRole(cluster.RoleKafka) }
func (c *fakeCluster) Dial(context.Context, string, string) (net.Conn, error) {
	return nil, errors.New("fake cluster: no network")
}
func (c *fakeCluster) Status(context.Context) (cluster.Status, error) { return cluster.Status{}, nil }
func (c *fakeCluster) WaitHealthy(context.Context) error              { return nil }
func (c *fakeCluster) Close(context.Context) error                    { return nil }
func (c *fakeCluster) Versions() cluster.Versions                     { return cluster.Versions{} }
func (c *fakeCluster) ClientHosts() []cluster.ClientHost {
	var out []cluster.ClientHost
	for _, h := range c.hosts {
		out = append(out, fakeHost{h})
	}
	return out
}

// fakeHost is a client host of the fake cluster: a fakeNode that only
// takes drops.
type fakeHost struct{ n *fakeNode }

func (h fakeHost) Name() string             { return h.n.name }
func (h fakeHost) Addr() netip.Addr         { return h.n.addr }
func (h fakeHost) Network() cluster.Network { return h.n }
func (h fakeHost) Dial(context.Context, string, string) (net.Conn, error) {
	return nil, errors.New("fake host: no network")
}

// withHosts adds client hosts c1..cN.
func (c *fakeCluster) withHosts(n int) *fakeCluster {
	for i := 1; i <= n; i++ {
		c.hosts = append(c.hosts, &fakeNode{c: c, name: fmt.Sprintf("c%d", i), role: cluster.RoleClient, id: i,
			addr: netip.AddrFrom4([4]byte{10, 213, 0, byte(40 + i)}), running: true})
	}
	return c
}

// host finds a client host.
func (c *fakeCluster) host(name string) *fakeNode {
	for _, h := range c.hosts {
		if h.name == name {
			return h
		}
	}
	return nil
}
func (c *fakeCluster) named(name string) (cluster.Node, error) {
	n, ok := c.Node(name)
	if !ok {
		return nil, fmt.Errorf("no leader")
	}
	return n, nil
}
func (c *fakeCluster) ZooKeeperLeader(context.Context) (cluster.Node, error) {
	return c.named(c.leader)
}
func (c *fakeCluster) KafkaController(context.Context) (cluster.Node, error) { return c.named(c.ctrl) }
func (c *fakeCluster) PartitionLeaders(_ context.Context, topic string) (map[int32]cluster.Node, error) {
	out := map[int32]cluster.Node{}
	for p, name := range c.leaders {
		n, err := c.named(name)
		if err != nil {
			return nil, err
		}
		out[p] = n
	}
	return out, nil
}

type fakeNode struct {
	c    *fakeCluster
	name string
	role cluster.Role
	id   int
	addr netip.Addr

	mu       sync.Mutex
	running  bool
	paused   bool
	drops    []netip.Addr
	shaped   bool
	failDrop error // Drop fails with it
}

func (n *fakeNode) Name() string       { return n.name }
func (n *fakeNode) Role() cluster.Role { return n.role }
func (n *fakeNode) ID() int            { return n.id }
func (n *fakeNode) Addr() netip.Addr   { return n.addr }
func (n *fakeNode) ClientAddr() string { return n.addr.String() + ":1" }
func (n *fakeNode) Spec() cluster.NodeSpec {
	return cluster.NodeSpec{Name: n.name, Role: n.role, ID: n.id, Addr: n.addr}
}
func (n *fakeNode) LogFile() string { return "" }
func (n *fakeNode) Network() cluster.Network {
	if n.c.noNet {
		return nil
	}
	return n
}
func (n *fakeNode) Start(context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.running, n.paused = true, false
	return nil
}
func (n *fakeNode) Stop(context.Context) error { return n.Kill(nil) }
func (n *fakeNode) Kill(context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.running, n.paused = false, false
	return nil
}
func (n *fakeNode) Pause(context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.running {
		return fmt.Errorf("%s is not running", n.name)
	}
	n.paused = true
	return nil
}
func (n *fakeNode) Resume(context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.running {
		return fmt.Errorf("%s is not running", n.name)
	}
	n.paused = false
	return nil
}
func (n *fakeNode) Restart(ctx context.Context) error { return n.Start(ctx) }
func (n *fakeNode) Freezes() bool                     { return n.c.frozen }
func (n *fakeNode) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.running
}
func (n *fakeNode) Drop(_ context.Context, from []netip.Addr) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.failDrop != nil && len(from) > 0 {
		return n.failDrop
	}
	n.drops = slices.Clone(from)
	return nil
}
func (n *fakeNode) ShapePackets(context.Context, netfault.Packet, uint64) (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.shaped = true
	return "fake", nil
}
func (n *fakeNode) ClearPackets(context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.shaped = false
	return nil
}

// dropped names the nodes n drops.
func (n *fakeNode) dropped() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, a := range n.drops {
		for _, m := range append(slices.Clone(n.c.nodes), n.c.hosts...) {
			if m.addr == a {
				out = append(out, m.name)
			}
		}
	}
	slices.Sort(out)
	return out
}

// memRecorder keeps a history in memory.
type memRecorder struct {
	mu  sync.Mutex
	all []history.Op
}

func (m *memRecorder) Append(op history.Op) (history.Op, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	op.Index = int64(len(m.all))
	m.all = append(m.all, op)
	return op, nil
}

func (m *memRecorder) ops() []history.Op {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.all)
}
