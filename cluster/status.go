package cluster

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"
)

// DialFunc opens a connection to a node address.
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// Status is what the nodes of a run say they are doing.
type Status struct {
	Run   string       `json:"run"`
	Nodes []NodeStatus `json:"nodes"`
	// Controller is the node.id (broker.id) of the active controller: the
	// broker /controller names in ZooKeeper mode, the quorum's leader in
	// KRaft mode; -1 when none is.
	Controller int `json:"controller"`
	// Quorum is the KRaft controller quorum, nil in ZooKeeper mode.
	Quorum *Quorum `json:"quorum,omitempty"`
}

// Quorum is what a KRaft controller quorum says of itself (DescribeQuorum).
type Quorum struct {
	// LeaderID is the leader's node.id, -1 when none; LeaderEpoch its epoch.
	LeaderID    int `json:"leader_id"`
	LeaderEpoch int `json:"leader_epoch"`
	// HighWatermark is the metadata log's high watermark.
	HighWatermark int64 `json:"high_watermark"`
	// Voters and Observers (brokers) with how far each is behind the
	// leader's log end, in records.
	Voters    []QuorumMember `json:"voters"`
	Observers []QuorumMember `json:"observers,omitempty"`
	// Error says why the quorum could not be asked.
	Error string `json:"error,omitempty"`
}

// QuorumMember is one replica of the metadata log.
type QuorumMember struct {
	ID  int   `json:"id"`
	Lag int64 `json:"lag"`
}

// NodeStatus describes one node.
type NodeStatus struct {
	Name string `json:"name"`
	Role Role   `json:"role"`
	// ID is the node's node.id for Kafka nodes, its myid for ZooKeeper.
	ID         int    `json:"id"`
	Addr       string `json:"addr"`
	ClientAddr string `json:"client_addr"`
	PID        int    `json:"pid,omitempty"`
	// Process is running, paused (SIGSTOPped, or a frozen container) or down.
	Process string `json:"process"`
	// Mode is a ZooKeeper node's answer to srvr (leader, follower,
	// standalone), or a KRaft controller's place in the quorum (leader,
	// voter); empty when it does not serve.
	Mode string `json:"mode,omitempty"`
	// Registered says whether a broker is registered: listed under
	// /brokers/ids in ZooKeeper mode, registered and unfenced (in the
	// metadata) in KRaft mode.
	Registered bool `json:"registered,omitempty"`
	// Listening says whether a broker accepts connections on its port.
	Listening bool `json:"listening,omitempty"`
	// Controller says whether a broker is the controller.
	Controller bool `json:"controller,omitempty"`
	// Error says why a question to the node went unanswered.
	Error string `json:"error,omitempty"`
}

// Serving reports whether the node does its job now: a ZooKeeper node in
// the quorum, or a registered broker.
func (n NodeStatus) Serving() bool {
	switch n.Role {
	case RoleZooKeeper:
		return n.Mode == "leader" || n.Mode == "follower" || n.Mode == "standalone"
	case RoleController:
		return n.Listening && (n.Mode == "leader" || n.Mode == "voter")
	}
	return n.Registered && n.Listening
}

// Healthy reports whether every node serves, a single ZooKeeper leader
// exists (in an ensemble) and a controller is elected; if not, it says why.
func (s Status) Healthy() (bool, string) {
	leaders, zks := 0, 0
	for _, n := range s.Nodes {
		if !n.Serving() {
			why := n.Error
			if why == "" {
				why = "not serving"
			}
			return false, fmt.Sprintf("%s: %s", n.Name, why)
		}
		if n.Role == RoleZooKeeper {
			zks++
			if n.Mode == "leader" {
				leaders++
			}
		}
	}
	if zks > 1 && leaders != 1 {
		return false, fmt.Sprintf("%d ZooKeeper leaders", leaders)
	}
	if s.Quorum != nil && s.Quorum.LeaderID < 0 {
		why := "the KRaft quorum has no leader"
		if s.Quorum.Error != "" {
			why += " (" + s.Quorum.Error + ")"
		}
		return false, why
	}
	if s.Controller < 0 && len(s.Nodes) > zks {
		return false, "no Kafka controller"
	}
	return true, ""
}

