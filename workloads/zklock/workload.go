package zklock

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/nemesis"
	"github.com/faultline/faultline/workloads"
	"github.com/go-zookeeper/zk"
)

// Definition registers zk-lock.
var Definition = workloads.Definition{
	Name:    "zk-lock",
	Summary: "processes contend for locks made with ZooKeeper's lock recipe and write the resources they protect",
	Help: `processes contend for locks made with ZooKeeper's lock recipe
(ephemeral sequential nodes; the lowest holds) and write the
resource each protects while they hold it; checked for split
brains, fencing violations, stale writes, double grants and
leaked lock nodes. --locks (3), --lock-client naive|careful|
fenced (careful: a disconnected or expired session loses the
lock; naive ignores it; fenced ignores it too, but the
resource refuses older tokens), --writes-per-hold (3), --hold (200ms, the pause
after each write), --lock-session-timeout (6s), --op-timeout
(10s, an acquire's wait included).`,
	NewOptions: func() workloads.Options { return DefaultOptions() },
	New: func(env workloads.Env, o workloads.Options) (workloads.Workload, error) {
		return New(env.Cluster, *o.(*Options), env.Seed, env.Log)
	},
	Roles:      []cluster.Role{cluster.RoleZooKeeper},
	KafkaNodes: 0, // ZooKeeper alone
}

// Workload is the zk-lock workload on one cluster.
type Workload struct {
	opts Options
	log  *slog.Logger
	dial dialer
	gen  *generator
	// finalWait is how long FinalReads waits before it reads: the
	// session timeout and the lock checker's margin, so that every
	// session that ended before it was called has ended in ZooKeeper too.
	finalWait time.Duration

	// hostOf names the client host a process dials from ("" for the
	// harness's side).
	hostOf func(history.Process) string

	mu      sync.Mutex
	clients map[history.Process]*client // the workers' open clients
	admin   zkConn                      // the workload's own session: makes the znodes, not part of the history
}

// New makes the workload for cluster c. The seed drives the generator.
func New(c cluster.Cluster, o Options, seed uint64, log *slog.Logger) (*Workload, error) {
	o.Defaults()
	if err := o.Validate(workloads.ClusterShape{ZooKeepers: len(c.ZooKeepers()), Brokers: len(c.Brokers())}); err != nil {
		return nil, err
	}
	w := newWorkload(o, seed, clusterDialer{c: c, timeout: o.SessionTimeout, log: log}, log)
	w.hostOf = func(p history.Process) string { return workloads.HostFor(c, p) }
	return w, nil
}

func newWorkload(o Options, seed uint64, d dialer, log *slog.Logger) *Workload {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Workload{opts: o, log: log, dial: d, gen: newGenerator(seed, o.Locks),
		hostOf:    func(history.Process) string { return "" },
		finalWait: o.SessionTimeout + checker.LockLeakMargin + time.Second,
		clients:   map[history.Process]*client{}}
}

var _ workloads.Workload = (*Workload)(nil)

// dialer opens the workload's ZooKeeper sessions; tests give a fake.
type dialer interface {
	// worker opens process p's session, on one server, and names the
	// server; onEvent gets the session's events.
	worker(p history.Process, onEvent func(zk.Event)) (zkConn, string, error)
	// ensemble opens a session on any server, from the harness's side.
	ensemble() (zkConn, error)
}

// clusterDialer opens sessions on the cluster's ZooKeeper servers.
type clusterDialer struct {
	c       cluster.Cluster
	timeout time.Duration
	log     *slog.Logger
}

// worker puts process p on server p mod the servers, dialing from p's
// client host when the cluster has client hosts.
func (d clusterDialer) worker(p history.Process, onEvent func(zk.Event)) (zkConn, string, error) {
	zks := d.c.ZooKeepers()
	node := zks[int(p)%len(zks)]
	conn, err := cluster.ConnectZooKeeperWatching(workloads.DialFor(d.c, p), []string{node.ClientAddr()}, d.timeout, d.log, onEvent)
	if err != nil {
		return nil, "", err
	}
	return conn, node.Name(), nil
}

func (d clusterDialer) ensemble() (zkConn, error) {
	var servers []string
	for _, n := range d.c.ZooKeepers() {
		servers = append(servers, n.ClientAddr())
	}
	conn, err := cluster.ConnectZooKeeper(d.c.Dial, servers, d.timeout, d.log)
	if err != nil {
		return nil, err
	}
	return conn, nil
}

