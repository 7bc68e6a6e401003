package nemesis

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/faultline/faultline/cluster"
	"github.com/twmb/franz-go/pkg/kadm"
)

// Probe answers the questions a scripted schedule's conditions and bind
// steps ask of the cluster beyond what Cluster answers itself.
type Probe interface {
	// ZooKeeperMode is what a ZooKeeper node says it is (srvr): leader,
	// follower, standalone.
	ZooKeeperMode(ctx context.Context, n cluster.Node) (string, error)
	// ISR maps each partition of topic to the broker ids in its ISR.
	ISR(ctx context.Context, topic string) (map[int32][]int32, error)
}

// clusterProbe asks the cluster's nodes themselves.
type clusterProbe struct{ c cluster.Cluster }

func (p clusterProbe) ZooKeeperMode(ctx context.Context, n cluster.Node) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	return cluster.ZooKeeperMode(ctx, p.c.Dial, n.ClientAddr())
}

func (p clusterProbe) ISR(ctx context.Context, topic string) (map[int32][]int32, error) {
	var addrs []string
	for _, b := range p.c.Brokers() {
		if b.Running() {
			addrs = append(addrs, b.ClientAddr())
		}
	}
	if len(addrs) == 0 {
		return nil, errors.New("no broker runs")
	}
	cl, err := cluster.KafkaAdmin(p.c.Dial, addrs)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	td, err := kadm.NewClient(cl).ListTopics(ctx, topic)
	if err != nil {
		return nil, err
	}
	t, ok := td[topic]
	if !ok || t.Err != nil {
		return nil, fmt.Errorf("topic %s: %v", topic, t.Err)
	}
	isr := map[int32][]int32{}
	for p, d := range t.Partitions {
		if d.Err != nil {
			return nil, fmt.Errorf("partition %d: %w", p, d.Err)
		}
		isr[p] = d.ISR
	}
	return isr, nil
}

func (n *Nemesis) probe() Probe {
	if n.env.Probe != nil {
		return n.env.Probe
	}
	return clusterProbe{n.env.Cluster}
}

// pollEvery is how often a wait asks its conditions again.
const pollEvery = 250 * time.Millisecond

// await waits until every condition holds at once, for at most the step's
// Timeout. Its error says which condition did not hold, and what was seen
// last.
func (n *Nemesis) await(ctx context.Context, s Step, conds []Condition) error {
	timeout := s.Timeout
	if timeout == 0 {
		timeout = DefaultConditionTimeout
	}
	deadline := time.Now().Add(timeout)
	for {
		var unmet error
		for _, c := range conds {
			if ok, seen := n.holds(ctx, c); !ok {
				unmet = fmt.Errorf("%s did not hold within %s (last seen: %s)", n.describe(c), timeout, seen)
				break
			}
		}
		if unmet == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return unmet
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the workload ended while waiting: %w", unmet)
		case <-time.After(pollEvery):
		}
	}
}

// describe says a condition with its $NAMEs resolved.
func (n *Nemesis) describe(c Condition) string {
	if c.Node != "" {
		if name, err := n.nodeName(c.Node); err == nil && name != c.Node {
			c.Node = c.Node + " (" + name + ")"
		}
	}
	return c.String()
}