// ZooKeeperMode asks a ZooKeeper server for its mode with the srvr
// four-letter word: leader, follower, standalone, or an error.
func ZooKeeperMode(ctx context.Context, dial DialFunc, addr string) (string, error) {
	s, err := ZooKeeperSrvr(ctx, dial, addr)
	return s.Mode, err
}

// Srvr is what a ZooKeeper server says of itself when asked srvr.
type Srvr struct {
	// Mode is leader, follower, observer, standalone or read-only.
	Mode string
	// Zxid is the last zxid the server has processed; its high 32 bits
	// are the epoch it was made in (Epoch).
	Zxid int64
}

// Epoch is the epoch of the server's last zxid: zxid >> 32.
func (s Srvr) Epoch() int64 { return s.Zxid >> 32 }

// ErrNotServing is srvr's answer from a server that does not serve
// requests now: it is electing a leader, or syncing with the one elected.
var ErrNotServing = errors.New("not currently serving requests")

// ZooKeeperSrvr asks a ZooKeeper server for its mode and last zxid with
// the srvr four-letter word, through a connection of its own that ends
// with ctx (or after 2s). A server that answers that it does not serve
// requests returns ErrNotServing.
func ZooKeeperSrvr(ctx context.Context, dial DialFunc, addr string) (Srvr, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := dial(ctx, "tcp", addr)
	if err != nil {
		return Srvr{}, err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if _, err := io.WriteString(conn, "srvr"); err != nil {
		return Srvr{}, err
	}
	return readSrvr(conn)
}

// readSrvr reads srvr's answer up to its Mode line (the Zxid line comes
// before it).
func readSrvr(r io.Reader) (Srvr, error) {
	var s Srvr
	zxid := false
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "Zxid: "); ok {
			z, err := strconv.ParseInt(strings.TrimSpace(v), 0, 64)
			if err != nil {
				return Srvr{}, fmt.Errorf("srvr gave zxid %q: %w", v, err)
			}
			s.Zxid, zxid = z, true
		}
		if mode, ok := strings.CutPrefix(line, "Mode: "); ok {
			s.Mode = strings.TrimSpace(mode)
			if !zxid {
				return s, errors.New("srvr gave a mode but no zxid")
			}
			return s, nil
		}
		if strings.Contains(line, "not currently serving") {
			return Srvr{}, ErrNotServing
		}
	}
	if err := sc.Err(); err != nil {
		return Srvr{}, err
	}
	return Srvr{}, errors.New("srvr gave no mode")
}

