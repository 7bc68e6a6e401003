package nemesis

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/faultline/faultline/cluster"
)

// nodeFault is a fault that does something to target nodes' servers and
// undoes it at the stop: kill and restart, pause and resume. It remembers
// the nodes it hit until it has undone them.
type nodeFault struct {
	kind    Kind
	summary string
	// do applies the fault to a node, undo reverses it; signal names what
	// do sends (for the history), extra what the stop's record adds (what
	// undo sends). Where the cluster's nodes are Freezers, frozen and
	// thawed stand in for the two, when set.
	do, undo       func(cluster.Node, context.Context) error
	doing, undoing string // "kill", "restart"
	signal         string
	undoneKey      string // the key of the stop's record: "restarted", "resumed"
	extra          map[string]any
	frozen, thawed map[string]any

	mu  sync.Mutex
	hit map[string]string // nodes this fault hit and has not undone → the step's key
}

func (f *nodeFault) Kind() Kind      { return f.kind }
func (f *nodeFault) Summary() string { return f.summary }
func (f *nodeFault) Flags() []string { return []string{"targets", "nemesis-roles"} }

func (f *nodeFault) Validate(o Options, nodes []NodeInfo) error { return validateTargets(o, nodes) }

func (f *nodeFault) Draw(o Options, nodes []NodeInfo, rng *rand.Rand) (Step, error) {
	return drawTargetStep(f.kind, o, nodes, rng), nil
}

func (f *nodeFault) Available(*Env) error { return nil }

func (f *nodeFault) Start(ctx context.Context, env *Env, s Step) (any, error) {
	nodes, err := resolveTargets(ctx, env, s)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hit == nil {
		f.hit = map[string]string{}
	}
	var errs []error
	hit := []string{}
	for _, n := range nodes {
		if by, ok := f.hit[n.Name()]; ok {
			errs = append(errs, fmt.Errorf("%s %s: step %s already did, and undoes it at its stop", f.doing, n.Name(), by))
			continue
		}
		if err := f.do(n, ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", f.doing, n.Name(), err))
			continue
		}
		f.hit[n.Name()] = s.key
		hit = append(hit, n.Name())
	}
	did := map[string]any{"nodes": hit, "signal": f.signal}
	if f.frozen != nil && freezes(env) {
		did = map[string]any{"nodes": hit}
		maps.Copy(did, f.frozen)
	}
	return did, errors.Join(errs...)
}

// freezes says whether env's cluster pauses nodes by freezing them.
func freezes(env *Env) bool {
	for _, n := range env.Cluster.Nodes() {
		if fr, ok := n.(cluster.Freezer); ok && fr.Freezes() {
			return true
		}
	}
	return false
}

// Stop undoes the fault on every node the step hit.
func (f *nodeFault) Stop(ctx context.Context, env *Env, s Step) (any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	undone, err := f.undoHit(ctx, env, func(key string) bool { return key == s.key })
	return f.stopRecord(env, undone), err
}

// undoHit undoes the nodes this fault hit, those of the steps mine
// accepts (nil: every step's); f.mu must be held.
func (f *nodeFault) undoHit(ctx context.Context, env *Env, mine func(key string) bool) ([]string, error) {
	var errs []error
	undone := []string{}
	for _, name := range slices.Sorted(maps.Keys(f.hit)) {
		if mine != nil && !mine(f.hit[name]) {
			continue
		}
		n, ok := env.Cluster.Node(name)
		if !ok {
			continue
		}
		if err := f.undo(n, ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", f.undoing, name, err))
			continue
		}
		delete(f.hit, name)
		undone = append(undone, name)
	}
	return undone, errors.Join(errs...)
}

func (f *nodeFault) stopRecord(env *Env, undone []string) map[string]any {
	did := map[string]any{f.undoneKey: undone}
	if f.thawed != nil && freezes(env) {
		maps.Copy(did, f.thawed)
	} else {
		maps.Copy(did, f.extra)
	}
	return did
}