// holds says whether a condition holds now, and what was seen.
func (n *Nemesis) holds(ctx context.Context, c Condition) (bool, string) {
	switch {
	case c.Step != "":
		id, what, _ := strings.Cut(c.Step, ".")
		ev, ok := n.events[id]
		if !ok {
			return false, "no such step"
		}
		ch := ev.started
		if what == "stopped" {
			ch = ev.stopped
		}
		select {
		case <-ch:
			return true, what
		default:
			return false, "not " + what
		}
	case c.Healthy:
		st, err := n.env.Cluster.Status(ctx)
		if err != nil {
			return false, err.Error()
		}
		ok, why := st.Healthy()
		return ok, why
	}
	name, err := n.nodeName(c.Node)
	if err != nil {
		return false, err.Error()
	}
	if c.Is == IsLockHolder {
		// A client host is no server node: the workload answers.
		if n.env.Workload == nil {
			return false, "the workload answers no lock-holder condition (zk-lock does)"
		}
		ok, seen, err := n.env.Workload.Condition(c.Is, name)
		if err != nil {
			return false, err.Error()
		}
		return ok, seen
	}
	node, ok := n.env.Cluster.Node(name)
	if !ok {
		return false, "no node " + name
	}
	switch c.Is {
	case IsRunning:
		return node.Running(), runningWord(node)
	case IsDown:
		return !node.Running(), runningWord(node)
	case IsLeader, IsFollower:
		if node.Role() == cluster.RoleZooKeeper {
			mode, err := n.probe().ZooKeeperMode(ctx, node)
			if err != nil {
				return false, name + ": " + err.Error()
			}
			return mode == c.Is, name + " says " + mode
		}
		if c.Is == IsFollower {
			return false, "follower is a ZooKeeper node's mode; " + name + " is not one"
		}
		ctrl, err := n.env.Cluster.KafkaController(ctx)
		if err != nil {
			return false, err.Error()
		}
		return ctrl.Name() == name, "the controller is " + ctrl.Name()
	case IsInISR, IsOutOfISR:
		if n.env.Topic == "" {
			return false, "the workload has no Kafka topic"
		}
		isr, err := n.probe().ISR(ctx, n.env.Topic)
		if err != nil {
			return false, err.Error()
		}
		in := 0
		for _, ids := range isr {
			if slices.Contains(ids, int32(node.ID())) {
				in++
			}
		}
		seen := fmt.Sprintf("%s is in the ISR of %d of %d partitions", name, in, len(isr))
		if len(isr) == 0 {
			return false, "the topic has no partitions"
		}
		if c.Is == IsInISR {
			return in == len(isr), seen
		}
		return in == 0, seen
	}
	return false, fmt.Sprintf("%q is not a condition", c.Is)
}

func runningWord(n cluster.Node) string {
	if n.Running() {
		return n.Name() + " runs"
	}
	return n.Name() + " is down"
}

