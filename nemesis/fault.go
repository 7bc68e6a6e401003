package nemesis

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"slices"

	"github.com/faultline/faultline/cluster"
)

// Kind is a kind of fault: partition, kill, pause, packet.
type Kind string

// Fault is one kind of fault the nemesis can inject. A fresh Fault serves
// one run: it may remember what it did (the nodes it killed) to stop it.
// Each kind lives in a file of its own; Builtin lists them.
type Fault interface {
	// Kind names the fault, as --nemesis does.
	Kind() Kind
	// Summary says in a line what the fault does, for the help.
	Summary() string
	// Flags names the nemesis flags this fault reads (e.g. --partition),
	// so that a flag no requested fault reads is refused.
	Flags() []string
	// Validate checks the options this fault reads against the nodes the
	// cluster will have.
	Validate(o Options, nodes []NodeInfo) error
	// Draw draws one step of the schedule: every random choice the fault
	// makes, from rng. Choices that depend on the cluster at the moment
	// (who leads) are left to Start.
	Draw(o Options, nodes []NodeInfo, rng *rand.Rand) (Step, error)
	// Available says whether the fault can run on this cluster: nil, or
	// why not (a backend without a network capability cannot partition).
	Available(env *Env) error
	// Start applies the step and returns what it did, for the history. An
	// error means it did not fully apply; what it returns still says what
	// it did do.
	Start(ctx context.Context, env *Env, s Step) (any, error)
	// Stop ends the fault the last Start applied.
	Stop(ctx context.Context, env *Env, s Step) (any, error)
	// Heal ends any fault of this kind on every node, whatever the fault
	// believes it did: the end of a run, or after an interruption.
	Heal(ctx context.Context, env *Env) (any, error)
}

// Builtin returns a fresh instance of every fault faultline has, in the
// order --nemesis all lists them. Adding a fault is a file of its own and
// a line here.
func Builtin() []Fault {
	return []Fault{
		&partitionFault{},
		newKillFault(),
		newPauseFault(),
		&packetFault{},
	}
}

// Env is what a fault works with during a run.
type Env struct {
	// Cluster is the cluster under test.
	Cluster cluster.Cluster
	// Options are the nemesis's options.
	Options Options
	// Topic is the workload's Kafka topic, whose partition leaders the
	// kafka-leader shape and target hit; empty for workloads without one.
	Topic string
	// Seed seeds the random choices faults make while they run (a packet
	// queue's, per packet).
	Seed uint64
	// Log receives what faults do.
	Log *slog.Logger
	// WorkloadRoles are the roles the workload exercises: each start
	// records whether it touched a node of them ("on_workload").
	WorkloadRoles []cluster.Role
	// Probe answers a scripted schedule's questions of the nodes (nil:
	// ask the cluster's nodes).
	Probe Probe
	// Workload answers a scripted schedule's questions of the workload's
	// processes (lock-holder); nil if the workload answers none.
	Workload WorkloadConditions
}

// WorkloadConditions is a workload that answers conditions about its
// processes on a client host.
type WorkloadConditions interface {
	// Condition says whether the condition is (such as IsLockHolder)
	// holds for the processes on client host host now, and what was
	// seen; an error if the workload does not answer it.
	Condition(is, host string) (bool, string, error)
}

// faultOf finds the fault of kind among faults.
func faultOf(faults []Fault, kind Kind) (Fault, bool) {
	i := slices.IndexFunc(faults, func(f Fault) bool { return f.Kind() == kind })
	if i < 0 {
		return nil, false
	}
	return faults[i], true
}

// Kinds lists the kinds of faults.
func Kinds(faults []Fault) []Kind {
	kinds := make([]Kind, len(faults))
	for i, f := range faults {
		kinds[i] = f.Kind()
	}
	return kinds
}
