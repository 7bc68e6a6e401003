package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/internal/nsutil"
	"github.com/faultline/faultline/netfault"
	"github.com/go-zookeeper/zk"
)

// localCluster runs every node as a JVM in its own network namespace.
type localCluster struct {
	opts  cluster.Options
	lopts *Options
	log   *slog.Logger
	dist  cluster.Dist
	net   *network
	nodes []*localNode
	hosts []*clientHost
	state *runState

	mu     sync.Mutex // guards state writes and zkConn
	zkConn *zk.Conn
	closed bool
}

// Up brings up a cluster with the local backend and returns once it is
// healthy (see Cluster.WaitHealthy) or fails, having removed what it made.
func (Backend) Up(ctx context.Context, o cluster.Options) (_ cluster.Cluster, err error) {
	o = o.Defaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	lo, err := decodeOptions(o)
	if err != nil {
		return nil, err
	}
	if err := Preflight(); err != nil {
		return nil, err
	}
	java, err := lo.findJava()
	if err != nil {
		return nil, err
	}
	// Fetching is not starting: a first fetch may take minutes on a slow link.
	dist, err := cluster.FetchDist(ctx, o.CacheDir, cluster.Versions{Kafka: o.KafkaVersion, ZooKeeper: o.ZooKeeperVersion})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.StartTimeout)
	defer cancel()
	id, err := newRunID()
	if err != nil {
		return nil, err
	}
	c := &localCluster{opts: o, lopts: lo, log: o.Logger.With("run", id), dist: dist}
	c.state = &runState{ID: id, HarnessPID: os.Getpid(), Created: time.Now(), Dir: o.Dir,
		ZooKeeperClasspath: dist.ZooKeeper, KafkaClasspath: dist.Kafka, Versions: dist.Versions}
	if o.KRaft() {
		if c.state.KRaftClusterID, err = cluster.NewKRaftClusterID(); err != nil {
			return nil, err
		}
	}
	if st, err := readProcStat(os.Getpid()); err == nil {
		c.state.HarnessStart = st.StartTime
	}
	if c.state.Dir == "" {
		c.state.Dir = filepath.Join(os.TempDir(), "faultline-"+id)
		c.state.RemoveDir = !o.KeepDir
	}
	// The servers run in their nodes' folders: every path they are given
	// must be absolute.
	if c.state.Dir, err = filepath.Abs(c.state.Dir); err != nil {
		return nil, fmt.Errorf("work directory: %w", err)
	}
	specs := cluster.PlanNodes(o)
	hosts := cluster.PlanClientHosts(o)
	c.state.Namespaces = []string{runNSName(id)}
	for _, s := range specs {
		c.state.Namespaces = append(c.state.Namespaces, nodeNSName(id, s.Name))
	}
	for _, h := range hosts {
		c.state.Namespaces = append(c.state.Namespaces, nodeNSName(id, h.Name))
	}
	// The state file comes first: whatever happens next, `cluster down` finds it.
	if err := c.state.write(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = c.Close(context.WithoutCancel(ctx))
		}
	}()
	c.log.Info("creating network", "namespaces", len(c.state.Namespaces))
	if err := shareNetnsDir(); err != nil {
		return nil, err
	}
	if c.net, err = createNetwork(id, specs, hosts); err != nil {
		return nil, err
	}
	for _, h := range hosts {
		c.hosts = append(c.hosts, &clientHost{spec: h, net: c.net,
			faults: netfault.NewHostFaults(netfault.Host{Name: h.Name, Addr: h.Addr, NetNSPath: nsPath(nodeNSName(id, h.Name)), Protected: []netip.Addr{cluster.HarnessAddr}})})
	}
	for _, s := range specs {
		n, err := c.prepareNode(s, specs, java)
		if err != nil {
			return nil, err
		}
		c.nodes = append(c.nodes, n)
	}
	if err := cluster.WriteTools(filepath.Join(c.state.Dir, "bin"), java, dist, o.KafkaVersion); err != nil {
		return nil, err
	}
	if o.KRaft() {
		if err := c.formatStorage(ctx, java); err != nil {
			return nil, err
		}
	}
	c.recordState()
	// ZooKeeper first: brokers in ZooKeeper mode register there.
	if err := c.startRole(ctx, cluster.RoleZooKeeper); err != nil {
		return nil, err
	}
	if len(c.ZooKeepers()) > 0 {
		if err := c.waitFor(ctx, cluster.RoleZooKeeper); err != nil {
			return nil, err
		}
	}
	// Dedicated controllers next, and the brokers once they listen: six
	// JVMs starting at once on two cores slow each other, and the quorum
	// elects sooner with the cores to itself.
	if err := c.startRole(ctx, cluster.RoleController); err != nil {
		return nil, err
	}
	if err := c.waitListening(ctx, cluster.RoleController); err != nil {
		return nil, err
	}
	if err := c.startRole(ctx, cluster.RoleKafka); err != nil {
		return nil, err
	}
	if err := c.WaitHealthy(ctx); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.state.Ready = true
	c.mu.Unlock()
	c.recordState()
	c.log.Info("cluster is up", "dir", c.state.Dir)
	return c, nil
}

