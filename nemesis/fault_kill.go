package nemesis

import (
	"context"

	"github.com/faultline/faultline/cluster"
)

// killFault kills nodes' servers (SIGKILL) and restarts them, with their
// data, when it stops.
type killFault struct{ nodeFault }

func newKillFault() *killFault {
	return &killFault{nodeFault{
		kind:    KindKill,
		summary: "kill nodes' servers (SIGKILL), restart them with their data at the stop",
		do:      cluster.Node.Kill, undo: cluster.Node.Start,
		doing: "kill", undoing: "restart", signal: "SIGKILL", undoneKey: "restarted",
	}}
}

// Heal restarts the nodes this fault killed, and says which other nodes
// are down: a server that died by itself is left as it is, for the health
// check after healing to report.
func (k *killFault) Heal(ctx context.Context, env *Env) (any, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	restarted, err := k.undoHit(ctx, env, nil)
	did := k.stopRecord(env, restarted)
	var down []string
	for _, n := range env.Cluster.Nodes() {
		if !n.Running() {
			down = append(down, n.Name())
		}
	}
	if len(down) > 0 {
		did["down_not_restarted"] = down
	}
	return did, err
}
