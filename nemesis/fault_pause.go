package nemesis

import (
	"context"
	"errors"
	"fmt"

	"github.com/faultline/faultline/cluster"
)

// pauseFault pauses nodes' servers (SIGSTOP) and resumes them (SIGCONT)
// when it stops; containers are frozen and thawed (docker pause), and the
// history says so.
type pauseFault struct{ nodeFault }

func newPauseFault() *pauseFault {
	return &pauseFault{nodeFault{
		kind:    KindPause,
		summary: "pause nodes' servers (SIGSTOP, or docker pause), resume them (SIGCONT, or docker unpause) at the stop",
		do:      cluster.Node.Pause, undo: cluster.Node.Resume,
		doing: "pause", undoing: "resume", signal: "SIGSTOP", undoneKey: "resumed",
		extra:  map[string]any{"signal": "SIGCONT"},
		frozen: map[string]any{"freezer": "frozen (docker pause)"},
		thawed: map[string]any{"freezer": "thawed (docker unpause)"},
	}}
}

// Heal resumes every running node, whether or not this fault believes it
// paused it (SIGCONT does nothing to a process that runs).
func (p *pauseFault) Heal(ctx context.Context, env *Env) (any, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	resumed := []string{}
	for _, n := range env.Cluster.Nodes() {
		if !n.Running() {
			continue
		}
		if err := n.Resume(ctx); err != nil {
			errs = append(errs, fmt.Errorf("resume %s: %w", n.Name(), err))
			continue
		}
		if _, ok := p.hit[n.Name()]; ok {
			resumed = append(resumed, n.Name())
		}
		delete(p.hit, n.Name())
	}
	return p.stopRecord(env, resumed), errors.Join(errs...)
}
