package nemesis

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/history"
)

// Recorder appends ops to the test's history.
type Recorder interface {
	Append(op history.Op) (history.Op, error)
}

// Nemesis runs a schedule of faults against a cluster, recording each
// start and stop as a pair of ops of the nemesis process, and heals
// everything at the end.
type Nemesis struct {
	c      cluster.Cluster
	rec    Recorder
	log    *slog.Logger
	steps  []Step
	packet Packet
	topic  string // the workload's Kafka topic, for kafka-leader
	seed   uint64 // seeds the packet queues' random choices

	mu      sync.Mutex
	paused  map[string]bool         // nodes this nemesis paused and has not resumed
	killed  map[string]bool         // nodes this nemesis killed and has not restarted
	netem   map[string]bool         // nodes with a netem qdisc
	queues  map[string]*PacketQueue // nodes with a packet queue (no netem)
	noNetem bool                    // the kernel has no netem: use packet queues
	packets uint64                  // packet faults started, for their seeds
	cut     bool                    // a partition is in place
	open    *Step                   // the step whose fault is in place
	windows []Window
	began   time.Time
}

// Window is one fault as it happened, for the summary and results.
type Window struct {
	Kind  Kind    `json:"kind"`
	Start float64 `json:"start_s"` // seconds since the workload started
	Stop  float64 `json:"stop_s,omitempty"`
	What  string  `json:"what"`
	Error string  `json:"error,omitempty"`
}

// New makes a nemesis for a schedule; packet is the behaviour of packet
// faults, applied with netem, or with a PacketQueue on kernels without it.
func New(c cluster.Cluster, rec Recorder, steps []Step, packet Packet, log *slog.Logger) *Nemesis {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Nemesis{c: c, rec: rec, log: log, steps: steps, packet: packet,
		paused: map[string]bool{}, killed: map[string]bool{}, netem: map[string]bool{},
		queues: map[string]*PacketQueue{}}
}

// SetSeed sets the seed of the random choices packet queues make per
// packet (netem draws its own); each packet fault on each node gets a seed
// derived from it. Without it the seed is 0.
func (n *Nemesis) SetSeed(seed uint64) { n.seed = seed }

// SetKafkaTopic names the test's Kafka topic, whose partition leaders the
// kafka-leader shape and target hit.
func (n *Nemesis) SetKafkaTopic(topic string) { n.topic = topic }

// Infos describes the cluster's nodes for Plan.
func Infos(c cluster.Cluster) []NodeInfo {
	var infos []NodeInfo
	for _, n := range c.Nodes() {
		infos = append(infos, NodeInfo{Name: n.Name(), Role: n.Role()})
	}
	return infos
}

func (n *Nemesis) nets() []NodeNet {
	var nets []NodeNet
	for _, node := range n.c.Nodes() {
		nets = append(nets, NodeNet{Name: node.Name(), Addr: node.Addr(), NetNSPath: node.NetNSPath()})
	}
	return nets
}

// Run runs the schedule until it ends or ctx is done. began is when the
// workload started: step times count from it. A fault that fails is
// recorded with its error and the schedule goes on.
func (n *Nemesis) Run(ctx context.Context, began time.Time) {
	n.mu.Lock()
	n.began = began
	n.mu.Unlock()
	for _, s := range n.steps {
		if !sleepUntil(ctx, began.Add(s.Start)) {
			return
		}
		w := n.start(ctx, s, began)
		if !sleepUntil(ctx, began.Add(s.Stop)) {
			return // HealAll stops it
		}
		n.stop(context.WithoutCancel(ctx), s, w, began)
	}
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// record appends the invocation, runs fn and appends its completion, an
// info op whose value says what was done, or whose error says what failed.
func (n *Nemesis) record(f string, invoke any, fn func() (any, error)) (string, error) {
	inv := history.Op{Process: history.Nemesis, Type: history.Invoke, F: f, Value: mustJSON(invoke)}
	if _, err := n.rec.Append(inv); err != nil {
		n.log.Error("record nemesis op", "f", f, "err", err)
	}
	did, err := fn()
	done := history.Op{Process: history.Nemesis, Type: history.Info, F: f, Value: mustJSON(did)}
	what := string(done.Value)
	if err != nil {
		done.Error = err.Error()
		n.log.Error("nemesis fault failed", "f", f, "err", err)
	} else {
		n.log.Info("nemesis", "f", f, "did", what)
	}
	if _, aerr := n.rec.Append(done); aerr != nil {
		n.log.Error("record nemesis op", "f", f, "err", aerr)
	}
	return what, err
}

func mustJSON(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(strconv.Quote(fmt.Sprint(v)))
	}
	return b
}

