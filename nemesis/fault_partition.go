package nemesis

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"

	"github.com/faultline/faultline/cluster"
)

// Partition shapes.
const (
	ShapeOne            = "one"
	ShapeHalves         = "halves"
	ShapeMajoritiesRing = "majorities-ring"
	ShapeBridge         = "bridge"
	ShapeZKLeader       = "zk-leader"
	// ShapeZKLeaderOneWay cuts one way only: the ZooKeeper leader's
	// packets to the other ZooKeeper nodes are dropped, theirs to it pass.
	// The followers give up on the leader and elect another while the old
	// one still serves its sessions until it notices (ZOOKEEPER-1675).
	ShapeZKLeaderOneWay  = "zk-leader-oneway"
	ShapeKafkaController = "kafka-controller"
	// ShapeKRaftLeader isolates the KRaft quorum's leader.
	ShapeKRaftLeader = "kraft-leader"
	// ShapeControllers cuts the KRaft controllers off from every other
	// node: the brokers keep their clients but lose their metadata layer.
	ShapeControllers = "controllers"
	ShapeKafkaLeader = "kafka-leader"
	ShapeZKKafka     = "zk-kafka"
	ShapeGrudge      = "grudge"
	// ShapeClient cuts a client host (drawn) off from every server; its
	// clients' sessions go quiet while the servers run on.
	ShapeClient = "client"
	// ShapeClientFromLeader cuts a client host (drawn) off from the
	// ZooKeeper leader only: its sessions must move to another server.
	ShapeClientFromLeader = "client-from-leader"
	// ShapeIsolate cuts a scripted step's target nodes off from every
	// other node (a schedule's step only: its Target says which).
	ShapeIsolate = "isolate"
)

// randomShapes are drawn from when no shape is given.
var randomShapes = []string{ShapeOne, ShapeHalves, ShapeMajoritiesRing, ShapeBridge}

// partitionFault cuts the network between groups of nodes: each node drops
// the packets of the nodes its grudge names, through its network
// capability (nftables in the node's namespace on the local backend). The
// harness's own traffic is never cut.
type partitionFault struct {
	mu     sync.Mutex
	active *string // the key of the step whose partition is in place
}

func (*partitionFault) Kind() Kind { return KindPartition }

func (*partitionFault) Summary() string {
	return "cut the network between groups of nodes (each node drops its peers' packets)"
}

func (*partitionFault) Flags() []string { return []string{"partition", "grudge"} }

func (*partitionFault) Validate(o Options, nodes []NodeInfo) error {
	aimed := onRoles(nodes, o.Roles)
	has := func(r cluster.Role) bool {
		return slices.Contains(o.Roles, r) && slices.ContainsFunc(aimed, func(n NodeInfo) bool { return n.Role == r })
	}
	switch o.Partition {
	case "", ShapeOne, ShapeHalves, ShapeMajoritiesRing, ShapeBridge:
		if len(aimed) < 2 {
			return fmt.Errorf("a partition needs two nodes to cut apart, and --nemesis-roles %s leaves %d: add nodes (--zk-nodes, --kafka-nodes) or roles", rolesText(o.Roles), len(aimed))
		}
	case ShapeZKLeader, ShapeZKLeaderOneWay:
		if !has(cluster.RoleZooKeeper) {
			return fmt.Errorf("--partition %s cuts off the ZooKeeper leader, and --nemesis-roles %s leaves ZooKeeper out: add zk", o.Partition, rolesText(o.Roles))
		}
	case ShapeKafkaLeader:
		if !has(cluster.RoleKafka) {
			return fmt.Errorf("--partition %s cuts off a broker, and the cluster has none among --nemesis-roles %s: add brokers (--kafka-nodes) and kafka to --nemesis-roles", o.Partition, rolesText(o.Roles))
		}
	case ShapeKafkaController, ShapeKRaftLeader:
		if o.Partition == ShapeKRaftLeader && !kraft(nodes) {
			return fmt.Errorf("--partition kraft-leader isolates the KRaft quorum's leader, and the cluster has no KRaft quorum: give --kafka-mode kraft, or --partition kafka-controller")
		}
		if !has(cluster.RoleKafka) && !has(cluster.RoleController) {
			return fmt.Errorf("--partition %s isolates the active controller, and --nemesis-roles %s leaves Kafka and its controllers out: add kafka or controller", o.Partition, rolesText(o.Roles))
		}
	case ShapeControllers:
		if !has(cluster.RoleController) || !has(cluster.RoleKafka) {
			return fmt.Errorf("--partition controllers cuts dedicated KRaft controllers off from the brokers: it needs both among --nemesis-roles %s (and --kafka-mode kraft with --controllers 1 or more)", rolesText(o.Roles))
		}
	case ShapeClient, ShapeClientFromLeader:
		if len(clientHosts(nodes)) == 0 {
			return fmt.Errorf("--partition %s cuts a client host off, and the cluster has none: give --client-hosts 1 or more", o.Partition)
		}
		if o.Partition == ShapeClientFromLeader && !slices.ContainsFunc(nodes, func(n NodeInfo) bool { return n.Role == cluster.RoleZooKeeper }) {
			return fmt.Errorf("--partition client-from-leader cuts a client host off from the ZooKeeper leader, and the cluster has no ZooKeeper")
		}
	case ShapeZKKafka:
		if !has(cluster.RoleZooKeeper) || !has(cluster.RoleKafka) {
			return fmt.Errorf("--partition zk-kafka cuts ZooKeeper from the brokers: it needs both among --nemesis-roles %s (give --nemesis-roles both, and --kafka-nodes)", rolesText(o.Roles))
		}
	}
	switch o.Partition {
	case "", ShapeOne, ShapeHalves, ShapeMajoritiesRing, ShapeBridge, ShapeZKLeader, ShapeZKLeaderOneWay, ShapeKafkaController, ShapeKRaftLeader, ShapeControllers, ShapeKafkaLeader, ShapeZKKafka, ShapeClient, ShapeClientFromLeader:
		if o.Grudge != "" {
			return fmt.Errorf("--grudge and --partition %s contradict each other: give one of them", o.Partition)
		}
	case ShapeGrudge:
		if _, err := ParseGrudge(o.Grudge, nodeNames(nodes)); err != nil {
			return fmt.Errorf("--grudge: %w", err)
		}
	default:
		return fmt.Errorf("--partition %q is not a shape: choose one, halves, majorities-ring, bridge, zk-leader, zk-leader-oneway, kafka-controller, kraft-leader, controllers, kafka-leader, zk-kafka, client, client-from-leader, or give --grudge", o.Partition)
	}
	return nil
}

