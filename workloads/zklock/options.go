package zklock

import (
	"fmt"
	"time"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/workloads"
	"github.com/spf13/pflag"
)

// ClientKind is how a client judges whether it still holds a lock.
type ClientKind string

// The kinds of client.
const (
	// Naive believes it holds the lock until it releases it, whatever
	// happens to its session.
	Naive ClientKind = "naive"
	// Careful stops believing as soon as its session is disconnected or
	// expired, as ZooKeeper's programmer's guide says a lock holder must,
	// and records that as a lose op.
	Careful ClientKind = "careful"
	// Fenced believes as a naive client does (until it releases), but
	// writes the resource only conditionally on its token: the resource
	// refuses a write whose token is older than the newest it has taken.
	// Fencing alone, not the client's care, keeps the resource safe.
	Fenced ClientKind = "fenced"
)

// watchesSession says whether the client gives up a lock when its session
// is disconnected or expired.
func (k ClientKind) watchesSession() bool { return k == Careful }

// Options shape the workload.
type Options struct {
	// Locks is how many locks the processes contend for (default 3).
	Locks int `json:"locks"`
	// Client is the kind of client every worker is (default careful: the
	// recipe as ZooKeeper documents it; naive is the known-broken
	// baseline, fenced also fences the resource).
	Client ClientKind `json:"lock_client"`
	// WritesPerHold is how many writes a holder makes before it releases
	// (default 3).
	WritesPerHold int `json:"writes_per_hold"`
	// Hold is the pause after each write, before the next write or the
	// release (default 200ms): how long a lock is held, with the writes.
	Hold time.Duration `json:"hold"`
	// SessionTimeout is the clients' ZooKeeper session timeout (default
	// 6s: short, so that a partition longer than it makes sessions expire
	// within a test). ZooKeeper bounds it to 2 to 20 ticks.
	SessionTimeout time.Duration `json:"session_timeout"`
	// OpTimeout bounds each op, an acquire's wait for the lock included;
	// an op not done by then is info, or fail if it is known not to have
	// happened (default 10s).
	OpTimeout time.Duration `json:"op_timeout"`
}

// DefaultOptions returns the options at their defaults.
func DefaultOptions() *Options {
	o := &Options{}
	o.Defaults()
	return o
}

// Flags binds zk-lock's flags.
func (o *Options) Flags(fs *pflag.FlagSet) {
	fs.IntVar(&o.Locks, "locks", o.Locks, "zk-lock: locks the processes contend for, 1 to 1000")
	fs.Var(workloads.StringFlag[ClientKind]{V: &o.Client}, "lock-client", "zk-lock: the clients are naive (believe they hold a lock until they release it), careful (a disconnected or expired session loses it) or fenced (naive, but the resource refuses older tokens)")
	fs.IntVar(&o.WritesPerHold, "writes-per-hold", o.WritesPerHold, "zk-lock: writes to the protected resource per hold of a lock, 1 to 1000")
	fs.DurationVar(&o.Hold, "hold", o.Hold, "zk-lock: the pause after each write, before the next write or the release")
	fs.DurationVar(&o.SessionTimeout, "lock-session-timeout", o.SessionTimeout, "zk-lock: the clients' ZooKeeper session timeout (ZooKeeper bounds it to 2 to 20 ticks: 4s to 40s with the default 2s tick)")
}

// SetOpTimeout sets --op-timeout.
func (o *Options) SetOpTimeout(d time.Duration) { o.OpTimeout = d }

// Checkers is the lock checker, told the session timeout the clients
// asked for.
func (o *Options) Checkers() []checker.Checker {
	return []checker.Checker{checker.Lock{SessionTimeout: o.SessionTimeout}}
}

// UsesKafkaTopic is false: zk-lock has no topic.
func (o *Options) UsesKafkaTopic() bool { return false }

// Defaults fills in unset fields.
func (o *Options) Defaults() {
	if o.Locks == 0 {
		o.Locks = 3
	}
	if o.Client == "" {
		o.Client = Careful
	}
	if o.WritesPerHold == 0 {
		o.WritesPerHold = 3
	}
	if o.Hold == 0 {
		o.Hold = 200 * time.Millisecond
	}
	if o.SessionTimeout == 0 {
		o.SessionTimeout = 6 * time.Second
	}
	if o.OpTimeout == 0 {
		o.OpTimeout = 10 * time.Second
	}
}

// Validate checks options against the cluster.
func (o *Options) Validate(shape workloads.ClusterShape) error {
	if shape.ZooKeepers < 1 {
		return fmt.Errorf("zk-lock needs ZooKeeper nodes: give --zk-nodes 1 or more")
	}
	if o.Locks < 1 || o.Locks > 1000 {
		return fmt.Errorf("--locks %d is out of range: choose 1 to 1000", o.Locks)
	}
	switch o.Client {
	case Naive, Careful, Fenced:
	default:
		return fmt.Errorf("--lock-client %q is not a kind of client: choose naive, careful or fenced", o.Client)
	}
	if o.WritesPerHold < 1 || o.WritesPerHold > 1000 {
		return fmt.Errorf("--writes-per-hold %d is out of range: choose 1 to 1000", o.WritesPerHold)
	}
	if o.Hold < time.Millisecond || o.Hold > time.Minute {
		return fmt.Errorf("--hold %s is out of range: give 1ms to 1m", o.Hold)
	}
	if o.SessionTimeout < time.Second || o.SessionTimeout > 10*time.Minute {
		return fmt.Errorf("--lock-session-timeout %s is out of range: give 1s to 10m (ZooKeeper bounds it to 2 to 20 ticks)", o.SessionTimeout)
	}
	if o.OpTimeout < 10*time.Millisecond || o.OpTimeout > time.Hour {
		return fmt.Errorf("--op-timeout %s is out of range: give 10ms to 1h", o.OpTimeout)
	}
	return nil
}
