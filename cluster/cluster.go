package cluster

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/faultline/faultline/netfault"
	"github.com/spf13/pflag"
)

// Role says what kind of server a node runs.
type Role string

// The roles a node can have.
const (
	RoleZooKeeper Role = "zookeeper"
	RoleKafka     Role = "kafka"
	// RoleController is a dedicated KRaft controller.
	RoleController Role = "controller"
	// RoleClient is a client host (see ClientHost): no server runs
	// there, but partitions can cut it off.
	RoleClient Role = "client"
)

// Node is one server of the cluster. The verbs act on the server process and
// return once the signal is delivered (or, for Start and Restart, once the
// process is running; use Cluster.WaitHealthy to wait until it serves).
type Node interface {
	// Name is the node's name: zk1.., kafka1...
	Name() string
	// Role is what the node runs.
	Role() Role
	// ID is the node's number within its role (ZooKeeper myid, Kafka broker.id).
	ID() int
	// Addr is the node's address on the run's private network.
	Addr() netip.Addr
	// ClientAddr is where clients connect (host:port).
	ClientAddr() string
	// Spec is the node as planned: name, role, id, address, and whether
	// a broker is a KRaft controller too.
	Spec() NodeSpec
	// LogFile is the server's log, a file on this machine (a backend that
	// keeps it elsewhere copies it there).
	LogFile() string
	// Network is the node's network: the capability network faults go
	// through. Nil where the backend cannot change a node's network.
	Network() Network

	// Start starts the server when it is not running.
	Start(ctx context.Context) error
	// Stop sends SIGTERM and waits for the process to exit (SIGKILL when ctx ends first).
	Stop(ctx context.Context) error
	// Kill sends SIGKILL and waits for the process to exit.
	Kill(ctx context.Context) error
	// Pause stops the process (SIGSTOP, or a Freezer's cgroup freeze) and
	// returns once it is stopped.
	Pause(ctx context.Context) error
	// Resume continues a paused process (SIGCONT, or a Freezer's thaw).
	Resume(ctx context.Context) error
	// Restart stops the server (SIGTERM) if it runs and starts it again with its data.
	Restart(ctx context.Context) error
	// Running reports whether the server process is alive (paused counts as alive).
	Running() bool
}

// Freezer is implemented by nodes that pause by freezing their cgroup
// (docker pause) rather than by sending SIGSTOP, and resume by thawing it:
// the history says which the process went through. A frozen process gets
// no signal and so cannot tell it was paused.
type Freezer interface {
	Freezes() bool
}

// Network changes what a node's network does. Every change replaces the
// one of its kind before; a node whose network is gone (torn down) counts
// as cleared. A backend keeps the faults in place across a node's restart.
type Network interface {
	// Drop makes the node drop every inbound packet from the addresses
	// (peers' node addresses; never the harness's), replacing the drops
	// before; none clears them.
	Drop(ctx context.Context, from []netip.Addr) error
	// ShapePackets shapes every packet the node sends after p, replacing
	// the shaping before, and says how ("netem", or "nfqueue" where the
	// kernel has no netem); seed seeds the random choices a userspace
	// shaper makes.
	ShapePackets(ctx context.Context, p netfault.Packet, seed uint64) (string, error)
	// ClearPackets removes the shaping.
	ClearPackets(ctx context.Context) error
}

// Cluster is a running set of nodes.
type Cluster interface {
	// ID is the run's tag; it names what the backend made for the run.
	ID() string
	// Nodes lists every node, ZooKeeper nodes first.
	Nodes() []Node
	// Node finds a node by name.
	Node(name string) (Node, bool)
	// ZooKeepers lists the ZooKeeper nodes.
	ZooKeepers() []Node
	// Brokers lists the Kafka brokers.
	Brokers() []Node
	// Dial opens a connection to a node address from the harness's side of
	// the run's network. Pass it to clients as their dialer.
	Dial(ctx context.Context, network, address string) (net.Conn, error)
	// Status asks every node what it is doing now.
	Status(ctx context.Context) (Status, error)
	// WaitHealthy waits until every ZooKeeper node serves as leader or
	// follower, every broker is registered and a controller is elected.
	WaitHealthy(ctx context.Context) error
	// Close stops every process and removes everything the run made.
	Close(ctx context.Context) error
	// Versions reports the server versions in use.
	Versions() Versions
	// ClientHosts lists the hosts clients run on (c1..cN, Options.
	// ClientHosts), each with its own address on the run's network; none
	// means clients connect from the harness's side (Dial), which no fault
	// cuts.
	ClientHosts() []ClientHost

	// Leaders answers "who leads?" from the cluster's own word.
	Leaders
}

