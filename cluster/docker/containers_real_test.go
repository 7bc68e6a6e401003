package docker

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/internal/realtest"
	"github.com/google/nftables"
	"github.com/vishvananda/netns"
)

// requireDaemon skips unless the real tests are asked for, and then
// skips with the reason when no Docker daemon answers or the runtime
// image is missing.
func requireDaemon(t *testing.T) (*daemon, string) {
	t.Helper()
	realtest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := connect(ctx)
	if err != nil {
		realtest.NoDocker(t, err)
	}
	t.Cleanup(d.close)
	rt, err := findRuntime("")
	if err != nil {
		realtest.NoDocker(t, err)
	}
	ref, err := imageRef(rt)
	if err != nil {
		t.Fatal(err)
	}
	if has, err := d.hasImage(ctx, ref); err != nil || !has {
		realtest.NoDocker(t, errNoImage(ref))
	}
	return d, ref
}

// TestSleepingContainers makes a run's network and two client-host
// containers that only sleep (no server starts): pinned addresses, a
// dial from inside c1 to c2's address, a drop at c2 in force after c2's
// container is killed and started again (a new namespace), labels found
// by Down, and nothing left after.
func TestSleepingContainers(t *testing.T) {
	d, ref := requireDaemon(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	id, _ := cluster.NewRunID()
	pool, _ := netip.ParsePrefix(DefaultPool)
	c := &dockerCluster{id: id, opts: cluster.Options{CacheDir: t.TempDir()}.Defaults(), log: slog.New(slog.DiscardHandler), d: d, dir: t.TempDir()}
	c.opts.ClientHosts = 2
	labels := runLabels{RunID: id, Harness: harnessLabel(), Dir: c.dir}
	var err error
	if c.network, c.subnet, err = d.createNetwork(ctx, pool, labels.network()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := removeRun(context.Background(), d, id); err != nil {
			t.Error(err)
		}
	})
	for _, h := range cluster.PlanClientHostsOn(c.opts, c.subnet) {
		ch, err := c.makeClientHost(ctx, ref, h, labels)
		if err != nil {
			t.Fatal(err)
		}
		c.hosts = append(c.hosts, ch)
	}
	c1, c2 := c.hosts[0], c.hosts[1]
	if want := cluster.HostAddr(c.subnet, 41); c1.Addr() != want {
		t.Fatalf("c1 at %s, want %s", c1.Addr(), want)
	}
	// Nothing listens in c2: a refused connection is an answer from c2's
	// stack, a drop is a time-out.
	dialC2 := func() error {
		dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		conn, err := c1.Dial(dctx, "tcp", net.JoinHostPort(c2.Addr().String(), "9"))
		if err == nil {
			conn.Close()
		}
		return err
	}
	if err := dialC2(); err == nil || os.IsTimeout(err) || isTimeout(err) {
		t.Fatalf("c1 to c2 before any fault: %v, want connection refused", err)
	}
	if err := c2.Network().Drop(ctx, []netip.Addr{c1.Addr()}); err != nil {
		t.Fatal(err)
	}
	if err := dialC2(); !isTimeout(err) {
		t.Fatalf("c1 to c2 under a drop: %v, want a time-out", err)
	}
	// Kill and start c2: a new namespace, the drop put back by Start's
	// hook (here the network's refresh, as a fault's next change does).
	n2 := &node{nodeContainer: c2.nodeContainer, spec: cluster.NodeSpec{Name: "c2", Role: cluster.RoleClient, Addr: c2.Addr()}, network: c2.network}
	if err := n2.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	if err := n2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if !hasFaultlineTable(t, c2.ns.host.NetNSPath) {
		t.Fatal("after c2's restart its new namespace has no faultline table")
	}
	if err := dialC2(); !isTimeout(err) {
		t.Fatalf("c1 to c2 after c2 restarted under a drop: %v, want a time-out", err)
	}
	if err := n2.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	if p := n2.Process(ctx); p.Process != cluster.ProcessPaused {
		t.Fatalf("paused c2 is %s", p.Process)
	}
	if err := n2.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	// The nemesis's final heal resumes every node: a container that is
	// not paused is left as it is, as SIGCONT leaves a running process.
	if err := n2.Resume(ctx); err != nil {
		t.Fatalf("resume a container that is not paused: %v", err)
	}
	if err := c2.Network().Drop(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if hasFaultlineTable(t, c2.ns.host.NetNSPath) {
		t.Fatal("healed c2 keeps a faultline table")
	}
	if err := dialC2(); err == nil || isTimeout(err) {
		t.Fatalf("c1 to c2 healed: %v, want connection refused", err)
	}
	ids, err := d.runIDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range ids {
		found = found || r == id
	}
	if !found {
		t.Fatalf("run %s not found by label among %v", id, ids)
	}
	for _, h := range c.hosts {
		h.ns.close()
	}
	if err := removeRun(ctx, d, id); err != nil {
		t.Fatal(err)
	}
	if ctrs, _ := d.runContainers(ctx, id); len(ctrs) > 0 {
		t.Fatalf("%d containers left", len(ctrs))
	}
	if h, found, _ := d.runHarness(ctx, id); found {
		t.Fatalf("the run's network is left (harness %s)", h)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// hasFaultlineTable says whether the namespace at path has faultline's
// nftables table.
func hasFaultlineTable(t *testing.T, path string) bool {
	t.Helper()
	ns, err := netns.GetFromPath(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	c, err := nftables.New(nftables.WithNetNSFd(int(ns)))
	if err != nil {
		t.Fatal(err)
	}
	tables, err := c.ListTables()
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		if tb.Name == "faultline" {
			return true
		}
	}
	return false
}
