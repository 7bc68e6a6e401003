package workloads

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/history"
	"github.com/spf13/pflag"
)

// Definition is what a workload registers: its name, what it does, its
// options, how to make it, and (through its options) the checkers that
// judge it. The runner, `faultline test` and `faultline check` take
// everything from it; see the registry package for where definitions are
// listed.
type Definition struct {
	// Name is what --workload calls it, e.g. "zk-register".
	Name string
	// Summary says in a line what the workload does.
	Summary string
	// Help says in a few lines what it does and what it checks, for
	// `faultline test --help`.
	Help string
	// NewOptions returns the workload's options at their defaults.
	NewOptions func() Options
	// New makes the workload for a run on env.Cluster.
	New func(env Env, o Options) (Workload, error)
	// Roles are the roles of the nodes the workload exercises: its
	// system under test and what that system stands on. The nemesis aims
	// there unless told otherwise (--nemesis-roles).
	Roles []cluster.Role
	// KafkaNodes is how many brokers the workload's cluster has unless
	// --kafka-nodes says otherwise (0: none).
	KafkaNodes int
	// LegacyKey is the key under which test.json held the options before
	// the registry (a run stored then is still checked with its options).
	LegacyKey string
}

// Options are a workload's own options, a type of the workload's own
// (stored in test.json as JSON).
type Options interface {
	// Flags binds the options to command-line flags of `faultline test`;
	// every flag name must be the workload's own.
	Flags(fs *pflag.FlagSet)
	// Defaults fills fields left zero with their defaults (for callers
	// that build options in code; flags start from the defaults).
	Defaults()
	// SetOpTimeout sets the op timeout --op-timeout gives.
	SetOpTimeout(d time.Duration)
	// Validate checks the options against the cluster they will run on;
	// its errors name the flag, the range and the fix.
	Validate(shape ClusterShape) error
	// Checkers are the checkers that judge a history of the workload run
	// with these options, in the order their results are shown.
	Checkers() []checker.Checker
	// UsesKafkaTopic says whether the workload has a Kafka topic whose
	// leaders the nemesis can aim at.
	UsesKafkaTopic() bool
}

// ClusterShape is what options are validated against: the cluster the
// workload will run on.
type ClusterShape struct {
	ZooKeepers, Brokers int
}

// Env is what a workload is made with.
type Env struct {
	Cluster cluster.Cluster
	// Seed drives every random choice of the workload.
	Seed uint64
	// Concurrency is the number of worker processes.
	Concurrency int
	Log         *slog.Logger
}

// Lookup finds a definition by name among defs.
func Lookup(defs []Definition, name string) (Definition, error) {
	for _, d := range defs {
		if d.Name == name {
			return d, nil
		}
	}
	var names []string
	for _, d := range defs {
		names = append(names, d.Name)
	}
	return Definition{}, fmt.Errorf("--workload %q is not a workload: choose %s", name, joinOr(names))
}

func joinOr(names []string) string {
	switch len(names) {
	case 0:
		return "none (no workload is registered)"
	case 1:
		return names[0]
	}
	out := ""
	for i, n := range names {
		switch {
		case i == 0:
		case i == len(names)-1:
			out += " or "
		default:
			out += ", "
		}
		out += n
	}
	return out
}

// Workload is one kind of test traffic against a cluster. The runner calls
// Setup once, then, from one goroutine per process, Next, Client.Invoke and
// Completed in a loop until the time limit; then FinalReads and Close; the
// options' Checkers judge the whole history.
type Workload interface {
	// Setup prepares the cluster: znodes, topics.
	Setup(ctx context.Context) error
	// Client opens a client for process p. After an op of p ends as info,
	// the runner closes p's client and opens one for a new process.
	Client(ctx context.Context, p history.Process) (Client, error)
	// Next returns the next op for process p to invoke (type invoke, with
	// F, Key and Value set). It may block, e.g. while a fresh key is made.
	Next(ctx context.Context, p history.Process) (history.Op, error)
	// Completed tells the generator how an op ended.
	Completed(op history.Op)
	// FinalReads reads everything back after the cluster has healed,
	// recording each op through rec.
	FinalReads(ctx context.Context, rec Recorder) error
	// Topic is the workload's Kafka topic, empty if it has none.
	Topic() string
	// Details describe the run of the workload for the results: a type of
	// the workload's own, stored as JSON (its options and what it used,
	// e.g. the keys or the topic).
	Details() any
	// Close releases the workload's own connections.
	Close() error
}

// Client performs ops for one process.
type Client interface {
	// Invoke performs op and returns its completion: op with Type ok,
	// fail or info, and Value, Node and Error filled in. It must return
	// by ctx's deadline; an op that cannot be known to have happened or
	// not by then is info.
	Invoke(ctx context.Context, op history.Op) history.Op
	// Close closes the client; it must not block on an unreachable server.
	Close()
}

// Recorder lets final reads use the history as the runner's processes do.
type Recorder interface {
	// NewProcess returns a process id no one has used.
	NewProcess() history.Process
	// Record invokes op as process p through c and records the invocation
	// and the completion, which it returns.
	Record(ctx context.Context, p history.Process, c Client, op history.Op) (history.Op, error)
}

// StringFlag binds a flag to a string-typed option (a mode, a setting);
// the options' Validate checks the value.
type StringFlag[T ~string] struct{ V *T }

func (f StringFlag[T]) String() string {
	if f.V == nil {
		return ""
	}
	return string(*f.V)
}

// Set takes the value as given.
func (f StringFlag[T]) Set(s string) error { *f.V = T(s); return nil }

// Type names the flag's type in the help.
func (f StringFlag[T]) Type() string { return "string" }

// DialFor is how client process p dials the cluster: from client host
// p mod N when the cluster has N client hosts (so that partitions can cut
// clients off), else from the harness's side (Cluster.Dial). A retired
// process's successor (p + concurrency) lands on the host p's would if N
// divides the concurrency, which the runner does not require.
func DialFor(c cluster.Cluster, p history.Process) cluster.DialFunc {
	hosts := c.ClientHosts()
	if len(hosts) == 0 || p < 0 {
		return c.Dial
	}
	return hosts[int(p)%len(hosts)].Dial
}

// HostFor names the client host process p dials from ("" for the
// harness's side).
func HostFor(c cluster.Cluster, p history.Process) string {
	hosts := c.ClientHosts()
	if len(hosts) == 0 || p < 0 {
		return ""
	}
	return hosts[int(p)%len(hosts)].Name()
}
