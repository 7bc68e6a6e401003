package nemesis

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/faultline/faultline/cluster"
)

// Kind is a kind of fault.
type Kind string

// The kinds of fault.
const (
	KindPartition Kind = "partition"
	KindKill      Kind = "kill"
	KindPause     Kind = "pause"
	KindPacket    Kind = "packet"
)

// AllKinds lists every kind, in the order --nemesis all means.
var allKinds = []Kind{KindPartition, KindKill, KindPause, KindPacket}

// Partition shapes.
const (
	ShapeOne             = "one"
	ShapeHalves          = "halves"
	ShapeMajoritiesRing  = "majorities-ring"
	ShapeBridge          = "bridge"
	ShapeZKLeader        = "zk-leader"
	ShapeKafkaController = "kafka-controller"
	ShapeKafkaLeader     = "kafka-leader"
	ShapeZKKafka         = "zk-kafka"
	ShapeGrudge          = "grudge"
)

var randomShapes = []string{ShapeOne, ShapeHalves, ShapeMajoritiesRing, ShapeBridge}

// Kill and pause targets.
const (
	TargetOne             = "one"
	TargetMinority        = "minority"
	TargetMajority        = "majority"
	TargetAll             = "all"
	TargetZKLeader        = "zk-leader"
	TargetKafkaController = "kafka-controller"
	TargetKafkaLeader     = "kafka-leader"
)

// Options choose the faults of a test.
type Options struct {
	// Kinds are the faults to inject; none means no nemesis.
	Kinds []Kind `json:"kinds"`
	// Interval is the time from a fault's start to its stop, and from its
	// stop to the next start (default 10s).
	Interval time.Duration `json:"interval"`
	// Partition is the partition shape; empty draws one of one, halves,
	// majorities-ring and bridge for each partition.
	Partition string `json:"partition,omitempty"`
	// Grudge is an explicit partition such as "zk1,kafka1|zk2,zk3,kafka2,kafka3":
	// each component sees only itself. It implies Partition "grudge".
	Grudge string `json:"grudge,omitempty"`
	// Target is what kill, pause and packet faults hit: one, minority,
	// majority, all, zk-leader, kafka-controller, kafka-leader (the broker
	// leading the most of the test topic's partitions), or a comma list of
	// node names (default one).
	Target string `json:"target,omitempty"`
	// Roles restrict kill and pause targets to these roles (default both).
	Roles []cluster.Role `json:"roles,omitempty"`
	// Packet is the behaviour of packet faults (netem, or a PacketQueue on
	// kernels without netem).
	Packet Packet `json:"packet"`
}

// Defaults fills in unset fields.
func (o Options) Defaults() Options {
	if o.Interval == 0 {
		o.Interval = 10 * time.Second
	}
	if o.Grudge != "" {
		o.Partition = ShapeGrudge
	}
	if o.Target == "" {
		o.Target = TargetOne
	}
	if len(o.Roles) == 0 {
		o.Roles = []cluster.Role{cluster.RoleZooKeeper, cluster.RoleKafka}
	}
	o.Packet = o.Packet.Defaults()
	return o
}

