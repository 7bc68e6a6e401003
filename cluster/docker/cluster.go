package docker

import (
	"context"
	"errors"
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
	"github.com/faultline/faultline/internal/procfs"
	"github.com/faultline/faultline/internal/teardown"
	"github.com/faultline/faultline/netfault"
	"github.com/moby/moby/api/types/container"
	dockernet "github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	tcnetwork "github.com/testcontainers/testcontainers-go/network"
)

// dockerCluster is a run: its network and a container per node.
type dockerCluster struct {
	id   string
	opts cluster.Options
	log  *slog.Logger
	d    *daemon
	dist cluster.Dist
	// archives are the JVMs' class archives, made by the local backend
	// and by kafka-storage format here (nil with NoCDS): a container's
	// JVM starts with its kind's when there is one (see makeNode).
	archives *cluster.ClassArchives
	dir      string
	rmDir    bool
	subnet   netip.Prefix
	network  *testcontainers.DockerNetwork
	nodes    []*node
	hosts    []*clientHost
	// Roster answers the lookups, status, health and leaders; nil until
	// the containers are made.
	*cluster.Roster

	mu     sync.Mutex // guards closed
	closed bool
	// closeDone is closed when the Close that set closed is done.
	closeDone chan struct{}
	// untrack drops the cluster from the teardown of a stopped process
	// (internal/teardown) once Close takes it down.
	untrack func()
}