// probePort checks that a TCP connection to addr is accepted.
func probePort(ctx context.Context, dial DialFunc, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := dial(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return conn.Close()
}

// zkDialer adapts a DialFunc to go-zookeeper's dialer.
func zkDialer(dial DialFunc) zk.Dialer {
	return func(network, address string, timeout time.Duration) (net.Conn, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		return dial(ctx, network, address)
	}
}

// ConnectZooKeeper opens a ZooKeeper session through dial. The session
// connects in the background; calls wait for it.
func ConnectZooKeeper(dial DialFunc, servers []string, sessionTimeout time.Duration, log *slog.Logger) (*zk.Conn, error) {
	return ConnectZooKeeperWatching(dial, servers, sessionTimeout, log, nil)
}

// ConnectZooKeeperWatching is ConnectZooKeeper with onEvent called with
// every event of the session (its state changes: disconnected, expired,
// has a session, ...), unless it is nil. go-zookeeper calls it from its own
// goroutines, in order, and waits for it: it must not block. (The event
// channel zk.Connect returns drops events nobody reads at once; the
// callback misses none.)
func ConnectZooKeeperWatching(dial DialFunc, servers []string, sessionTimeout time.Duration, log *slog.Logger, onEvent func(zk.Event)) (*zk.Conn, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	conn, _, err := zk.Connect(servers, sessionTimeout,
		zk.WithDialer(zkDialer(dial)),
		zk.WithLogger(zkLogger{log}),
		zk.WithLogInfo(false),
		zk.WithEventCallback(onEvent))
	if err != nil {
		return nil, fmt.Errorf("connect to ZooKeeper %s: %w", strings.Join(servers, ","), err)
	}
	return conn, nil
}

type zkLogger struct{ log *slog.Logger }

func (l zkLogger) Printf(format string, args ...any) {
	l.log.Debug(fmt.Sprintf(format, args...), "client", "zookeeper")
}

// CallZK runs a go-zookeeper call until ctx ends: its calls have no
// deadline of their own. When ctx ends first, the call goes on in the
// background, its result dropped, and CallZK returns ctx's error.
func CallZK[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := fn()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// ZNodeCreator is what CreateZNode uses of a ZooKeeper session (*zk.Conn).
type ZNodeCreator interface {
	Create(path string, data []byte, flags int32, acl []zk.ACL) (string, error)
}

// CreateZNode makes the persistent znode p holding data, each try bounded
// by tryTimeout, trying again a moment later until ctx ends; a znode that
// exists counts as made (an earlier try may have made it).
func CreateZNode(ctx context.Context, conn ZNodeCreator, p string, data []byte, tryTimeout time.Duration, log *slog.Logger) error {
	for {
		tctx, cancel := context.WithTimeout(ctx, tryTimeout)
		_, err := CallZK(tctx, func() (string, error) { return conn.Create(p, data, 0, zk.WorldACL(zk.PermAll)) })
		cancel()
		if err == nil || errors.Is(err, zk.ErrNodeExists) {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("create %s: %w", p, err)
		}
		if log != nil {
			log.Debug("create znode failed, retrying", "path", p, "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// NodeProcess is what a backend knows of a node's server process.
type NodeProcess struct {
	NodeSpec
	// PID is the server's process id where the backend has one, else 0.
	PID int
	// Process is running, paused or down.
	Process string
}

// The states of NodeProcess.Process.
const (
	ProcessRunning = "running"
	ProcessPaused  = "paused"
	ProcessDown    = "down"
)

// QueryStatus asks every node of a run what it is doing; the backend says
// what each node's process is doing. zkConn may be nil: then broker
// registration and the controller are not known.
func QueryStatus(ctx context.Context, runID string, nodes []NodeProcess, dial DialFunc, zkConn *zk.Conn) Status {
	st := Status{Run: runID, Controller: -1}
	for _, n := range nodes {
		ns := NodeStatus{Name: n.Name, Role: n.Role, ID: n.KafkaNodeID(), Addr: n.Addr.String(), ClientAddr: n.ClientAddr(), Process: n.Process, PID: n.PID}
		if ns.Process == "" {
			ns.Process = ProcessDown
		}
		switch {
		case ns.Process != "running":
			ns.Error = "process " + ns.Process
		case n.Role == RoleZooKeeper:
			if mode, err := ZooKeeperMode(ctx, dial, n.ClientAddr()); err != nil {
				ns.Error = err.Error()
			} else {
				ns.Mode = mode
			}
		default:
			// A broker registers before it accepts requests.
			if err := probePort(ctx, dial, n.ClientAddr()); err != nil {
				ns.Error = err.Error()
			} else {
				ns.Listening = true
			}
		}
		st.Nodes = append(st.Nodes, ns)
	}
	if kraft(nodes) {
		queryKRaft(ctx, &st, nodes, dial)
		return st
	}
	if zkConn == nil {
		return st
	}
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ids, err := CallZK(qctx, func() ([]string, error) {
		ids, _, err := zkConn.Children("/brokers/ids")
		return ids, err
	})
	registered := map[string]bool{}
	for _, id := range ids {
		registered[id] = true
	}
	if data, err := CallZK(qctx, func() ([]byte, error) {
		data, _, err := zkConn.Get("/controller")
		return data, err
	}); err == nil {
		var c struct {
			BrokerID int `json:"brokerid"`
		}
		if json.Unmarshal(data, &c) == nil {
			st.Controller = c.BrokerID
		}
	}
	for i, n := range nodes {
		if n.Role != RoleKafka {
			continue
		}
		ns := &st.Nodes[i]
		ns.Registered = registered[strconv.Itoa(n.ID)]
		ns.Controller = st.Controller == n.ID
		if !ns.Registered && (ns.Error == "" || ns.Listening) {
			if err != nil && !errors.Is(err, zk.ErrNoNode) {
				ns.Error = "ZooKeeper: " + err.Error()
			} else {
				ns.Error = "not registered in " + path.Join("/brokers/ids", strconv.Itoa(n.ID))
			}
		}
	}
	return st
}