func newRunID() (string, error) {
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make run id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// prepareNode writes a node's folder and configuration and starts its
// namespace worker.
func (c *localCluster) prepareNode(s cluster.NodeSpec, specs []cluster.NodeSpec, java string) (*localNode, error) {
	f, err := cluster.WriteNodeFiles(c.state.Dir, s, specs, c.opts, c.dist)
	if err != nil {
		return nil, err
	}
	n := &localNode{runID: c.state.ID, spec: s, dir: f.Dir, dataDir: f.DataDir, java: java, onChange: c.recordState,
		configFile: f.ConfigFile, logFile: f.LogFile, log4jFile: f.Log4jFile, args: f.Args}
	n.net = netfault.NewHostFaults(netfault.Host{Name: s.Name, Addr: s.Addr, NetNSPath: n.netNSPath(), Protected: []netip.Addr{cluster.HarnessAddr}})
	w, err := nsutil.StartWorker(c.net.nodes[s.Name])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Name, err)
	}
	n.worker = w
	return n, nil
}

func (c *localCluster) startRole(ctx context.Context, role cluster.Role) error {
	for _, n := range c.nodes {
		if n.spec.Role == role {
			c.log.Info("starting node", "node", n.spec.Name)
			if err := n.Start(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// recordState writes the nodes' current processes into the state file.
func (c *localCluster) recordState() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.state.Nodes = c.state.Nodes[:0]
	for _, n := range c.nodes {
		c.state.Nodes = append(c.state.Nodes, n.state())
	}
	if err := c.state.write(); err != nil {
		c.log.Warn("could not record the run's state", "err", err)
	}
}

func (c *localCluster) ID() string                 { return c.state.ID }
func (c *localCluster) Versions() cluster.Versions { return c.dist.Versions }

// ClientHosts lists the run's client hosts.
func (c *localCluster) ClientHosts() []cluster.ClientHost {
	hosts := make([]cluster.ClientHost, len(c.hosts))
	for i, h := range c.hosts {
		hosts[i] = h
	}
	return hosts
}

// Dir is the run's work directory.
func (c *localCluster) Dir() string { return c.state.Dir }

func (c *localCluster) Nodes() []cluster.Node {
	nodes := make([]cluster.Node, len(c.nodes))
	for i, n := range c.nodes {
		nodes[i] = n
	}
	return nodes
}

func (c *localCluster) Node(name string) (cluster.Node, bool) {
	for _, n := range c.nodes {
		if n.spec.Name == name {
			return n, true
		}
	}
	return nil, false
}

func (c *localCluster) byRole(role cluster.Role) []cluster.Node {
	var nodes []cluster.Node
	for _, n := range c.nodes {
		if n.spec.Role == role {
			nodes = append(nodes, n)
		}
	}
	return nodes
}

func (c *localCluster) ZooKeepers() []cluster.Node { return c.byRole(cluster.RoleZooKeeper) }
func (c *localCluster) Brokers() []cluster.Node    { return c.byRole(cluster.RoleKafka) }

// brokerAddrs lists the brokers' client addresses.
func (c *localCluster) brokerAddrs() []string {
	var addrs []string
	for _, b := range c.Brokers() {
		addrs = append(addrs, b.ClientAddr())
	}
	return addrs
}

func (c *localCluster) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	return c.net.dial(ctx, network, address)
}

// zk returns the harness's own ZooKeeper session, made on first use.
func (c *localCluster) zk() (*zk.Conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.zkConn != nil {
		return c.zkConn, nil
	}
	var servers []string
	for _, n := range c.nodes {
		if n.spec.Role == cluster.RoleZooKeeper {
			servers = append(servers, n.spec.ClientAddr())
		}
	}
	conn, err := cluster.ConnectZooKeeper(c.Dial, servers, 10*time.Second, c.log)
	if err != nil {
		return nil, err
	}
	c.zkConn = conn
	return conn, nil
}

func (c *localCluster) nodeProcesses() []cluster.NodeProcess {
	procs := make([]cluster.NodeProcess, len(c.nodes))
	for i, n := range c.nodes {
		procs[i] = n.state().process()
	}
	return procs
}

func (c *localCluster) Status(ctx context.Context) (cluster.Status, error) {
	conn, err := c.zkIfAny()
	if err != nil {
		return cluster.Status{}, err
	}
	return cluster.QueryStatus(ctx, c.state.ID, c.nodeProcesses(), c.Dial, conn), nil
}

// zkIfAny is the harness's ZooKeeper session when the cluster has
// ZooKeeper nodes, else nil.
func (c *localCluster) zkIfAny() (*zk.Conn, error) {
	if len(c.ZooKeepers()) == 0 {
		return nil, nil
	}
	return c.zk()
}

func (c *localCluster) ZooKeeperLeader(ctx context.Context) (cluster.Node, error) {
	return cluster.ZooKeeperLeaderOf(ctx, c.ZooKeepers(), c.Dial)
}

func (c *localCluster) KafkaController(ctx context.Context) (cluster.Node, error) {
	if c.opts.KRaft() {
		cl, err := cluster.KafkaAdmin(c.Dial, c.brokerAddrs())
		if err != nil {
			return nil, err
		}
		defer cl.Close()
		return cluster.KRaftLeaderOf(ctx, cl, c.Nodes())
	}
	conn, err := c.zk()
	if err != nil {
		return nil, err
	}
	return cluster.KafkaControllerOf(ctx, conn, c.Brokers())
}

func (c *localCluster) PartitionLeaders(ctx context.Context, topic string) (map[int32]cluster.Node, error) {
	if c.opts.KRaft() {
		cl, err := cluster.KafkaAdmin(c.Dial, c.brokerAddrs())
		if err != nil {
			return nil, err
		}
		defer cl.Close()
		return cluster.PartitionLeadersFromMetadata(ctx, cl, c.Brokers(), topic)
	}
	conn, err := c.zk()
	if err != nil {
		return nil, err
	}
	return cluster.PartitionLeadersOf(ctx, conn, c.Brokers(), topic)
}

func (c *localCluster) WaitHealthy(ctx context.Context) error {
	return c.waitFor(ctx, "")
}

// waitFor polls until the nodes of role (every node when role is empty)
// serve. A node whose process exits fails it at once.
func (c *localCluster) waitFor(ctx context.Context, role cluster.Role) error {
	conn, err := c.zkIfAny()
	if err != nil {
		return err
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	why := "no answer yet"
	for {
		for _, n := range c.nodes {
			if role != "" && n.spec.Role != role {
				continue
			}
			if done, exitErr := n.exited(); done != nil {
				select {
				case <-done:
					return &cluster.NodeError{Node: n.spec.Name, Err: fmt.Errorf("exited on start (%v)", exitErr()), LogFile: n.logFile}
				default:
				}
			}
		}
		st := cluster.QueryStatus(ctx, c.state.ID, c.nodeProcesses(), c.Dial, conn)
		if role == cluster.RoleZooKeeper {
			st.Controller = 0 // brokers are not asked about yet
			st.Nodes = onlyRole(st.Nodes, cluster.RoleZooKeeper)
		}
		ok, reason := st.Healthy()
		if ok {
			return nil
		}
		why = reason
		select {
		case <-ctx.Done():
			name, _, _ := strings.Cut(why, ":")
			var logFile string
			if n, found := c.Node(name); found {
				logFile = n.LogFile()
			}
			return &cluster.NodeError{Node: name, Err: fmt.Errorf("not healthy in time (%s)", why), LogFile: logFile}
		case <-tick.C:
		}
	}
}

// waitListening waits until every node of role accepts connections on its
// client address. A node whose process exits fails it at once.
func (c *localCluster) waitListening(ctx context.Context, role cluster.Role) error {
	for _, n := range c.nodes {
		if n.spec.Role != role {
			continue
		}
		for {
			if done, exitErr := n.exited(); done != nil {
				select {
				case <-done:
					return &cluster.NodeError{Node: n.spec.Name, Err: fmt.Errorf("exited on start (%v)", exitErr()), LogFile: n.logFile}
				default:
				}
			}
			pctx, cancel := context.WithTimeout(ctx, time.Second)
			conn, err := c.Dial(pctx, "tcp", n.spec.ClientAddr())
			cancel()
			if err == nil {
				conn.Close()
				break
			}
			select {
			case <-ctx.Done():
				return &cluster.NodeError{Node: n.spec.Name, Err: fmt.Errorf("not listening in time (%v)", err), LogFile: n.logFile}
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

func onlyRole(nodes []cluster.NodeStatus, role cluster.Role) []cluster.NodeStatus {
	var out []cluster.NodeStatus
	for _, n := range nodes {
		if n.Role == role {
			out = append(out, n)
		}
	}
	return out
}

// Close stops the brokers and the ensemble (SIGTERM, then SIGKILL after a
// short grace), then removes the namespaces, the state file and, when it was
// made for the run, the work directory.
func (c *localCluster) Close(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	conn := c.zkConn
	c.zkConn = nil
	c.mu.Unlock()
	if conn != nil {
		conn.Close()
	}
	c.log.Info("tearing down")
	var wg sync.WaitGroup
	for _, n := range c.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sctx, cancel := context.WithTimeout(ctx, stopGraceAtClose)
			defer cancel()
			_ = n.Stop(sctx) // kills when the grace runs out
		}()
	}
	wg.Wait()
	for _, n := range c.nodes {
		if n.worker != nil {
			n.worker.Stop()
		}
		if !c.opts.KeepData {
			_ = os.RemoveAll(n.dataDir)
		}
	}
	if c.net != nil {
		c.net.close()
	}
	return removeRun(ctx, c.state)
}

// stopGraceAtClose is how long a node may take to stop at teardown before
// it is killed: the cluster is going away, so there is little to wait for.
const stopGraceAtClose = 2 * time.Second
