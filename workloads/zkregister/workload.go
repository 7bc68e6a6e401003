package zkregister

import (
	"context"
	"fmt"
	"log/slog"
	"path"
	"time"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/workloads"
	"github.com/go-zookeeper/zk"
)

// root is the znode under which the registers live.
const root = "/faultline/registers"

// Definition registers zk-register.
var Definition = workloads.Definition{
	Name:    "zk-register",
	Summary: "znodes read, written and compare-and-set on their version by many sessions",
	Help: `znodes read, written and compare-and-set on their version by many
sessions; checked for what ZooKeeper promises: linearizable
writes, sequential consistency per session (zxid order), and
linearizable reads (required with --reads quorum or
--consistency linearizable, a finding otherwise).`,
	NewOptions: func() workloads.Options { return DefaultOptions() },
	New: func(env workloads.Env, o workloads.Options) (workloads.Workload, error) {
		return New(env.Cluster, *o.(*Options), env.Seed, env.Log)
	},
	Roles:      []cluster.Role{cluster.RoleZooKeeper},
	KafkaNodes: 0, // ZooKeeper alone: brokers would only take CPU from it
	LegacyKey:  "zk_register",
}

// Workload is the zk-register workload on one cluster.
type Workload struct {
	opts  Options
	c     cluster.Cluster
	log   *slog.Logger
	gen   *generator
	admin *zk.Conn // the workload's own session: makes keys, not part of the history
}

// New makes the workload for cluster c. The seed drives the generator.
func New(c cluster.Cluster, o Options, seed uint64, log *slog.Logger) (*Workload, error) {
	o.Defaults()
	if err := o.Validate(workloads.ClusterShape{ZooKeepers: len(c.ZooKeepers()), Brokers: len(c.Brokers())}); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Workload{opts: o, c: c, log: log, gen: newGenerator(seed, o)}, nil
}

var _ workloads.Workload = (*Workload)(nil)

func (w *Workload) servers() []string {
	var s []string
	for _, n := range w.c.ZooKeepers() {
		s = append(s, n.ClientAddr())
	}
	return s
}

// Setup makes /faultline/registers.
func (w *Workload) Setup(ctx context.Context) error {
	conn, err := cluster.ConnectZooKeeper(w.c.Dial, w.servers(), w.opts.SessionTimeout, w.log)
	if err != nil {
		return err
	}
	w.admin = conn
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for _, p := range []string{"/faultline", root} {
		if err := w.create(ctx, p, nil); err != nil {
			return fmt.Errorf("zk-register setup (ZooKeeper did not take a create within a minute): %w", err)
		}
	}
	return nil
}

// create makes a persistent znode, retrying until ctx ends; an existing
// node counts as made (an earlier try may have made it).
func (w *Workload) create(ctx context.Context, p string, data []byte) error {
	return cluster.CreateZNode(ctx, w.admin, p, data, w.opts.OpTimeout, w.log)
}

// Next returns the next op; a fresh key's znode is made (value 0, version
// 0) before any op on it is handed out.
func (w *Workload) Next(ctx context.Context, p history.Process) (history.Op, error) {
	return w.gen.next(func(key string) error {
		return w.create(ctx, path.Join(root, key), encodeData(0))
	})
}

// Completed learns versions from ok ops, so compare-and-sets aim close.
func (w *Workload) Completed(op history.Op) {
	if op.Type != history.OK {
		return
	}
	var r readResult // every ok value has a version
	if err := jsonUnmarshal(op.Value, &r); err == nil {
		w.gen.observe(r.Version, op.Key)
	}
}

// Client opens a session for process p on one server; processes are spread
// over the servers in turn.
func (w *Workload) Client(ctx context.Context, p history.Process) (workloads.Client, error) {
	zks := w.c.ZooKeepers()
	node := zks[int(p)%len(zks)]
	conn, err := cluster.ConnectZooKeeper(workloads.DialFor(w.c, p), []string{node.ClientAddr()}, w.opts.SessionTimeout, w.log)
	if err != nil {
		return nil, err
	}
	return &client{conn: conn, node: node.Name(), reads: w.opts.Reads, timeout: w.opts.OpTimeout}, nil
}

// FinalReads reads every key ever used on every server, each server
// through a fresh session of its own with quorum reads, retrying a read
// that did not complete. Each read's invocation is marked {"final":true}
// and its completion names the server: the checkers hold every server to
// the last acknowledged write of each key, so a server that lost writes
// others kept is caught whichever server a worker happened to use.
func (w *Workload) FinalReads(ctx context.Context, rec workloads.Recorder) error {
	keys := w.gen.keys()
	for _, node := range w.c.ZooKeepers() {
		if err := w.finalReadsOn(ctx, rec, node, keys); err != nil {
			return err
		}
	}
	return nil
}

// finalMark marks a final read's invocation.
var finalMark = mustJSON(struct {
	Final bool `json:"final"`
}{true})

// finalReadsOn reads keys on one server.
func (w *Workload) finalReadsOn(ctx context.Context, rec workloads.Recorder, node cluster.Node, keys []string) error {
	var c *client
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	var p history.Process
	for _, key := range keys {
		for attempt := 0; ; attempt++ {
			if c == nil {
				p = rec.NewProcess()
				conn, err := cluster.ConnectZooKeeper(w.c.Dial, []string{node.ClientAddr()}, w.opts.SessionTimeout, w.log)
				if err != nil {
					return err
				}
				// Quorum reads: the final reads are linearizable by
				// ZooKeeper's promise, not by the hope that a healed
				// cluster serves no stale reads.
				c = &client{conn: conn, node: node.Name(), reads: ReadQuorum, timeout: w.opts.OpTimeout}
			}
			done, err := rec.Record(ctx, p, c, history.Op{Type: history.Invoke, F: "read", Key: key, Value: finalMark})
			if err != nil {
				return err
			}
			if done.Type == history.OK {
				break
			}
			if done.Type == history.Info {
				c.Close() // the process is retired with its session
				c = nil
			}
			if attempt >= 10 || ctx.Err() != nil {
				return fmt.Errorf("final read of %s on %s did not complete after %d attempts: %s", key, node.Name(), attempt+1, done.Error)
			}
		}
	}
	return nil
}

// Topic is empty: zk-register has no Kafka topic.
func (w *Workload) Topic() string { return "" }

// Details describe a zk-register run.
type Details struct {
	Reads       ReadMode `json:"reads"`
	Consistency string   `json:"consistency"`
	Keys        int      `json:"keys"`
	OpsPerKey   int      `json:"ops_per_key"`
	KeysUsed    int      `json:"keys_used"`
}

// Details describe the run in results.
func (w *Workload) Details() any {
	consistency := w.opts.Consistency
	if consistency == "" {
		consistency, _ = checker.ZKRegisterConsistency(string(w.opts.Reads))
	}
	return Details{Reads: w.opts.Reads, Consistency: consistency, Keys: w.opts.Keys, OpsPerKey: w.opts.OpsPerKey, KeysUsed: len(w.gen.keys())}
}

// Close closes the workload's own session.
func (w *Workload) Close() error {
	if w.admin != nil {
		closeInBackground(w.admin)
	}
	return nil
}