func (n *Nemesis) start(ctx context.Context, s Step, began time.Time) int {
	n.mu.Lock()
	n.open = &s
	n.mu.Unlock()
	w := Window{Kind: s.Kind, Start: time.Since(began).Seconds()}
	var what string
	var err error
	switch s.Kind {
	case KindPartition:
		what, err = n.record("start-partition", map[string]any{"shape": s.Shape}, func() (any, error) {
			g, err := n.resolveGrudge(ctx, s)
			if err != nil {
				return nil, err
			}
			n.mu.Lock()
			n.cut = true
			n.mu.Unlock()
			return map[string]any{"shape": s.Shape, "drops": g}, ApplyGrudge(ctx, n.nets(), g)
		})
	case KindKill, KindPause:
		what, err = n.record("start-"+string(s.Kind), map[string]any{"target": s.Target}, func() (any, error) {
			targets, err := n.resolveTargets(ctx, s)
			if err != nil {
				return nil, err
			}
			return n.signal(ctx, s.Kind, targets)
		})
	case KindPacket:
		what, err = n.record("start-packet", map[string]any{"target": s.Target}, func() (any, error) {
			targets, err := n.resolveTargets(ctx, s)
			if err != nil {
				return nil, err
			}
			return n.applyPacket(ctx, targets)
		})
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	w.What = what
	if err != nil {
		w.Error = err.Error()
	}
	n.windows = append(n.windows, w)
	return len(n.windows) - 1
}

func (n *Nemesis) stop(ctx context.Context, s Step, w int, began time.Time) {
	n.mu.Lock()
	n.open = nil
	n.mu.Unlock()
	var err error
	switch s.Kind {
	case KindPartition:
		_, err = n.record("stop-partition", nil, func() (any, error) { return "healed", n.healPartition(ctx) })
	case KindKill:
		_, err = n.record("stop-kill", nil, func() (any, error) { return n.restartKilled(ctx) })
	case KindPause:
		_, err = n.record("stop-pause", nil, func() (any, error) { return n.resumePaused(ctx) })
	case KindPacket:
		_, err = n.record("stop-packet", nil, func() (any, error) { return "healed", n.healPacket(ctx) })
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.windows[w].Stop = time.Since(began).Seconds()
	if err != nil {
		n.windows[w].Error = strings.TrimPrefix(n.windows[w].Error+"; "+err.Error(), "; ")
	}
}

// Windows lists the faults so far.
func (n *Nemesis) Windows() Windows {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.windows)
}

// Windows are the faults of a run.
type Windows []Window

// Lines renders one line per fault for the summary.
func (ws Windows) Lines() []string {
	lines := make([]string, len(ws))
	for i, w := range ws {
		lines[i] = fmt.Sprintf("%6.1fs–%6.1fs %-9s %s", w.Start, w.Stop, w.Kind, w.What)
		if w.Error != "" {
			lines[i] += "  ERROR: " + w.Error
		}
	}
	return lines
}

// resolveGrudge returns a step's grudge, finding the ZooKeeper leader or
// the Kafka controller now for the shapes that isolate them.
func (n *Nemesis) resolveGrudge(ctx context.Context, s Step) (Grudge, error) {
	if s.Grudge != nil {
		return s.Grudge, nil
	}
	var target string
	var err error
	switch s.Shape {
	case ShapeZKLeader:
		target, err = ZooKeeperLeader(ctx, n.c)
	case ShapeKafkaController:
		target, err = KafkaController(ctx, n.c)
	case ShapeKafkaLeader:
		target, err = KafkaLeader(ctx, n.c, n.topic)
	default:
		return nil, fmt.Errorf("partition shape %q has no grudge", s.Shape)
	}
	if err != nil {
		return nil, err
	}
	return Isolate(nodeNames(Infos(n.c)), target), nil
}

// resolveTargets returns a kill's or pause's nodes, resolving role targets now.
func (n *Nemesis) resolveTargets(ctx context.Context, s Step) ([]string, error) {
	switch s.Target {
	case TargetZKLeader:
		l, err := ZooKeeperLeader(ctx, n.c)
		return []string{l}, err
	case TargetKafkaController:
		c, err := KafkaController(ctx, n.c)
		return []string{c}, err
	case TargetKafkaLeader:
		l, err := KafkaLeader(ctx, n.c, n.topic)
		return []string{l}, err
	}
	return s.Nodes, nil
}

// ZooKeeperLeader names the ZooKeeper node that answers srvr as leader.
func ZooKeeperLeader(ctx context.Context, c cluster.Cluster) (string, error) {
	for _, z := range c.ZooKeepers() {
		if mode, err := cluster.ZooKeeperMode(ctx, c.Dial, z.ClientAddr()); err == nil && mode == "leader" {
			return z.Name(), nil
		}
	}
	return "", errors.New("no ZooKeeper node says it leads")
}

// KafkaController names the broker /controller names.
func KafkaController(ctx context.Context, c cluster.Cluster) (string, error) {
	st, err := c.Status(ctx)
	if err != nil {
		return "", err
	}
	for _, b := range c.Brokers() {
		if b.ID() == st.Controller {
			return b.Name(), nil
		}
	}
	return "", errors.New("no Kafka controller is elected")
}

// signal kills or pauses the targets.
func (n *Nemesis) signal(ctx context.Context, kind Kind, targets []string) (any, error) {
	var errs []error
	var hit []string
	for _, name := range targets {
		node, ok := n.c.Node(name)
		if !ok {
			errs = append(errs, fmt.Errorf("no node %s", name))
			continue
		}
		var err error
		n.mu.Lock()
		switch kind {
		case KindKill:
			err = node.Kill(ctx)
			if err == nil {
				n.killed[name] = true
			}
		case KindPause:
			err = node.Pause(ctx)
			if err == nil {
				n.paused[name] = true
			}
		}
		n.mu.Unlock()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", kind, name, err))
			continue
		}
		hit = append(hit, name)
	}
	sig := map[Kind]string{KindKill: "SIGKILL", KindPause: "SIGSTOP"}[kind]
	return map[string]any{"nodes": hit, "signal": sig}, errors.Join(errs...)
}

