package nemesis

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
)

// packetFault shapes every packet the target nodes send: delay, loss,
// duplication, reordering, corruption (--packet), through the nodes'
// network capability (netem, or faultline's packet queue on kernels
// without it).
type packetFault struct {
	mu     sync.Mutex
	count  uint64            // packet faults started, for their seeds
	shaped map[string]string // nodes this fault shaped and has not cleared → the step's key
}

func (*packetFault) Kind() Kind { return KindPacket }

func (*packetFault) Summary() string {
	return "shape the packets nodes send: delay, loss, duplicate, reorder, corrupt"
}

func (*packetFault) Flags() []string { return []string{"targets", "nemesis-roles", "packet"} }

func (*packetFault) Validate(o Options, nodes []NodeInfo) error {
	if err := validateTargets(o, nodes); err != nil {
		return err
	}
	return o.Packet.Validate()
}

func (*packetFault) Draw(o Options, nodes []NodeInfo, rng *rand.Rand) (Step, error) {
	return drawTargetStep(KindPacket, o, nodes, rng), nil
}

func (*packetFault) Available(env *Env) error { return networksAvailable(env) }

func (p *packetFault) Start(ctx context.Context, env *Env, s Step) (any, error) {
	nodes, err := resolveTargets(ctx, env, s)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.count++
	if p.shaped == nil {
		p.shaped = map[string]string{}
	}
	var errs []error
	hit := []string{}
	via := map[string]bool{}
	for _, n := range nodes {
		if by, ok := p.shaped[n.Name()]; ok {
			errs = append(errs, fmt.Errorf("packet fault on %s: step %s's is in place, and clears at its stop", n.Name(), by))
			continue
		}
		nw := n.Network()
		if nw == nil {
			errs = append(errs, fmt.Errorf("packet fault on %s: the node offers no network capability", n.Name()))
			continue
		}
		how, err := nw.ShapePackets(ctx, env.Options.Packet, p.seed(env.Seed, n.Name()))
		if err != nil {
			errs = append(errs, fmt.Errorf("packet fault on %s: %w", n.Name(), err))
			continue
		}
		p.shaped[n.Name()] = s.key
		hit = append(hit, n.Name())
		via[how] = true
	}
	did := map[string]any{"nodes": hit, "netem": env.Options.Packet.Describe()}
	if len(via) > 0 {
		did["via"] = strings.Join(slices.Sorted(maps.Keys(via)), ",")
	}
	return did, errors.Join(errs...)
}

// seed derives the seed of a node's packet shaping from the run's seed,
// the node and the number of packet faults so far. p.mu must be held.
func (p *packetFault) seed(runSeed uint64, node string) uint64 {
	h := fnv.New64a()
	_ = binary.Write(h, binary.BigEndian, [2]uint64{runSeed, p.count})
	h.Write([]byte(node))
	return h.Sum64()
}

func (p *packetFault) Stop(ctx context.Context, env *Env, s Step) (any, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(p.shaped)) {
		if p.shaped[name] != s.key {
			continue
		}
		n, ok := env.Cluster.Node(name)
		if !ok || n.Network() == nil {
			continue
		}
		if err := n.Network().ClearPackets(ctx); err != nil {
			errs = append(errs, fmt.Errorf("clear packet fault on %s: %w", name, err))
			continue
		}
		delete(p.shaped, name)
	}
	return "healed", errors.Join(errs...)
}

// Heal clears packet faults on every node, not only those this fault
// believes it shaped.
func (p *packetFault) Heal(ctx context.Context, env *Env) (any, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for _, n := range env.Cluster.Nodes() {
		if n.Network() == nil {
			continue
		}
		if err := n.Network().ClearPackets(ctx); err != nil {
			errs = append(errs, fmt.Errorf("clear packet fault on %s: %w", n.Name(), err))
			continue
		}
		delete(p.shaped, n.Name())
	}
	return "cleared", errors.Join(errs...)
}