func (*partitionFault) Draw(o Options, nodes []NodeInfo, rng *rand.Rand) (Step, error) {
	s := Step{Shape: o.Partition}
	if s.Shape == "" {
		s.Shape = randomShapes[rng.IntN(len(randomShapes))]
	}
	switch s.Shape {
	case ShapeGrudge:
		// An explicit grudge names its nodes itself, client hosts too.
		g, err := ParseGrudge(o.Grudge, nodeNames(nodes))
		s.Grudge = g
		return s, err
	case ShapeClient, ShapeClientFromLeader:
		hosts := clientHosts(nodes)
		host := hosts[rng.IntN(len(hosts))]
		s.Nodes = []string{host}
		if s.Shape == ShapeClient {
			s.Grudge = Split([][]string{{host}, servers(nodes)})
		}
		return s, nil
	}
	g, err := drawGrudge(s.Shape, o.Grudge, onRoles(nodes, o.Roles), rng)
	if err != nil {
		return s, err
	}
	s.Grudge = g
	return s, nil
}

// drawGrudge draws a random shape's grudge; shapes resolved at run time
// (the leader shapes) get none.
func drawGrudge(shape, spec string, nodes []NodeInfo, rng *rand.Rand) (Grudge, error) {
	names := nodeNames(nodes)
	switch shape {
	case ShapeOne:
		return IsolateOne(names, rng), nil
	case ShapeHalves:
		return Halves(names, rng), nil
	case ShapeMajoritiesRing:
		return MajoritiesRing(names, rng), nil
	case ShapeBridge:
		return Bridge(names, rng), nil
	case ShapeZKKafka:
		var zks, brokers []string
		for _, n := range nodes {
			if n.Role == cluster.RoleZooKeeper {
				zks = append(zks, n.Name)
			} else {
				brokers = append(brokers, n.Name)
			}
		}
		return Split([][]string{zks, brokers}), nil
	case ShapeControllers:
		var controllers, others []string
		for _, n := range nodes {
			if n.Role == cluster.RoleController {
				controllers = append(controllers, n.Name)
			} else {
				others = append(others, n.Name)
			}
		}
		return Split([][]string{controllers, others}), nil
	case ShapeGrudge:
		return ParseGrudge(spec, names)
	}
	return nil, nil
}

func (*partitionFault) Available(env *Env) error { return networksAvailable(env) }

// networksAvailable says whether every node offers its network.
func networksAvailable(env *Env) error {
	for _, n := range env.Cluster.Nodes() {
		if n.Network() == nil {
			return fmt.Errorf("node %s offers no network capability on this backend", n.Name())
		}
	}
	return nil
}

func (p *partitionFault) Start(ctx context.Context, env *Env, s Step) (any, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.active != nil {
		return nil, fmt.Errorf("step %s's partition is in place: a node has one set of drops at a time; stop it first (\"after\": \"%s.stopped\")", *p.active, *p.active)
	}
	g := s.Grudge
	if g == nil {
		var err error
		switch s.Shape {
		case ShapeIsolate:
			g, err = isolateGrudge(env, s.Nodes)
		case ShapeClientFromLeader:
			g, err = clientFromLeaderGrudge(ctx, env, s.Nodes)
		default:
			g, err = resolveGrudge(ctx, env, s.Shape)
		}
		if err != nil {
			return nil, err
		}
	}
	did := map[string]any{"shape": s.Shape, "drops": g}
	key := s.key
	p.active = &key // also when it half applied: the stop clears it
	return did, applyGrudge(ctx, env.Cluster, g)
}