// restartKilled starts every node this nemesis killed, with its data.
func (n *Nemesis) restartKilled(ctx context.Context) (any, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	var errs []error
	var started []string
	for _, name := range slices.Sorted(maps.Keys(n.killed)) {
		node, _ := n.c.Node(name)
		if err := node.Start(ctx); err != nil {
			errs = append(errs, fmt.Errorf("restart %s: %w", name, err))
			continue
		}
		delete(n.killed, name)
		started = append(started, name)
	}
	return map[string]any{"restarted": started}, errors.Join(errs...)
}

// resumePaused sends SIGCONT to every node this nemesis paused.
func (n *Nemesis) resumePaused(ctx context.Context) (any, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	var errs []error
	var resumed []string
	for _, name := range slices.Sorted(maps.Keys(n.paused)) {
		node, _ := n.c.Node(name)
		if err := node.Resume(ctx); err != nil {
			errs = append(errs, fmt.Errorf("resume %s: %w", name, err))
			continue
		}
		delete(n.paused, name)
		resumed = append(resumed, name)
	}
	return map[string]any{"resumed": resumed, "signal": "SIGCONT"}, errors.Join(errs...)
}

// applyPacket shapes the targets' packets with netem, or with a packet
// queue where the kernel has no netem; the completion says which, via.
func (n *Nemesis) applyPacket(ctx context.Context, targets []string) (any, error) {
	nets := n.nets()
	n.mu.Lock()
	n.packets++
	n.mu.Unlock()
	var errs []error
	var hit []string
	via := map[string]bool{}
	for _, name := range targets {
		i := slices.IndexFunc(nets, func(nn NodeNet) bool { return nn.Name == name })
		if i < 0 {
			errs = append(errs, fmt.Errorf("no node %s", name))
			continue
		}
		n.mu.Lock()
		how, err := n.shapePackets(ctx, nets[i])
		n.mu.Unlock()
		if err != nil {
			errs = append(errs, fmt.Errorf("packet fault on %s: %w", name, err))
			continue
		}
		hit = append(hit, name)
		via[how] = true
	}
	did := map[string]any{"nodes": hit, "netem": n.packet.Describe()}
	if len(via) > 0 {
		did["via"] = strings.Join(slices.Sorted(maps.Keys(via)), ",")
	}
	return did, errors.Join(errs...)
}