// Setup makes every lock's znode and every resource, the resource holding
// token 0.
func (w *Workload) Setup(ctx context.Context) error {
	conn, err := w.dial.ensemble()
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.admin = conn
	w.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	paths := []string{"/faultline", locksRoot, resourcesRoot}
	for i := range w.opts.Locks {
		paths = append(paths, path.Join(locksRoot, lockName(i)), path.Join(resourcesRoot, lockName(i)))
	}
	initial := mustJSON(writeValue{})
	for _, p := range paths {
		var data []byte
		if path.Dir(p) == resourcesRoot {
			data = initial
		}
		if err := cluster.CreateZNode(ctx, conn, p, data, w.opts.OpTimeout, w.log); err != nil {
			return fmt.Errorf("zk-lock setup (ZooKeeper did not take a create within a minute): %w", err)
		}
	}
	return nil
}

// Client opens process p's session, on server p mod the servers. ctx is
// the worker's: the runner ends it when the workload stops, and the client
// grants no lock after that (see client.acquire).
func (w *Workload) Client(ctx context.Context, p history.Process) (workloads.Client, error) {
	c := newClient(w.opts.Client, w.opts, ctx)
	conn, node, err := w.dial.worker(p, c.sessionEvent)
	if err != nil {
		return nil, err
	}
	c.conn, c.node = conn, node
	c.onClose = func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.clients[p] == c {
			delete(w.clients, p)
		}
	}
	w.mu.Lock()
	w.clients[p] = c
	w.mu.Unlock()
	return c, nil
}

// Next returns process p's next op, as its client decides it (see
// client.next): an acquire, a write or the release of a lock it holds, or
// a lose op as soon as a careful client's session was disconnected or
// expired. A lose op goes into the history as every op does: the runner
// invokes it through the process's client (Invoke completes it ok at once)
// and records both ends. Next blocks for the pause between writes, waking
// early for a session event, until ctx ends.
func (w *Workload) Next(ctx context.Context, p history.Process) (history.Op, error) {
	w.mu.Lock()
	c := w.clients[p]
	w.mu.Unlock()
	if c == nil {
		return history.Op{}, fmt.Errorf("zk-lock: process %d has no open client", p)
	}
	return c.next(ctx, w.gen)
}

// Completed has nothing to learn: each client keeps its own state.
func (w *Workload) Completed(history.Op) {}

// Topic is empty: zk-lock has no Kafka topic.
func (w *Workload) Topic() string { return "" }

// Details describe a zk-lock run.
type Details struct {
	Client           ClientKind `json:"lock_client"`
	Locks            int        `json:"locks"`
	WritesPerHold    int        `json:"writes_per_hold"`
	HoldMS           int64      `json:"hold_ms"`
	SessionTimeoutMS int64      `json:"session_timeout_ms"`
}

// Details describe the run in results.
func (w *Workload) Details() any {
	return Details{Client: w.opts.Client, Locks: w.opts.Locks, WritesPerHold: w.opts.WritesPerHold,
		HoldMS: w.opts.Hold.Milliseconds(), SessionTimeoutMS: w.opts.SessionTimeout.Milliseconds()}
}

// Close closes the workload's own session.
func (w *Workload) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.admin != nil {
		go w.admin.Close()
		w.admin = nil
	}
	return nil
}

var _ nemesis.WorkloadConditions = (*Workload)(nil)

// Condition answers a scripted schedule's lock-holder condition for client
// host host: one of its processes believes it holds a lock, is in the
// first half of the pause after a write, no call in flight, and has two
// writes or more left (so a cut that starts now finds it idle; with a
// pause longer than the time its client takes to notice a dead
// connection, its next call is refused unsent instead of lost in flight,
// and with a cut shorter than a pause and a half, the write after that
// comes after the heal).
func (w *Workload) Condition(is, host string) (bool, string, error) {
	if is != nemesis.IsLockHolder {
		return false, "", fmt.Errorf("zk-lock answers lock-holder, not %s", is)
	}
	type proc struct {
		p history.Process
		c *client
	}
	var procs []proc
	w.mu.Lock()
	for _, p := range slices.Sorted(maps.Keys(w.clients)) {
		if w.hostOf(p) == host {
			procs = append(procs, proc{p, w.clients[p]})
		}
	}
	w.mu.Unlock()
	var seen []string
	for _, pc := range procs {
		ok, what := pc.c.holdingIdle()
		if ok {
			return true, fmt.Sprintf("process %d on %s %s", pc.p, host, what), nil
		}
		seen = append(seen, fmt.Sprintf("process %d %s", pc.p, what))
	}
	if len(seen) == 0 {
		return false, "no process runs on " + host, nil
	}
	return false, strings.Join(seen, "; "), nil
}