// Up brings a cluster up on Docker and returns once it is healthy, or
// fails, having removed what it made.
func (Backend) Up(ctx context.Context, o cluster.Options) (_ cluster.Cluster, err error) {
	o = o.Defaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	do, err := decodeOptions(o)
	if err != nil {
		return nil, err
	}
	if err := needRoot("the docker backend applies network faults inside containers' namespaces"); err != nil {
		return nil, err
	}
	rt, ref, err := do.image()
	if err != nil {
		return nil, err
	}
	pool, err := do.pool()
	if err != nil {
		return nil, err
	}
	dist, err := cluster.FetchDist(ctx, o.CacheDir, cluster.Versions{Kafka: o.KafkaVersion, ZooKeeper: o.ZooKeeperVersion})
	if err != nil {
		return nil, err
	}
	d, err := connect(ctx)
	if err != nil {
		return nil, err
	}
	if has, err := d.hasImage(ctx, ref); err != nil || !has {
		d.close()
		if err == nil {
			err = errNoImage(ref)
		}
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.StartTimeout)
	defer cancel()
	id, err := cluster.NewRunID()
	if err != nil {
		d.close()
		return nil, err
	}
	c := &dockerCluster{id: id, opts: o, log: o.Logger.With("run", id, "backend", "docker"), d: d, dist: dist, archives: cluster.ClassArchivesFor(o, rt.Java)}
	if c.archives != nil && os.MkdirAll(c.archives.Dir(), 0o755) != nil {
		c.archives = nil // mounted into every container: it must be there
	}
	if c.dir, c.rmDir, err = cluster.WorkDir(o, id); err != nil {
		d.close()
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
	labels := runLabels{RunID: id, Harness: harnessLabel(), Dir: c.dir, RemoveDir: c.rmDir}
	c.log.Info("creating network")
	if c.network, c.subnet, err = d.createNetwork(ctx, pool, labels.network()); err != nil {
		return nil, err
	}
	specs := cluster.PlanNodesOn(o, c.subnet)
	hostSpecs := cluster.PlanClientHostsOn(o, c.subnet)
	var kraftID string
	if o.KRaft() {
		if kraftID, err = cluster.NewKRaftClusterID(); err != nil {
			return nil, err
		}
	}
	if err := cluster.WriteTools(filepath.Join(c.dir, "bin"), rt.Java, dist, o.KafkaVersion); err != nil {
		return nil, err
	}
	for _, s := range specs {
		n, err := c.makeNode(ctx, ref, s, specs, rt, labels, kraftID)
		if err != nil {
			return nil, err
		}
		c.nodes = append(c.nodes, n)
	}
	if kraftID != "" {
		// Formatted here, once per kind of node (the start script's own
		// format then finds meta.properties and skips).
		var kraft []cluster.KRaftStorage
		for _, n := range c.nodes {
			if n.spec.Role != cluster.RoleZooKeeper {
				kraft = append(kraft, cluster.KRaftStorage{Spec: n.spec, Files: n.files})
			}
		}
		if err := cluster.FormatKRaftStorage(ctx, rt.Java, c.archives, c.dist.Kafka, kraftID, kraft); err != nil {
			return nil, err
		}
	}
	for _, h := range hostSpecs {
		ch, err := c.makeClientHost(ctx, ref, h, labels)
		if err != nil {
			return nil, err
		}
		c.hosts = append(c.hosts, ch)
	}
	c.Roster = cluster.NewRoster(id, o.KRaft(), c.nodes, c.hosts, c.Dial, c.log)
	if err := c.StartAll(ctx); err != nil {
		return nil, err
	}
	c.log.Info("cluster is up", "dir", c.dir, "network", c.subnet)
	return c, nil
}

// harnessLabel names this process: pid and start time.
func harnessLabel() string {
	st, _ := procfs.ReadStat(os.Getpid())
	return fmt.Sprintf("%d:%d", os.Getpid(), st.StartTime)
}

// harnessAlive says whether the process a harness label names runs.
func harnessAlive(label string) bool {
	var pid int
	var start uint64
	if _, err := fmt.Sscanf(label, "%d:%d", &pid, &start); err != nil {
		return false
	}
	return procfs.SameProcess(pid, start)
}

// startScript is a node's container's command: the server's java, its
// output appended to the node's log (in the run's folder, bind-mounted),
// after formatting a KRaft node's storage the first time.
func startScript(java string, f cluster.NodeFiles, format []string) string {
	var b strings.Builder
	b.WriteString("#!/bin/sh\n# written by faultline: the node's container runs this\n")
	if format != nil {
		fmt.Fprintf(&b, "[ -f %s ] || %s >>%s 2>&1 || exit 1\n", shellQuote(filepath.Join(f.DataDir, "meta.properties")), shellJoin(java, format), shellQuote(f.LogFile))
	}
	fmt.Fprintf(&b, "exec %s >>%s 2>&1\n", shellJoin(java, f.Args), shellQuote(f.LogFile))
	return b.String()
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func shellJoin(cmd string, args []string) string {
	q := []string{shellQuote(cmd)}
	for _, a := range args {
		q = append(q, shellQuote(a))
	}
	return strings.Join(q, " ")
}

// containerOptions are what every container of the run shares: its image
// (never pulled), name, hostname, labels, address on the run's network,
// and the run's folder and the distributions at their own paths.
func (c *dockerCluster) containerOptions(ref, name string, addr netip.Addr, labels map[string]string, cmd []string) []testcontainers.ContainerCustomizer {
	binds := []string{c.dir + ":" + c.dir, filepath.Join(c.opts.CacheDir, "dist") + ":" + filepath.Join(c.opts.CacheDir, "dist") + ":ro"}
	if c.archives != nil {
		binds = append(binds, c.archives.Dir()+":"+c.archives.Dir()+":ro")
	}
	return []testcontainers.ContainerCustomizer{
		testcontainers.WithLogger(tclog.NewNoopLogger()),
		testcontainers.WithName(containerName(c.id, name)),
		testcontainers.WithLabels(labels),
		testcontainers.WithEntrypoint(cmd...),
		testcontainers.WithNoStart(),
		tcnetwork.WithNetwork(nil, c.network),
		testcontainers.WithConfigModifier(func(cfg *container.Config) { cfg.Hostname = name }),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.Binds = append(hc.Binds, binds...)
			hc.RestartPolicy = container.RestartPolicy{Name: "no"}
		}),
		testcontainers.WithEndpointSettingsModifier(func(eps map[string]*dockernet.EndpointSettings) {
			if ep := eps[c.network.Name]; ep != nil {
				ep.IPAMConfig = &dockernet.EndpointIPAMConfig{IPv4Address: addr}
			}
		}),
	}
}

// create makes a container, not started.
func (c *dockerCluster) create(ctx context.Context, ref, name string, addr netip.Addr, labels map[string]string, cmd []string) (nodeContainer, *netfault.HostFaults, error) {
	ctr, err := testcontainers.Run(ctx, ref, c.containerOptions(ref, name, addr, labels, cmd)...)
	if err != nil {
		if ctr != nil {
			_ = ctr.Terminate(context.WithoutCancel(ctx))
		}
		return nodeContainer{}, nil, fmt.Errorf("create the container of %s: %w", name, err)
	}
	faults := netfault.NewHostFaults(netfault.Host{Name: name, Addr: addr, Protected: []netip.Addr{cluster.HarnessAddrOn(c.subnet)}})
	ns := &containerNetns{faults: faults, host: netfault.Host{Name: name, Addr: addr, Protected: []netip.Addr{cluster.HarnessAddrOn(c.subnet)}}}
	return nodeContainer{name: name, d: c.d, c: ctr, ns: ns}, faults, nil
}

