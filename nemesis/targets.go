package nemesis

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/faultline/faultline/cluster"
)

// Kill, pause and packet targets.
const (
	TargetOne             = "one"
	TargetMinority        = "minority"
	TargetMajority        = "majority"
	TargetAll             = "all"
	TargetZKLeader        = "zk-leader"
	TargetKafkaController = "kafka-controller"
	TargetKafkaLeader     = "kafka-leader"
	// TargetKRaftLeader is the KRaft quorum's leader: the active
	// controller, as kafka-controller is in KRaft mode.
	TargetKRaftLeader = "kraft-leader"
)

// validateTargets checks --targets and --nemesis-roles: the faults that hit
// nodes (kill, pause, packet) share them.
func validateTargets(o Options, nodes []NodeInfo) error {
	for _, r := range o.Roles {
		if r != cluster.RoleZooKeeper && r != cluster.RoleKafka && r != cluster.RoleController {
			return fmt.Errorf("--nemesis-roles: %q is not a role: choose zk, kafka, controller, both or all", r)
		}
	}
	eligibleNames := eligible(nodes, o.Roles)
	switch o.Target {
	case TargetOne, TargetMinority, TargetMajority, TargetAll:
		if len(eligibleNames) == 0 {
			return fmt.Errorf("--nemesis-roles %s leaves no node to hit: the cluster has none of that role", rolesText(o.Roles))
		}
	case TargetZKLeader:
		if !slices.Contains(o.Roles, cluster.RoleZooKeeper) {
			return fmt.Errorf("--targets zk-leader hits a ZooKeeper node, but --nemesis-roles %s leaves ZooKeeper out: add zk to --nemesis-roles", rolesText(o.Roles))
		}
	case TargetKafkaLeader:
		if !slices.Contains(o.Roles, cluster.RoleKafka) {
			return fmt.Errorf("--targets %s hits a broker, but --nemesis-roles %s leaves Kafka out: add kafka to --nemesis-roles", o.Target, rolesText(o.Roles))
		}
	case TargetKafkaController, TargetKRaftLeader:
		if o.Target == TargetKRaftLeader && !kraft(nodes) {
			return fmt.Errorf("--targets kraft-leader hits the KRaft quorum's leader, and the cluster has no KRaft quorum: give --kafka-mode kraft, or --targets kafka-controller")
		}
		if !slices.Contains(o.Roles, cluster.RoleKafka) && !slices.Contains(o.Roles, cluster.RoleController) {
			return fmt.Errorf("--targets %s hits the active controller, but --nemesis-roles %s leaves Kafka and its controllers out: add kafka or controller", o.Target, rolesText(o.Roles))
		}
	default:
		names := nodeNames(nodes)
		for _, n := range strings.Split(o.Target, ",") {
			if !slices.Contains(names, n) {
				return fmt.Errorf("--targets %q: no node %q: choose one, minority, majority, all, zk-leader, kafka-controller, kraft-leader, kafka-leader, or node names among %s", o.Target, n, strings.Join(names, ","))
			}
			if !slices.Contains(eligibleNames, n) {
				return fmt.Errorf("--targets %q names %s, whose role --nemesis-roles %s leaves out: name nodes of those roles, or widen --nemesis-roles", o.Target, n, rolesText(o.Roles))
			}
		}
	}
	return nil
}

func rolesText(roles []cluster.Role) string {
	parts := make([]string, len(roles))
	for i, r := range roles {
		parts[i] = string(r)
	}
	return strings.Join(parts, ",")
}

// onRoles keeps the nodes whose role is among roles; no roles keeps all.
func onRoles(nodes []NodeInfo, roles []cluster.Role) []NodeInfo {
	if len(roles) == 0 {
		return nodes
	}
	var out []NodeInfo
	for _, n := range nodes {
		if slices.Contains(roles, n.Role) {
			out = append(out, n)
		}
	}
	return out
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

// drawTargets draws the nodes of a random target spec; leader targets draw
// none (they are resolved when the step runs); a list of names is itself.
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
	case TargetZKLeader, TargetKafkaController, TargetKafkaLeader, TargetKRaftLeader:
		return nil
	default:
		return strings.Split(target, ",")
	}
	picked := shuffled[:min(n, len(shuffled))]
	slices.Sort(picked)
	return picked
}

// drawTargetStep draws a step of a fault that hits nodes.
func drawTargetStep(kind Kind, o Options, nodes []NodeInfo, rng *rand.Rand) Step {
	return Step{Kind: kind, Target: o.Target, Nodes: drawTargets(o.Target, eligible(nodes, o.Roles), rng)}
}

// resolveTargets returns a step's nodes, asking the cluster who leads now
// for the leader targets.
func resolveTargets(ctx context.Context, env *Env, s Step) ([]cluster.Node, error) {
	var names []string
	switch s.Target {
	case TargetZKLeader, TargetKafkaController, TargetKafkaLeader, TargetKRaftLeader:
		n, err := leaderOf(ctx, env, s.Target)
		if err != nil {
			return nil, err
		}
		return []cluster.Node{n}, nil
	default:
		names = s.Nodes
	}
	var nodes []cluster.Node
	for _, name := range names {
		n, ok := env.Cluster.Node(name)
		if !ok {
			return nil, fmt.Errorf("no node %s in the cluster", name)
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// leaderOf asks the cluster which node leads now: the ZooKeeper leader,
// the Kafka controller, or the broker leading the most partitions of the
// workload's topic.
func leaderOf(ctx context.Context, env *Env, which string) (cluster.Node, error) {
	switch which {
	case TargetZKLeader:
		return env.Cluster.ZooKeeperLeader(ctx)
	case TargetKafkaController, TargetKRaftLeader:
		return env.Cluster.KafkaController(ctx)
	case TargetKafkaLeader:
		if env.Topic == "" {
			return nil, errors.New("kafka-leader needs the workload's Kafka topic: use it with a Kafka workload (kafka-queue)")
		}
		leaders, err := env.Cluster.PartitionLeaders(ctx, env.Topic)
		if err != nil {
			return nil, err
		}
		return mostLeading(env.Cluster.Brokers(), leaders, env.Topic)
	}
	return nil, fmt.Errorf("%q names no leader", which)
}

// mostLeading picks the broker leading the most partitions in leaders,
// the lowest broker id on a tie.
func mostLeading(brokers []cluster.Node, leaders map[int32]cluster.Node, topic string) (cluster.Node, error) {
	led := map[string]int{}
	for _, n := range leaders {
		led[n.Name()]++
	}
	var best cluster.Node
	bestN := 0
	for _, b := range brokers {
		n := led[b.Name()]
		if n > bestN || (n == bestN && n > 0 && b.ID() < best.ID()) {
			best, bestN = b, n
		}
	}
	if best == nil {
		return nil, fmt.Errorf("no broker leads a partition of %s", topic)
	}
	return best, nil
}

// RequiresTopic says whether the options aim at the workload's Kafka
// topic (the kafka-leader shape or target), which only a workload with
// one can give.
func RequiresTopic(o Options) bool {
	for _, k := range o.Kinds {
		switch {
		case k == KindPartition && o.Partition == ShapeKafkaLeader:
			return true
		case k != KindPartition && o.Target == TargetKafkaLeader:
			return true
		}
	}
	return false
}