// clientFromLeaderGrudge cuts client hosts off from the ZooKeeper node
// that leads now, both ways.
func clientFromLeaderGrudge(ctx context.Context, env *Env, hosts []string) (Grudge, error) {
	if len(hosts) == 0 {
		return nil, errors.New("client-from-leader names no client host")
	}
	l, err := env.Cluster.ZooKeeperLeader(ctx)
	if err != nil {
		return nil, err
	}
	g := Grudge{l.Name(): slices.Clone(hosts)}
	for _, h := range hosts {
		g[h] = []string{l.Name()}
	}
	return g, nil
}

// isolateGrudge cuts the named nodes, as one group, off from the rest.
func isolateGrudge(env *Env, isolated []string) (Grudge, error) {
	if len(isolated) == 0 {
		return nil, errors.New("isolate names no node")
	}
	var rest []string
	for _, n := range netHosts(env.Cluster) {
		if !slices.Contains(isolated, n.name) {
			rest = append(rest, n.name)
		}
	}
	return Split([][]string{isolated, rest}), nil
}

// resolveGrudge isolates the node that leads now, for the leader shapes.
func resolveGrudge(ctx context.Context, env *Env, shape string) (Grudge, error) {
	var which string
	switch shape {
	case ShapeZKLeader, ShapeZKLeaderOneWay:
		which = TargetZKLeader
	case ShapeKafkaController, ShapeKRaftLeader:
		which = TargetKafkaController
	case ShapeKafkaLeader:
		which = TargetKafkaLeader
	default:
		return nil, fmt.Errorf("partition shape %q has no grudge", shape)
	}
	n, err := leaderOf(ctx, env, which)
	if err != nil {
		return nil, err
	}
	if shape == ShapeZKLeaderOneWay {
		g := Grudge{}
		for _, z := range env.Cluster.ZooKeepers() {
			if z.Name() != n.Name() {
				g[z.Name()] = []string{n.Name()}
			}
		}
		return g, nil
	}
	var names []string
	for _, node := range env.Cluster.Nodes() {
		if slices.Contains(env.Options.Roles, node.Role()) {
			names = append(names, node.Name())
		}
	}
	return Isolate(names, n.Name()), nil
}

// netHost is a host partitions cut: a node, or a client host.
type netHost struct {
	name    string
	addr    netip.Addr
	network cluster.Network
}

// netHosts lists the cluster's nodes and client hosts.
func netHosts(c cluster.Cluster) []netHost {
	var hosts []netHost
	for _, n := range c.Nodes() {
		hosts = append(hosts, netHost{n.Name(), n.Addr(), n.Network()})
	}
	for _, h := range c.ClientHosts() {
		hosts = append(hosts, netHost{h.Name(), h.Addr(), h.Network()})
	}
	return hosts
}

// applyGrudge makes every node drop what the grudge says, and nodes it
// does not name drop nothing. Nodes are changed one after the other; if one
// fails, the others still get theirs, and the error names each failure.
func applyGrudge(ctx context.Context, c cluster.Cluster, g Grudge) error {
	hosts := netHosts(c)
	addrs := map[string]netip.Addr{}
	for _, n := range hosts {
		addrs[n.name] = n.addr
	}
	for name, peers := range g {
		if _, ok := addrs[name]; !ok {
			return fmt.Errorf("grudge names node %q, which the cluster does not have", name)
		}
		for _, p := range peers {
			if _, ok := addrs[p]; !ok {
				return fmt.Errorf("grudge makes %s drop node %q, which the cluster does not have", name, p)
			}
			if p == name {
				return fmt.Errorf("grudge makes %s drop itself", name)
			}
		}
	}
	var errs []error
	for _, n := range hosts {
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("partition %s: %w", n.name, err))
			break
		}
		var drops []netip.Addr
		for _, p := range g[n.name] {
			drops = append(drops, addrs[p])
		}
		nw := n.network
		if nw == nil && len(drops) == 0 {
			continue // nothing to clear where nothing can be set
		}
		if nw == nil {
			errs = append(errs, fmt.Errorf("partition %s: the node offers no network capability", n.name))
			continue
		}
		if err := nw.Drop(ctx, drops); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (p *partitionFault) Stop(ctx context.Context, env *Env, s Step) (any, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.active == nil || *p.active != s.key {
		return "not in place", nil // its start failed before it cut anything
	}
	err := applyGrudge(ctx, env.Cluster, nil)
	if err == nil {
		p.active = nil
	}
	return "healed", err
}

func (p *partitionFault) Heal(ctx context.Context, env *Env) (any, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	err := applyGrudge(ctx, env.Cluster, nil)
	if err == nil {
		p.active = nil
	}
	return "removed", err
}
