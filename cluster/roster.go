package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
)

// BackendNode is a Node as its backend knows it: besides the verbs, what
// its server process is doing, which only the backend can say.
type BackendNode interface {
	Node
	// Process says what the node's server process is doing now.
	Process(ctx context.Context) NodeProcess
	// ExitedOnStart, asked of a node that was started, says why its
	// server is gone when its process has ended (the error's text is the
	// reason); nil while it runs.
	ExitedOnStart(ctx context.Context) error
}

// Roster is the part of a Cluster every backend answers the same way from
// a run's nodes and client hosts and a way to dial them: lookups by name
// and role, status and health, who leads, and the harness's own ZooKeeper
// session those questions go through. A backend embeds one, made by
// NewRoster once its nodes and hosts exist, and adds the rest.
type Roster struct {
	runID string
	kraft bool
	nodes []BackendNode
	hosts []ClientHost
	dial  DialFunc
	log   *slog.Logger

	// prepare, when set, readies the nodes of a role before StartAll
	// starts them (see SetPrepare).
	prepare func(ctx context.Context, role Role) error

	mu     sync.Mutex // guards zkConn
	zkConn *zk.Conn
}

// SetPrepare makes StartAll call prepare for each role before it starts
// that role's nodes: for KRaft controllers before they start, for the
// brokers while the controllers start (a KRaft node's storage must be
// formatted before it starts, and the brokers' format need not wait).
func (r *Roster) SetPrepare(prepare func(ctx context.Context, role Role) error) { r.prepare = prepare }

// prepareRole runs prepare for role in the background; the channel gives
// its result.
func (r *Roster) prepareRole(ctx context.Context, role Role) <-chan error {
	done := make(chan error, 1)
	if r.prepare == nil {
		done <- nil
		return done
	}
	go func() { done <- r.prepare(ctx, role) }()
	return done
}

// NewRoster makes the roster of run runID: its nodes (ZooKeeper nodes
// first), its client hosts, the dial function the harness reaches them
// with (Cluster.Dial), whether it runs in KRaft mode, and where it logs.
func NewRoster[N BackendNode, H ClientHost](runID string, kraft bool, nodes []N, hosts []H, dial DialFunc, log *slog.Logger) *Roster {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Roster{runID: runID, kraft: kraft, dial: dial, log: log}
	for _, n := range nodes {
		r.nodes = append(r.nodes, n)
	}
	for _, h := range hosts {
		r.hosts = append(r.hosts, h)
	}
	return r
}

// Nodes lists every node, ZooKeeper nodes first.
func (r *Roster) Nodes() []Node {
	nodes := make([]Node, len(r.nodes))
	for i, n := range r.nodes {
		nodes[i] = n
	}
	return nodes
}

// Node finds a node by name.
func (r *Roster) Node(name string) (Node, bool) {
	for _, n := range r.nodes {
		if n.Name() == name {
			return n, true
		}
	}
	return nil, false
}

// ZooKeepers lists the ZooKeeper nodes.
func (r *Roster) ZooKeepers() []Node { return r.byRole(RoleZooKeeper) }

// Brokers lists the Kafka brokers.
func (r *Roster) Brokers() []Node { return r.byRole(RoleKafka) }

func (r *Roster) byRole(role Role) []Node {
	var nodes []Node
	for _, n := range r.nodes {
		if n.Role() == role {
			nodes = append(nodes, n)
		}
	}
	return nodes
}

// ClientHosts lists the run's client hosts.
func (r *Roster) ClientHosts() []ClientHost {
	return append([]ClientHost(nil), r.hosts...)
}

// brokerAddrs lists the brokers' client addresses.
func (r *Roster) brokerAddrs() []string {
	var addrs []string
	for _, b := range r.Brokers() {
		addrs = append(addrs, b.ClientAddr())
	}
	return addrs
}

// StartAll starts every node and returns once the cluster is healthy
// (WaitHealthy). ZooKeeper comes first, and serves before anything else
// starts: brokers in ZooKeeper mode register there. Dedicated controllers
// come next, and the brokers once the controllers listen: six JVMs
// starting at once on two cores slow each other, and the quorum elects
// sooner with the cores to itself.
func (r *Roster) StartAll(ctx context.Context) error {
	if err := r.startRole(ctx, RoleZooKeeper); err != nil {
		return err
	}
	if len(r.ZooKeepers()) > 0 {
		if err := r.waitFor(ctx, RoleZooKeeper); err != nil {
			return err
		}
	}
	if err := <-r.prepareRole(ctx, RoleController); err != nil {
		return err
	}
	if err := r.startRole(ctx, RoleController); err != nil {
		return err
	}
	brokersReady := r.prepareRole(ctx, RoleKafka)
	if err := r.waitListening(ctx, RoleController); err != nil {
		<-brokersReady
		return err
	}
	if err := <-brokersReady; err != nil {
		return err
	}
	if err := r.startRole(ctx, RoleKafka); err != nil {
		return err
	}
	return r.WaitHealthy(ctx)
}

