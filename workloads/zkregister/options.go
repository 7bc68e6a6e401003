package zkregister

import (
	"fmt"
	"time"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/workloads"
	"github.com/spf13/pflag"
)

// ReadMode says how reads are done.
type ReadMode string

// The read modes.
const (
	// ReadSync calls sync, then get: ZooKeeper's documented way to read
	// the latest value.
	ReadSync ReadMode = "sync"
	// ReadLocal is a plain get from whichever server the client is on,
	// which ZooKeeper documents may be stale.
	ReadLocal ReadMode = "local"
	// ReadNone does no reads but the final ones.
	ReadNone ReadMode = "none"
	// ReadQuorum writes the session's barrier znode (a quorum operation),
	// then gets: a read ZooKeeper makes linearizable, at the cost of a
	// write per read.
	ReadQuorum ReadMode = "quorum"
)

// Options shape the workload.
type Options struct {
	// Keys is how many keys are in use at once (default 5).
	Keys int `json:"keys"`
	// OpsPerKey retires a key after that many ops and uses a fresh one
	// (default 200), bounding each key's checking cost.
	OpsPerKey int `json:"ops_per_key"`
	// Reads is the read mode (default sync).
	Reads ReadMode `json:"reads"`
	// OpTimeout bounds each op; an op that has not returned by then is
	// info (default 5s).
	OpTimeout time.Duration `json:"op_timeout"`
	// SessionTimeout is each client's ZooKeeper session timeout (default 10s).
	SessionTimeout time.Duration `json:"session_timeout"`
	// Consistency is what the verdict requires of reads: linearizable,
	// sequential, or empty for what the read mode is promised
	// (linearizable for quorum reads, sequential for the others; see
	// checker.ZKRegisterCheckers).
	Consistency string `json:"consistency,omitempty"`
}

// DefaultOptions returns the options at their defaults.
func DefaultOptions() *Options {
	o := &Options{}
	o.Defaults()
	return o
}

// Flags binds zk-register's flags.
func (o *Options) Flags(fs *pflag.FlagSet) {
	fs.IntVar(&o.Keys, "keys", o.Keys, "zk-register: keys in use at once, 1 to 10000")
	fs.IntVar(&o.OpsPerKey, "ops-per-key", o.OpsPerKey, "zk-register: ops on a key before it is retired for a fresh one")
	fs.Var(workloads.StringFlag[ReadMode]{V: &o.Reads}, "reads", "zk-register: reads are sync (sync, then get), quorum (a write on the session, then get: linearizable), local (plain get) or none")
	fs.StringVar(&o.Consistency, "consistency", o.Consistency, "zk-register: what the verdict requires of reads: linearizable or sequential (default: what the read mode is promised; linearizable for quorum)")
}

// SetConsistency sets what the verdict requires of reads, for judging a
// stored run another way (`faultline check --consistency`).
func (o *Options) SetConsistency(c string) error {
	o.Consistency = c
	return o.validate()
}

// SetOpTimeout sets --op-timeout.
func (o *Options) SetOpTimeout(d time.Duration) { o.OpTimeout = d }

// Checkers check what ZooKeeper promises: linearizable writes, sequential
// consistency per session, and linearizable reads, required or a finding
// (see checker.ZKRegisterCheckers).
func (o *Options) Checkers() []checker.Checker {
	cs, err := checker.ZKRegisterCheckers(string(o.Reads), o.Consistency)
	if err != nil { // Validate refuses what ZKRegisterCheckers does
		return []checker.Checker{checker.Linearizable{}}
	}
	return cs
}

// UsesKafkaTopic is false: zk-register has no topic.
func (o *Options) UsesKafkaTopic() bool { return false }

// Defaults fills in unset fields.
func (o *Options) Defaults() {
	if o.Keys == 0 {
		o.Keys = 5
	}
	if o.OpsPerKey == 0 {
		o.OpsPerKey = 200
	}
	if o.Reads == "" {
		o.Reads = ReadSync
	}
	if o.OpTimeout == 0 {
		o.OpTimeout = 5 * time.Second
	}
	if o.SessionTimeout == 0 {
		o.SessionTimeout = 10 * time.Second
	}
}

// Validate checks options against the cluster.
func (o *Options) Validate(shape workloads.ClusterShape) error {
	if shape.ZooKeepers < 1 {
		return fmt.Errorf("zk-register needs ZooKeeper nodes: give --zk-nodes 1 or more")
	}
	return o.validate()
}

// validate checks the options alone.
func (o *Options) validate() error {
	if o.Keys < 1 || o.Keys > 10000 {
		return fmt.Errorf("--keys %d is out of range: choose 1 to 10000", o.Keys)
	}
	if o.OpsPerKey < 1 || o.OpsPerKey > 1_000_000 {
		return fmt.Errorf("--ops-per-key %d is out of range: choose 1 to 1000000", o.OpsPerKey)
	}
	switch o.Reads {
	case ReadSync, ReadLocal, ReadNone, ReadQuorum:
	default:
		return fmt.Errorf("--reads %q is not a read mode: choose sync, quorum, local or none", o.Reads)
	}
	switch o.Consistency {
	case "", checker.ConsistencyLinearizable, checker.ConsistencySequential:
	default:
		return fmt.Errorf("--consistency %q is not a consistency: choose linearizable or sequential", o.Consistency)
	}
	if o.OpTimeout < 10*time.Millisecond || o.OpTimeout > time.Hour {
		return fmt.Errorf("--op-timeout %s is out of range: give 10ms to 1h", o.OpTimeout)
	}
	if o.SessionTimeout < time.Second {
		return fmt.Errorf("session timeout %s is too short: give at least 1s", o.SessionTimeout)
	}
	return nil
}