// shapePackets applies the packet fault to one node, replacing the one
// before, and says how: "netem", or "nfqueue" where the kernel has no netem.
// n.mu must be held.
func (n *Nemesis) shapePackets(ctx context.Context, nn NodeNet) (string, error) {
	if q := n.queues[nn.Name]; q != nil {
		if err := q.Stop(ctx); err != nil {
			return "", fmt.Errorf("stop the packet queue before: %w", err)
		}
		delete(n.queues, nn.Name)
	}
	if !n.noNetem {
		err := ApplyPacket(ctx, nn, n.packet)
		if err == nil {
			n.netem[nn.Name] = true
			return "netem", nil
		}
		if !errors.Is(err, ErrNetemUnavailable) {
			return "", err
		}
		n.noNetem = true // the kernel's, so every node's
		n.log.Info("the kernel has no netem: packet faults use an NFQUEUE packet queue", "err", err)
	}
	q, err := StartPacketQueue(ctx, nn, n.packet, n.packetSeed(nn.Name))
	if err != nil {
		return "", err
	}
	n.queues[nn.Name] = q
	return "nfqueue", nil
}

// packetSeed derives the seed of a node's packet queue from the nemesis's
// seed, the node and the number of packet faults so far. n.mu must be held.
func (n *Nemesis) packetSeed(node string) uint64 {
	h := fnv.New64a()
	_ = binary.Write(h, binary.BigEndian, [2]uint64{n.seed, n.packets})
	h.Write([]byte(node))
	return h.Sum64()
}

func (n *Nemesis) healPartition(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cut = false
	return HealPartitions(ctx, n.nets())
}

// healPacket clears the netem and stops the packet queues this nemesis
// applied.
func (n *Nemesis) healPacket(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	var errs []error
	for _, nn := range n.nets() {
		if !n.netem[nn.Name] {
			continue
		}
		if err := HealPacket(ctx, nn); err != nil {
			errs = append(errs, fmt.Errorf("clear netem on %s: %w", nn.Name, err))
			continue
		}
		delete(n.netem, nn.Name)
	}
	for _, name := range slices.Sorted(maps.Keys(n.queues)) {
		if err := n.queues[name].Stop(ctx); err != nil {
			errs = append(errs, err)
			continue
		}
		delete(n.queues, name)
	}
	return errors.Join(errs...)
}

// HealAll ends the fault in place, if any, then heals everything whatever
// the nemesis believes: partitions removed on every node, netem cleared,
// packet queues stopped, paused nodes resumed, killed nodes restarted.
// Each is recorded.
func (n *Nemesis) HealAll(ctx context.Context) error {
	n.mu.Lock()
	open, began := n.open, n.began
	w := len(n.windows) - 1
	n.mu.Unlock()
	if open != nil && w >= 0 {
		n.stop(ctx, *open, w, began)
	}
	_, err := n.record("heal", nil, func() (any, error) {
		var errs []error
		n.mu.Lock()
		for _, nn := range n.nets() {
			n.netem[nn.Name] = true // clear every node's, not only those we know of
		}
		n.mu.Unlock()
		// Packets first: removing the partition's hooks would make the
		// kernel drop the packets a packet queue holds.
		if err := n.healPacket(ctx); err != nil {
			errs = append(errs, err)
		}
		if err := HealPartitions(ctx, n.nets()); err != nil {
			errs = append(errs, err)
		}
		resumed, err := n.resumePaused(ctx)
		if err != nil {
			errs = append(errs, err)
		}
		restarted, err := n.restartKilled(ctx)
		if err != nil {
			errs = append(errs, err)
		}
		return map[string]any{"partitions": "removed", "netem": "cleared", "nfqueue": "stopped", "resume": resumed, "restart": restarted}, errors.Join(errs...)
	})
	return err
}