// nodeName resolves a node reference: a $NAME bound earlier, or a name.
func (n *Nemesis) nodeName(ref string) (string, error) {
	v, ok := strings.CutPrefix(ref, "$")
	if !ok {
		return ref, nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	name, ok := n.vars[v]
	if !ok {
		return "", fmt.Errorf("$%s is not bound (its bind step failed or has not run)", v)
	}
	return name, nil
}

// resolveNames fills in a step's nodes from its target where they were not
// drawn: its $NAMEs and node names resolved, a random target (one,
// minority, …) drawn from the run's seed and the step's key, a leader
// target left for the fault to ask.
func (n *Nemesis) resolveNames(s Step) (Step, error) {
	if len(s.Nodes) > 0 || s.Target == "" {
		return s, nil
	}
	switch s.Target {
	case TargetZKLeader, TargetKafkaController, TargetKafkaLeader, TargetKRaftLeader:
		return s, nil
	case TargetOne, TargetMinority, TargetMajority, TargetAll:
		var infos []NodeInfo
		for _, node := range n.env.Cluster.Nodes() {
			infos = append(infos, NodeInfo{Name: node.Name(), Role: node.Role()})
		}
		h := fnv.New64a()
		h.Write([]byte(s.key))
		rng := rand.New(rand.NewPCG(n.env.Seed, h.Sum64()))
		s.Nodes = drawTargets(s.Target, eligible(infos, n.env.Options.Roles), rng)
		return s, nil
	}
	var nodes []string
	for _, ref := range splitTargets(s.Target) {
		name, err := n.nodeName(ref)
		if err != nil {
			return s, err
		}
		nodes = append(nodes, name)
	}
	s.Nodes = nodes
	return s, nil
}

// bind resolves a bind step's names and records it as a "bind" op.
func (n *Nemesis) bind(ctx context.Context, s Step) error {
	inv := map[string]any{"id": s.key, "bind": s.Bind}
	return n.record("bind", inv, func() (any, error) {
		got := map[string]string{}
		var errs []error
		for _, name := range slices.Sorted(maps.Keys(s.Bind)) {
			node, err := n.resolveBind(ctx, s, s.Bind[name])
			if err != nil {
				errs = append(errs, fmt.Errorf("%s (%s): %w", name, s.Bind[name], err))
				continue
			}
			got[name] = node
		}
		if err := errors.Join(errs...); err != nil {
			return got, err
		}
		byNode := map[string]string{}
		for _, name := range slices.Sorted(maps.Keys(got)) {
			if other, ok := byNode[got[name]]; ok {
				return got, fmt.Errorf("%s and %s are both %s: the cluster has no two such nodes now", other, name, got[name])
			}
			byNode[got[name]] = name
		}
		n.mu.Lock()
		maps.Copy(n.vars, got)
		n.mu.Unlock()
		return got, nil
	})
}

// resolveBind finds the node a bind value names now.
func (n *Nemesis) resolveBind(ctx context.Context, s Step, what string) (string, error) {
	switch what {
	case BindLockHolder:
		return n.awaitLockHolder(ctx, s)
	case TargetZKLeader, TargetKafkaController, TargetKRaftLeader, TargetKafkaLeader:
		node, err := leaderOf(ctx, n.env, what)
		if err != nil {
			return "", err
		}
		return node.Name(), nil
	case BindZKFollowerHighest, BindZKFollowerLowest:
		var followers []cluster.Node
		var seen []string
		for _, z := range n.env.Cluster.ZooKeepers() {
			mode, err := n.probe().ZooKeeperMode(ctx, z)
			if err != nil {
				seen = append(seen, z.Name()+": "+err.Error())
				continue
			}
			seen = append(seen, z.Name()+" "+mode)
			if mode == IsFollower {
				followers = append(followers, z)
			}
		}
		if len(followers) == 0 {
			return "", fmt.Errorf("no ZooKeeper node follows (%s)", strings.Join(seen, ", "))
		}
		return pickByID(followers, what == BindZKFollowerHighest), nil
	case BindKafkaFollowerHighest, BindKafkaFollowerLowest:
		leader, err := leaderOf(ctx, n.env, TargetKafkaLeader)
		if err != nil {
			return "", err
		}
		var others []cluster.Node
		for _, b := range n.env.Cluster.Brokers() {
			if b.Name() != leader.Name() && b.Running() {
				others = append(others, b)
			}
		}
		if len(others) == 0 {
			return "", fmt.Errorf("no running broker but the leader %s", leader.Name())
		}
		return pickByID(others, what == BindKafkaFollowerHighest), nil
	}
	if _, ok := n.env.Cluster.Node(what); ok {
		return what, nil
	}
	return "", fmt.Errorf("%q names no node", what)
}

func pickByID(nodes []cluster.Node, highest bool) string {
	best := slices.MinFunc(nodes, func(a, b cluster.Node) int { return cmp.Compare(a.ID(), b.ID()) })
	if highest {
		best = slices.MaxFunc(nodes, func(a, b cluster.Node) int { return cmp.Compare(a.ID(), b.ID()) })
	}
	return best.Name()
}

// awaitLockHolder waits, up to the step's timeout, for a client host the
// workload says is a lock-holder, and names the first (c1, c2, …).
func (n *Nemesis) awaitLockHolder(ctx context.Context, s Step) (string, error) {
	hosts := n.env.Cluster.ClientHosts()
	if len(hosts) == 0 {
		return "", errors.New("the cluster has no client hosts (--client-hosts)")
	}
	if n.env.Workload == nil {
		return "", errors.New("the workload answers no lock-holder condition (zk-lock does)")
	}
	timeout := cmp.Or(s.Timeout, DefaultConditionTimeout)
	deadline := time.Now().Add(timeout)
	for {
		var seen []string
		for _, h := range hosts {
			ok, what, err := n.env.Workload.Condition(IsLockHolder, h.Name())
			if err != nil {
				return "", err
			}
			if ok {
				return h.Name(), nil
			}
			seen = append(seen, h.Name()+": "+what)
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no client host was a lock-holder within %s (last seen: %s)", timeout, strings.Join(seen, "; "))
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("the workload ended while waiting for a lock-holder")
		case <-time.After(pollEvery):
		}
	}
}
