package local

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/internal/nsutil"
	"github.com/faultline/faultline/internal/teardown"
	"github.com/faultline/faultline/netfault"
)

// localCluster runs every node as a JVM in its own network namespace.
type localCluster struct {
	opts  cluster.Options
	lopts *Options
	log   *slog.Logger
	dist  cluster.Dist
	// archives are the JVMs' class archives (nil with NoCDS).
	archives *cluster.ClassArchives
	net      *network
	nodes    []*localNode
	hosts    []*clientHost
	state    *runState
	// Roster answers the lookups, status, health and leaders; nil until
	// the nodes are prepared.
	*cluster.Roster

	mu     sync.Mutex // guards state writes and closed
	closed bool
	// closeDone is closed when the Close that set closed is done.
	closeDone chan struct{}
	// untrack drops the cluster from the teardown of a stopped process
	// (internal/teardown) once Close takes it down.
	untrack func()
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
	id, err := cluster.NewRunID()
	if err != nil {
		return nil, err
	}
	c := &localCluster{opts: o, lopts: lo, log: o.Logger.With("run", id), dist: dist, archives: cluster.ClassArchivesFor(o, java)}
	c.state = &runState{ID: id, HarnessPID: os.Getpid(), Created: time.Now(),
		ZooKeeperClasspath: dist.ZooKeeper, KafkaClasspath: dist.Kafka, Versions: dist.Versions}
	if o.KRaft() {
		if c.state.KRaftClusterID, err = cluster.NewKRaftClusterID(); err != nil {
			return nil, err
		}
	}
	if st, err := readProcStat(os.Getpid()); err == nil {
		c.state.HarnessStart = st.StartTime
	}
	if c.state.Dir, c.state.RemoveDir, err = cluster.WorkDir(o, id); err != nil {
		return nil, err
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
	// A signal that stops the process (internal/teardown) ends the
	// bring-up, then closes what it made.
	var upEnded func()
	ctx, upEnded, c.untrack = teardown.Bringing(ctx, c.Close)
	defer upEnded() // after the close of a failed bring-up, below
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
	c.Roster = cluster.NewRoster(id, o.KRaft(), c.nodes, c.hosts, c.Dial, c.log)
	if err := cluster.WriteTools(filepath.Join(c.state.Dir, "bin"), java, dist, o.KafkaVersion); err != nil {
		return nil, err
	}
	if o.KRaft() {
		c.SetPrepare(func(ctx context.Context, role cluster.Role) error { return c.formatStorage(ctx, java, role) })
	}
	c.recordState()
	if err := c.StartAll(ctx); err != nil {
		return nil, err
	}
	c.markServed(c.processes())
	c.mu.Lock()
	c.state.Ready = true
	c.mu.Unlock()
	c.recordState()
	c.log.Info("cluster is up", "dir", c.state.Dir)
	return c, nil
}

// prepareNode writes a node's folder and configuration and starts its
// namespace worker.
func (c *localCluster) prepareNode(s cluster.NodeSpec, specs []cluster.NodeSpec, java string) (*localNode, error) {
	f, err := cluster.WriteNodeFiles(c.state.Dir, s, specs, c.opts, c.dist)
	if err != nil {
		return nil, err
	}
	n := &localNode{runID: c.state.ID, spec: s, dir: f.Dir, dataDir: f.DataDir, java: java, onChange: c.recordState,
		configFile: f.ConfigFile, logFile: f.LogFile, log4jFile: f.Log4jFile, args: f.Args,
		archives: c.archives, archiveKind: cluster.ClassArchiveKind(s, c.opts.KRaft()), log: c.log}
	n.net = netfault.NewHostFaults(netfault.Host{Name: s.Name, Addr: s.Addr, NetNSPath: n.netNSPath(), Protected: []netip.Addr{cluster.HarnessAddr}})
	w, err := nsutil.StartWorker(c.net.nodes[s.Name])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Name, err)
	}
	n.worker = w
	return n, nil
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

// Dir is the run's work directory.
func (c *localCluster) Dir() string { return c.state.Dir }

func (c *localCluster) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	return c.net.dial(ctx, network, address)
}

// WaitHealthy waits until the cluster is healthy (cluster.Roster), and
// then notes that the nodes' processes have served.
func (c *localCluster) WaitHealthy(ctx context.Context) error {
	// Only the processes there before the wait: one started during it
	// (a restart) may still be starting.
	before := c.processes()
	if err := c.Roster.WaitHealthy(ctx); err != nil {
		return err
	}
	c.markServed(before)
	return nil
}

// processes are the nodes' current processes, in the nodes' order (nil
// for a node that runs none).
func (c *localCluster) processes() []*process {
	ps := make([]*process, len(c.nodes))
	for i, n := range c.nodes {
		ps[i] = n.current()
	}
	return ps
}

// markServed notes that the processes ps (from processes) have served:
// the cluster was healthy with them. One a node no longer runs is left.
func (c *localCluster) markServed(ps []*process) {
	for i, n := range c.nodes {
		if p := n.current(); p != nil && p == ps[i] {
			p.served.Store(true)
		}
	}
}

// Close stops the brokers and the ensemble (SIGTERM, then SIGKILL after a
// short grace), then removes the namespaces, the state file and, when it was
// made for the run, the work directory.
func (c *localCluster) Close(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		// Another Close runs, or ran: wait until it is done.
		done := c.closeDone
		c.mu.Unlock()
		<-done
		return nil
	}
	c.closed = true
	c.closeDone = make(chan struct{})
	done := c.closeDone
	c.mu.Unlock()
	defer func() {
		if c.untrack != nil {
			c.untrack()
		}
		close(done)
	}()
	c.CloseZooKeeper()
	c.log.Info("tearing down")
	c.stopArchiveMakers(ctx)
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

// stopArchiveMakers stops, before the others, the nodes that write their
// kind's class archive as they exit (the first run of a version only), one
// at a time, brokers first: a broker's controlled shutdown needs the
// controllers, and each needs the time to write its archive, which the
// short grace of teardown would not give.
func (c *localCluster) stopArchiveMakers(ctx context.Context) {
	for _, role := range []cluster.Role{cluster.RoleKafka, cluster.RoleController, cluster.RoleZooKeeper} {
		for _, n := range c.nodes {
			// One that never served keeps no archive: it stops with the rest.
			if p := n.current(); p == nil || !p.making || !p.served.Load() || n.spec.Role != role {
				continue
			}
			sctx, cancel := context.WithTimeout(ctx, archiveGraceAtClose)
			_ = n.Stop(sctx)
			cancel()
		}
	}
}

// archiveGraceAtClose is how long a node that writes a class archive may
// take to stop at teardown (a broker takes about 3 s); at most three are
// stopped one after another, within the wait of `cluster down` for the
// harness (stopHarness).
const archiveGraceAtClose = 8 * time.Second

// stopGraceAtClose is how long a node may take to stop at teardown before
// it is killed: the cluster is going away, so there is little to wait for.
const stopGraceAtClose = 2 * time.Second
