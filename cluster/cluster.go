package cluster

import (
	"context"
	"net"
	"net/netip"
	"time"
)

// Role says what kind of server a node runs.
type Role string

// The roles a node can have.
const (
	RoleZooKeeper Role = "zookeeper"
	RoleKafka     Role = "kafka"
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
	// PID is the server's process id, 0 when it is not running.
	PID() int
	// DataDir holds the node's persistent data; it survives Restart.
	DataDir() string
	// LogFile is the server's log.
	LogFile() string
	// NetNSPath is the path of the node's network namespace file, where a
	// nemesis applies network rules (netns.GetFromPath opens it).
	NetNSPath() string

	// Start starts the server when it is not running.
	Start(ctx context.Context) error
	// Stop sends SIGTERM and waits for the process to exit (SIGKILL when ctx ends first).
	Stop(ctx context.Context) error
	// Kill sends SIGKILL and waits for the process to exit.
	Kill(ctx context.Context) error
	// Pause sends SIGSTOP.
	Pause(ctx context.Context) error
	// Resume sends SIGCONT.
	Resume(ctx context.Context) error
	// Restart stops the server (SIGTERM) if it runs and starts it again with its data.
	Restart(ctx context.Context) error
	// Running reports whether the server process is alive (paused counts as alive).
	Running() bool
}

// Cluster is a running set of nodes.
type Cluster interface {
	// ID is the run's tag; it names the run's namespaces and state file.
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
}

// Versions names the server versions of a cluster.
type Versions struct {
	Kafka     string `json:"kafka"`
	ZooKeeper string `json:"zookeeper"`
}

// Timeouts used by the verbs when the caller gives no deadline.
const (
	defaultStopGrace = 30 * time.Second
)