// startRole starts the nodes of role, one after another.
func (r *Roster) startRole(ctx context.Context, role Role) error {
	for _, n := range r.nodes {
		if n.Role() == role {
			r.log.Info("starting node", "node", n.Name())
			if err := n.Start(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// zk returns the harness's own ZooKeeper session, made on first use.
func (r *Roster) zk() (*zk.Conn, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.zkConn != nil {
		return r.zkConn, nil
	}
	var servers []string
	for _, n := range r.ZooKeepers() {
		servers = append(servers, n.ClientAddr())
	}
	conn, err := ConnectZooKeeper(r.dial, servers, 10*time.Second, r.log)
	if err != nil {
		return nil, err
	}
	r.zkConn = conn
	return conn, nil
}

// zkIfAny is the harness's ZooKeeper session when the run has ZooKeeper
// nodes, else nil.
func (r *Roster) zkIfAny() (*zk.Conn, error) {
	if len(r.ZooKeepers()) == 0 {
		return nil, nil
	}
	return r.zk()
}

// CloseZooKeeper closes the harness's ZooKeeper session, if one was made.
// A nil roster (a run that failed before it had one) has none.
func (r *Roster) CloseZooKeeper() {
	if r == nil {
		return
	}
	r.mu.Lock()
	conn := r.zkConn
	r.zkConn = nil
	r.mu.Unlock()
	if conn != nil {
		conn.Close()
	}
}

func (r *Roster) processes(ctx context.Context) []NodeProcess {
	procs := make([]NodeProcess, len(r.nodes))
	for i, n := range r.nodes {
		procs[i] = n.Process(ctx)
	}
	return procs
}

// Status asks every node what it is doing now.
func (r *Roster) Status(ctx context.Context) (Status, error) {
	conn, err := r.zkIfAny()
	if err != nil {
		return Status{}, err
	}
	return QueryStatus(ctx, r.runID, r.processes(ctx), r.dial, conn), nil
}

// WaitHealthy waits until every node serves (see Cluster.WaitHealthy).
func (r *Roster) WaitHealthy(ctx context.Context) error { return r.waitFor(ctx, "") }

// exitedOnStart is the error of the first node of role (every node when
// role is empty) whose server has exited since it was started.
func (r *Roster) exitedOnStart(ctx context.Context, role Role) error {
	for _, n := range r.nodes {
		if role != "" && n.Role() != role {
			continue
		}
		if err := n.ExitedOnStart(ctx); err != nil {
			return &NodeError{Node: n.Name(), Err: err, LogFile: n.LogFile()}
		}
	}
	return nil
}

// waitFor polls until the nodes of role (every node when role is empty)
// serve. A node whose server exits fails it at once; when ctx ends first,
// the error names the node that was not healthy.
func (r *Roster) waitFor(ctx context.Context, role Role) error {
	conn, err := r.zkIfAny()
	if err != nil {
		return err
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := r.exitedOnStart(ctx, role); err != nil {
			return err
		}
		st := QueryStatus(ctx, r.runID, r.processes(ctx), r.dial, conn)
		if role == RoleZooKeeper {
			st.Controller = 0 // brokers are not asked about yet
			st.Nodes = onlyRole(st.Nodes, RoleZooKeeper)
		}
		ok, why := st.Healthy()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			name, _, _ := strings.Cut(why, ":")
			var logFile string
			if n, found := r.Node(name); found {
				logFile = n.LogFile()
			}
			return &NodeError{Node: name, Err: fmt.Errorf("not healthy in time (%s)", why), LogFile: logFile}
		case <-tick.C:
		}
	}
}

func onlyRole(nodes []NodeStatus, role Role) []NodeStatus {
	var out []NodeStatus
	for _, n := range nodes {
		if n.Role == role {
			out = append(out, n)
		}
	}
	return out
}

// waitListening waits until every node of role accepts connections on
// its client address. A node of role whose server exits fails it at once.
func (r *Roster) waitListening(ctx context.Context, role Role) error {
	for _, n := range r.nodes {
		if n.Role() != role {
			continue
		}
		for {
			if err := r.exitedOnStart(ctx, role); err != nil {
				return err
			}
			pctx, cancel := context.WithTimeout(ctx, time.Second)
			conn, err := r.dial(pctx, "tcp", n.ClientAddr())
			cancel()
			if err == nil {
				conn.Close()
				break
			}
			select {
			case <-ctx.Done():
				return &NodeError{Node: n.Name(), Err: fmt.Errorf("not listening in time (%v)", err), LogFile: n.LogFile()}
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

// ZooKeeperLeader is the ZooKeeper node that says it leads.
func (r *Roster) ZooKeeperLeader(ctx context.Context) (Node, error) {
	return ZooKeeperLeaderOf(ctx, r.ZooKeepers(), r.dial)
}

// KafkaController is the node acting as the Kafka controller: in KRaft
// mode the node the quorum names as its leader, in ZooKeeper mode the
// broker /controller names.
func (r *Roster) KafkaController(ctx context.Context) (Node, error) {
	if r.kraft {
		cl, err := KafkaAdmin(r.dial, r.brokerAddrs())
		if err != nil {
			return nil, err
		}
		defer cl.Close()
		return KRaftLeaderOf(ctx, cl, r.Nodes())
	}
	conn, err := r.zk()
	if err != nil {
		return nil, err
	}
	return KafkaControllerOf(ctx, conn, r.Brokers())
}

// PartitionLeaders maps each partition of topic to its leader: in KRaft
// mode as a broker's metadata says, in ZooKeeper mode as the controller
// records it there.
func (r *Roster) PartitionLeaders(ctx context.Context, topic string) (map[int32]Node, error) {
	if r.kraft {
		cl, err := KafkaAdmin(r.dial, r.brokerAddrs())
		if err != nil {
			return nil, err
		}
		defer cl.Close()
		return PartitionLeadersFromMetadata(ctx, cl, r.Brokers(), topic)
	}
	conn, err := r.zk()
	if err != nil {
		return nil, err
	}
	return PartitionLeadersOf(ctx, conn, r.Brokers(), topic)
}
