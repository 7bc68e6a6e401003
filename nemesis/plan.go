package nemesis

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/netfault"
)

// The kinds of fault faultline has (see Builtin).
const (
	KindPartition Kind = "partition"
	KindKill      Kind = "kill"
	KindPause     Kind = "pause"
	KindPacket    Kind = "packet"
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
	// Roles restrict kill, pause and packet targets to these roles (default both).
	Roles []cluster.Role `json:"roles,omitempty"`
	// Packet is the behaviour of packet faults (netem, or a packet queue
	// on kernels without netem).
	Packet netfault.Packet `json:"packet"`
}

// Defaults fills in unset fields.
func (o Options) Defaults() Options {
	if o.Interval == 0 {
		o.Interval = 10 * time.Second
	}
	if o.Grudge != "" && o.Partition == "" {
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

// ParseKinds reads --nemesis: a comma list of the faults' kinds, or none,
// or all.
func ParseKinds(s string, faults []Fault) ([]Kind, error) {
	switch strings.TrimSpace(s) {
	case "", "none":
		return nil, nil
	case "all":
		return Kinds(faults), nil
	}
	var kinds []Kind
	for _, part := range strings.Split(s, ",") {
		k := Kind(strings.TrimSpace(part))
		if _, ok := faultOf(faults, k); !ok {
			return nil, fmt.Errorf("--nemesis %q: %q is not a fault: choose from %s, or none, all", s, part, kindList(faults))
		}
		if !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	return kinds, nil
}

func kindList(faults []Fault) string {
	var names []string
	for _, k := range Kinds(faults) {
		names = append(names, string(k))
	}
	return strings.Join(names, ", ")
}

// ParseRoles reads --nemesis-roles: a comma list of zk, kafka, controller
// (KRaft), or both (zk,kafka), all.
func ParseRoles(s string) ([]cluster.Role, error) {
	var roles []cluster.Role
	for _, part := range strings.Split(s, ",") {
		var add []cluster.Role
		switch strings.TrimSpace(part) {
		case "zk", "zookeeper":
			add = []cluster.Role{cluster.RoleZooKeeper}
		case "kafka":
			add = []cluster.Role{cluster.RoleKafka}
		case "controller", "controllers", "ctrl":
			add = []cluster.Role{cluster.RoleController}
		case "both":
			add = []cluster.Role{cluster.RoleZooKeeper, cluster.RoleKafka}
		case "all":
			add = []cluster.Role{cluster.RoleZooKeeper, cluster.RoleKafka, cluster.RoleController}
		default:
			return nil, fmt.Errorf("--nemesis-roles %q: %q is not a role: give zk, kafka, controller, both (zk,kafka) or all", s, part)
		}
		for _, r := range add {
			if !slices.Contains(roles, r) {
				roles = append(roles, r)
			}
		}
	}
	return roles, nil
}

// Validate checks options after Defaults against the cluster's nodes:
// each requested fault checks what it reads.
func (o Options) Validate(nodes []NodeInfo, faults []Fault) error {
	if len(o.Kinds) == 0 {
		return nil
	}
	if o.Interval < 100*time.Millisecond {
		return fmt.Errorf("--nemesis-interval %s is too short: give at least 100ms", o.Interval)
	}
	var errs []error
	for _, k := range o.Kinds {
		f, ok := faultOf(faults, k)
		if !ok {
			errs = append(errs, fmt.Errorf("--nemesis: %q is not a fault: choose from %s", k, kindList(faults)))
			continue
		}
		if err := f.Validate(o, nodes); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// FlagsUsed lists the nemesis flags the requested kinds read, so that a
// caller can refuse a flag no requested fault reads.
func FlagsUsed(kinds []Kind, faults []Fault) []string {
	var flags []string
	for _, k := range kinds {
		if f, ok := faultOf(faults, k); ok {
			for _, fl := range f.Flags() {
				if !slices.Contains(flags, fl) {
					flags = append(flags, fl)
				}
			}
		}
	}
	return flags
}

// NodeInfo is what planning knows of a node.
type NodeInfo struct {
	Name string
	Role cluster.Role
	// Controller says the node is a KRaft controller (dedicated, or a
	// combined broker).
	Controller bool
}

// Infos describes nodes for planning.
func Infos(specs []cluster.NodeSpec) []NodeInfo {
	infos := make([]NodeInfo, len(specs))
	for i, s := range specs {
		infos[i] = NodeInfo{Name: s.Name, Role: s.Role, Controller: s.IsController()}
	}
	return infos
}

// PlanInfos describes the nodes and client hosts a cluster of o will have,
// for planning and validating faults.
func PlanInfos(o cluster.Options) []NodeInfo {
	infos := Infos(cluster.PlanNodes(o))
	for _, h := range cluster.PlanClientHosts(o) {
		infos = append(infos, NodeInfo{Name: h.Name, Role: cluster.RoleClient})
	}
	return infos
}

// clientHosts lists the client hosts' names among nodes.
func clientHosts(nodes []NodeInfo) []string {
	var names []string
	for _, n := range nodes {
		if n.Role == cluster.RoleClient {
			names = append(names, n.Name)
		}
	}
	return names
}

// servers lists the names of the nodes that run servers.
func servers(nodes []NodeInfo) []string {
	var names []string
	for _, n := range nodes {
		if n.Role != cluster.RoleClient {
			names = append(names, n.Name)
		}
	}
	return names
}

// kraft says whether the nodes have a KRaft quorum.
func kraft(nodes []NodeInfo) bool {
	return slices.ContainsFunc(nodes, func(n NodeInfo) bool { return n.Controller })
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
	Start time.Duration `json:"start,omitempty"` // from the start of the workload
	Stop  time.Duration `json:"stop,omitempty"`
	// Shape is a partition's shape; Grudge its drawn grudge, unless the
	// shape is resolved when the step runs.
	Shape  string `json:"shape,omitempty"`
	Grudge Grudge `json:"grudge,omitempty"`
	// Target is a kill's, pause's or packet fault's target spec; Nodes the
	// drawn nodes, unless the target is resolved when the step runs.
	Target string   `json:"target,omitempty"`
	Nodes  []string `json:"nodes,omitempty"`

	// A scripted schedule (--schedule, a scenario) may also give steps:
	//
	// ID names the step, for other steps' After and conditions.
	ID string `json:"id,omitempty"`
	// After starts the step's clock at an earlier step's event,
	// "<id>.started" or "<id>.stopped", instead of the workload's start;
	// Start is then the delay after it.
	After string `json:"after,omitempty"`
	// When are conditions that must all hold before the step starts.
	When []Condition `json:"when,omitempty"`
	// For is how long the fault stays from its start; Until are
	// conditions that must all hold before it stops (after For, if both).
	// A step with neither (nor Stop) stays until the end of the workload.
	For   time.Duration `json:"for,omitempty"`
	Until []Condition   `json:"until,omitempty"`
	// Timeout bounds each wait for When and for Until (default 2m). A
	// When that times out fails the step; an Until that times out stops
	// the fault and records why.
	Timeout time.Duration `json:"timeout,omitempty"`
	// Bind, for a bind step, names nodes: NAME → zk-leader,
	// zk-follower:highest, zk-follower:lowest, kafka-controller,
	// kraft-leader, kafka-leader, kafka-follower:highest,
	// kafka-follower:lowest, or a node name. Later steps aim at $NAME.
	Bind map[string]string `json:"bind,omitempty"`

	key string // the nemesis's name for the step: ID, or its place
}

// Plan draws the schedule of faults for a run of the given length: after a
// quiet Interval, a fault starts every 2·Interval and stops Interval after
// its start. Kinds come in rounds: each round is the requested kinds in a
// drawn order, so every kind appears once there is room for a round. The
// same seed, options and nodes give the same schedule. A requested kind
// the schedule has no room for is an error: the run would claim faults it
// never injected.
func Plan(o Options, nodes []NodeInfo, seed uint64, length time.Duration, faults []Fault) ([]Step, error) {
	if len(o.Kinds) == 0 {
		return nil, nil
	}
	rng := rand.New(rand.NewPCG(seed, 0x6e656d65736973)) // "nemesis"
	var steps []Step
	drawn := map[Kind]bool{}
	var round []Kind
	for start := o.Interval; start < length; start += 2 * o.Interval {
		if len(round) == 0 {
			round = slices.Clone(o.Kinds)
			rng.Shuffle(len(round), func(i, j int) { round[i], round[j] = round[j], round[i] })
		}
		kind := round[0]
		round = round[1:]
		f, ok := faultOf(faults, kind)
		if !ok {
			return nil, fmt.Errorf("--nemesis: %q is not a fault: choose from %s", kind, kindList(faults))
		}
		s, err := f.Draw(o, nodes, rng)
		if err != nil {
			return nil, err
		}
		s.Kind, s.Start, s.Stop = kind, start, start+o.Interval
		steps = append(steps, s)
		drawn[kind] = true
	}
	var missing []string
	for _, k := range o.Kinds {
		if !drawn[k] {
			missing = append(missing, string(k))
		}
	}
	if len(missing) > 0 {
		first := o.Interval
		return nil, fmt.Errorf("the schedule has no %s fault: with --nemesis-interval %s a fault starts at %s and every %s after, and --time-limit %s leaves room for %d; run longer, shorten --nemesis-interval, or drop the kind",
			strings.Join(missing, " or "), o.Interval, first, 2*o.Interval, length, len(steps))
	}
	return steps, nil
}