// ParseKinds reads --nemesis: a comma list of kinds, or none, or all.
func ParseKinds(s string) ([]Kind, error) {
	switch strings.TrimSpace(s) {
	case "", "none":
		return nil, nil
	case "all":
		return slices.Clone(allKinds), nil
	}
	var kinds []Kind
	for _, part := range strings.Split(s, ",") {
		k := Kind(strings.TrimSpace(part))
		if !slices.Contains(allKinds, k) {
			return nil, fmt.Errorf("--nemesis %q: %q is not a fault: choose from partition, kill, pause, packet, or none, all", s, part)
		}
		if !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	return kinds, nil
}

// Validate checks options after Defaults against the cluster's nodes.
func (o Options) Validate(nodes []NodeInfo) error {
	if len(o.Kinds) == 0 {
		return nil
	}
	if o.Interval < 100*time.Millisecond {
		return fmt.Errorf("--nemesis-interval %s is too short: give at least 100ms", o.Interval)
	}
	names := nodeNames(nodes)
	switch o.Partition {
	case "", ShapeOne, ShapeHalves, ShapeMajoritiesRing, ShapeBridge, ShapeZKLeader, ShapeKafkaController, ShapeKafkaLeader, ShapeZKKafka:
	case ShapeGrudge:
		if _, err := ParseGrudge(o.Grudge, names); err != nil {
			return err
		}
	default:
		return fmt.Errorf("--partition %q is not a shape: choose one, halves, majorities-ring, bridge, zk-leader, kafka-controller, kafka-leader, zk-kafka, or give --grudge", o.Partition)
	}
	switch o.Target {
	case TargetOne, TargetMinority, TargetMajority, TargetAll, TargetZKLeader, TargetKafkaController, TargetKafkaLeader:
	default:
		for _, n := range strings.Split(o.Target, ",") {
			if !slices.Contains(names, n) {
				return fmt.Errorf("--targets %q: no node %q: choose one, minority, majority, all, zk-leader, kafka-controller, kafka-leader, or node names among %s", o.Target, n, strings.Join(names, ","))
			}
		}
	}
	for _, r := range o.Roles {
		if r != cluster.RoleZooKeeper && r != cluster.RoleKafka {
			return fmt.Errorf("--nemesis-roles: %q is not a role: choose zk, kafka or both", r)
		}
	}
	return o.Packet.Validate()
}

// NodeInfo is what planning knows of a node.
type NodeInfo struct {
	Name string
	Role cluster.Role
}

func nodeNames(nodes []NodeInfo) []string {
	names := make([]string, len(nodes))
	for i, n := range nodes {
		names[i] = n.Name
	}
	return names
}

// Step is one fault of the schedule: what, when, and every random choice
// already drawn. Targets that depend on the cluster's state at that moment
// (the ZooKeeper leader, the Kafka controller) are resolved when the step
// runs, and the history records the node actually hit.
type Step struct {
	Kind  Kind          `json:"kind"`
	Start time.Duration `json:"start"` // from the start of the workload
	Stop  time.Duration `json:"stop"`
	// Shape is a partition's shape; Grudge its drawn grudge, unless the
	// shape is resolved when the step runs.
	Shape  string `json:"shape,omitempty"`
	Grudge Grudge `json:"grudge,omitempty"`
	// Target is a kill's or pause's target spec; Nodes the drawn nodes,
	// unless the target is resolved when the step runs.
	Target string   `json:"target,omitempty"`
	Nodes  []string `json:"nodes,omitempty"`
}

// Plan draws the schedule of faults for a run of the given length: after a
// quiet Interval, a fault starts every 2·Interval and stops Interval after
// its start. The same seed, options and nodes give the same schedule.
func Plan(o Options, nodes []NodeInfo, seed uint64, length time.Duration) ([]Step, error) {
	if len(o.Kinds) == 0 {
		return nil, nil
	}
	rng := rand.New(rand.NewPCG(seed, 0x6e656d65736973)) // "nemesis"
	var steps []Step
	for start := o.Interval; start < length; start += 2 * o.Interval {
		s := Step{Kind: o.Kinds[rng.IntN(len(o.Kinds))], Start: start, Stop: start + o.Interval}
		switch s.Kind {
		case KindPartition:
			s.Shape = o.Partition
			if s.Shape == "" {
				s.Shape = randomShapes[rng.IntN(len(randomShapes))]
			}
			g, err := drawGrudge(s.Shape, o.Grudge, nodes, rng)
			if err != nil {
				return nil, err
			}
			s.Grudge = g
		case KindKill, KindPause, KindPacket:
			s.Target = o.Target
			s.Nodes = drawTargets(o.Target, eligible(nodes, o.Roles), rng)
		}
		steps = append(steps, s)
	}
	return steps, nil
}

// drawGrudge draws a random shape's grudge; shapes resolved at run time
// (zk-leader, kafka-controller) get none.
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
	case ShapeGrudge:
		return ParseGrudge(spec, names)
	}
	return nil, nil
}

// eligible lists the names of the nodes whose role is among roles.
func eligible(nodes []NodeInfo, roles []cluster.Role) []string {
	var names []string
	for _, n := range nodes {
		if slices.Contains(roles, n.Role) {
			names = append(names, n.Name)
		}
	}
	return names
}

// drawTargets draws the nodes of a random target spec; role-resolved specs
// draw none; a list of names is itself.
func drawTargets(target string, names []string, rng *rand.Rand) []string {
	shuffled := slices.Clone(names)
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	var n int
	switch target {
	case TargetOne:
		n = 1
	case TargetMinority:
		n = (len(names) - 1) / 2
		n = max(n, 1)
	case TargetMajority:
		n = len(names)/2 + 1
	case TargetAll:
		n = len(names)
	case TargetZKLeader, TargetKafkaController, TargetKafkaLeader:
		return nil
	default:
		return strings.Split(target, ",")
	}
	picked := shuffled[:min(n, len(shuffled))]
	slices.Sort(picked)
	return picked
}