// makeNode writes a node's folder (as the local backend does) and makes
// its container.
func (c *dockerCluster) makeNode(ctx context.Context, ref string, s cluster.NodeSpec, specs []cluster.NodeSpec, rt javaRuntime, labels runLabels, kraftID string) (*node, error) {
	f, err := cluster.WriteNodeFiles(c.dir, s, specs, c.opts, c.dist)
	if err != nil {
		return nil, err
	}
	// The image's java is the host's, at the same path, and the jars are
	// mounted at theirs: an archive made on the host maps in the container.
	f.Args = append(c.archives.Existing(cluster.ClassArchiveKind(s, c.opts.KRaft()), f.Args), f.Args...)
	var format []string
	if kraftID != "" && s.Role != cluster.RoleZooKeeper {
		format = cluster.StorageFormatArgs(c.dist.Kafka, f.ConfigFile, f.Log4jFile, kraftID)
	}
	script := filepath.Join(f.Dir, "start.sh")
	if err := os.WriteFile(script, []byte(startScript(rt.Java, f, format)), 0o755); err != nil {
		return nil, fmt.Errorf("write the start script of %s: %w", s.Name, err)
	}
	ctr, faults, err := c.create(ctx, ref, s.Name, s.Addr, labels.node(s, c.dist.Classpath(s.Role)), []string{"/bin/sh", script})
	if err != nil {
		return nil, err
	}
	return &node{nodeContainer: ctr, spec: s, files: f, network: nodeNetwork{c: &ctr, faults: faults}}, nil
}

// makeClientHost makes a client host's container and starts it: it only
// sleeps, so it is up at once.
func (c *dockerCluster) makeClientHost(ctx context.Context, ref string, h cluster.HostSpec, labels runLabels) (*clientHost, error) {
	spec := cluster.NodeSpec{Name: h.Name, Role: cluster.RoleClient, Addr: h.Addr}
	ctr, faults, err := c.create(ctx, ref, h.Name, h.Addr, labels.node(spec, ""), []string{"sleep", "infinity"})
	if err != nil {
		return nil, err
	}
	ch := &clientHost{nodeContainer: ctr, spec: h, network: nodeNetwork{c: &ctr, faults: faults}}
	if err := ctr.c.Start(ctx); err != nil {
		return nil, fmt.Errorf("start client host %s: %w", h.Name, err)
	}
	if err := ctr.refresh(ctx); err != nil {
		return nil, err
	}
	return ch, nil
}

func (c *dockerCluster) ID() string                 { return c.id }
func (c *dockerCluster) Versions() cluster.Versions { return c.dist.Versions }

// Dir is the run's work directory.
func (c *dockerCluster) Dir() string { return c.dir }

// Dial connects from this machine, the harness's side of the run's
// network (its gateway, which no fault drops).
func (c *dockerCluster) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return nil, errors.New("the run's network is closed: the cluster was torn down")
	}
	var d net.Dialer
	return d.DialContext(ctx, network, address)
}

// Close removes the containers (a short grace to stop), the network, the
// nodes' data unless kept, and the work directory when made for the run.
// The servers' logs are in the run's folder already.
func (c *dockerCluster) Close(ctx context.Context) error {
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
	var all []nodeContainer
	for _, n := range c.nodes {
		all = append(all, n.nodeContainer)
	}
	for _, h := range c.hosts {
		all = append(all, h.nodeContainer)
	}
	errs := make([]error, len(all))
	var wg sync.WaitGroup
	for i, ctr := range all {
		wg.Go(func() {
			ctr.ns.close()
			errs[i] = ctr.c.Terminate(context.WithoutCancel(ctx), testcontainers.StopTimeout(stopGraceAtClose))
		})
	}
	wg.Wait()
	if c.network != nil {
		if err := c.network.Remove(context.WithoutCancel(ctx)); err != nil {
			errs = append(errs, fmt.Errorf("remove the run's network: %w", err))
		}
	}
	// Whatever a failed creation left is found by label.
	if err := removeRun(context.WithoutCancel(ctx), c.d, c.id); err != nil {
		errs = append(errs, err)
	}
	for _, n := range c.nodes {
		if !c.opts.KeepData {
			_ = os.RemoveAll(n.files.DataDir)
		}
	}
	if c.rmDir {
		if err := os.RemoveAll(c.dir); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", c.dir, err))
		}
	}
	c.d.close()
	return errors.Join(errs...)
}

// stopGraceAtClose is how long a node may take to stop at teardown.
const stopGraceAtClose = 2 * time.Second