// ClientHost is a host of the run's network that client processes run
// on: its own address, so that partitions can cut clients off from
// servers as they cut servers from each other. Workloads dial through it
// (see workloads.DialFor).
type ClientHost interface {
	// Name is the host's name: c1, c2, ...
	Name() string
	// Addr is its address on the run's network.
	Addr() netip.Addr
	// Dial opens a connection from the host to a node address.
	Dial(ctx context.Context, network, address string) (net.Conn, error)
	// Network is the host's network, as a node's (drops it takes).
	Network() Network
}

// Leaders are the questions of who leads, which only the cluster can
// answer (a nemesis aiming at a leader asks them).
type Leaders interface {
	// ZooKeeperLeader is the ZooKeeper node that says it leads.
	ZooKeeperLeader(ctx context.Context) (Node, error)
	// KafkaController is the broker acting as the Kafka controller.
	KafkaController(ctx context.Context) (Node, error)
	// PartitionLeaders maps each partition of topic to its leader, as the
	// controller records it; a partition without a leader is left out.
	PartitionLeaders(ctx context.Context, topic string) (map[int32]Node, error)
}

// Versions names the server versions of a cluster.
type Versions struct {
	Kafka     string `json:"kafka"`
	ZooKeeper string `json:"zookeeper"`
}

// Backend makes clusters of one kind: the local backend's JVMs in network
// namespaces, Docker containers. A backend is chosen by name and owns its
// own options (BackendOptions), besides the Options every backend takes.
type Backend interface {
	// Name is what --backend calls it, e.g. "local".
	Name() string
	// Summary says in a line what the backend is.
	Summary() string
	// NewOptions returns the backend's own options at their defaults.
	NewOptions() BackendOptions
	// Preflight checks that this machine can run a cluster of o before
	// anything is made: root, tools, the servers' distribution. Its
	// errors say what to do.
	Preflight(ctx context.Context, o Options) error
	// Up brings a cluster up and returns it once it is healthy (see
	// Cluster.WaitHealthy), or fails, having removed what it made.
	Up(ctx context.Context, o Options) (Cluster, error)
	// Status describes a run from another process; an empty id means the
	// only run there is.
	Status(ctx context.Context, id string) (Status, error)
	// Exec runs a command on a node of a run, with the run's tools on its
	// PATH, and returns its exit code.
	Exec(ctx context.Context, id, node string, argv []string, o ExecOptions) (int, error)
	// Down removes a run, also after its harness died; with an empty id,
	// every run whose harness is dead, and live ones too when all is set.
	Down(ctx context.Context, id string, all bool) (removed, live []string, err error)
}

// BackendOptions are a backend's own options.
type BackendOptions interface {
	// Flags binds the options to command-line flags.
	Flags(fs *pflag.FlagSet)
	// Validate checks the options; its errors name the flag and the fix.
	Validate() error
}

// DecodeBackendOptions reads a backend's options as Options.Backend
// records them, over the backend's defaults.
func DecodeBackendOptions(b Backend, raw json.RawMessage) (BackendOptions, error) {
	bo := b.NewOptions()
	if len(raw) == 0 || string(raw) == "null" {
		return bo, nil
	}
	if err := json.Unmarshal(raw, bo); err != nil {
		return nil, err
	}
	return bo, nil
}

// ExecOptions are where a command run by Exec reads and writes.
type ExecOptions struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Timeouts used by the verbs when the caller gives no deadline.
const (
	DefaultStopGrace = 30 * time.Second
)
