package local

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/internal/nsutil"
	"github.com/faultline/faultline/netfault"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// netnsDir is where named network namespaces are bind-mounted, as iproute2 does.
const netnsDir = "/run/netns"

// nsPrefix starts the name of every namespace faultline makes.
const nsPrefix = "faultline-"

// bridgeName is the bridge in the run's namespace that joins the nodes.
const bridgeName = "br0"

func runNSName(runID string) string        { return nsPrefix + runID }
func nodeNSName(runID, node string) string { return nsPrefix + runID + "-" + node }
func nsPath(name string) string            { return filepath.Join(netnsDir, name) }

// network is a run's private network: a namespace holding a bridge, and a
// namespace per node joined to the bridge by a veth pair.
type network struct {
	runID string
	nodes map[string]netns.NsHandle

	// mu guards runNS against close while a dial takes its own copy:
	// clients may redial in the background at any time.
	mu     sync.RWMutex
	runNS  netns.NsHandle
	closed bool
}

// errNetworkClosed is the error of a dial after the network was closed.
var errNetworkClosed = errors.New("the run's network is closed: the cluster was torn down")

// createNetwork makes the run's namespaces and links. On error it removes
// what it made.
func createNetwork(runID string, specs []cluster.NodeSpec, hosts []cluster.HostSpec) (_ *network, err error) {
	n := &network{runID: runID, runNS: netns.None(), nodes: map[string]netns.NsHandle{}}
	defer func() {
		if err != nil {
			n.close()
			_ = deleteNamespaces(n.names())
		}
	}()
	if n.runNS, err = nsutil.NewNamedNamespace(runNSName(runID)); err != nil {
		return nil, err
	}
	h, err := netlink.NewHandleAt(n.runNS)
	if err != nil {
		return nil, fmt.Errorf("open netlink in the run's namespace: %w", err)
	}
	defer h.Close()
	if err := linkUp(h, "lo"); err != nil {
		return nil, err
	}
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: bridgeName}}
	if err := h.LinkAdd(br); err != nil {
		return nil, fmt.Errorf("add bridge: %w", err)
	}
	if err := h.AddrAdd(br, &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(cluster.HarnessAddr, cluster.RunPrefix.Bits()))}); err != nil {
		return nil, fmt.Errorf("address bridge: %w", err)
	}
	if err := h.LinkSetUp(br); err != nil {
		return nil, fmt.Errorf("bring bridge up: %w", err)
	}
	for _, s := range specs {
		ns, err := nsutil.NewNamedNamespace(nodeNSName(runID, s.Name))
		if err != nil {
			return nil, err
		}
		n.nodes[s.Name] = ns
		if err := attachNode(h, br, ns, s); err != nil {
			return nil, fmt.Errorf("connect %s: %w", s.Name, err)
		}
	}
	for _, c := range hosts {
		ns, err := nsutil.NewNamedNamespace(nodeNSName(runID, c.Name))
		if err != nil {
			return nil, err
		}
		n.nodes[c.Name] = ns
		if err := attachNode(h, br, ns, cluster.NodeSpec{Name: c.Name, Addr: c.Addr}); err != nil {
			return nil, fmt.Errorf("connect client host %s: %w", c.Name, err)
		}
	}
	return n, nil
}

// clientHost is a client host: a namespace of its own on the run's
// network, which clients dial from.
type clientHost struct {
	spec   cluster.HostSpec
	net    *network
	faults *netfault.HostFaults
}

func (h *clientHost) Name() string             { return h.spec.Name }
func (h *clientHost) Addr() netip.Addr         { return h.spec.Addr }
func (h *clientHost) Network() cluster.Network { return h.faults }

// Dial connects from the host's namespace.
func (h *clientHost) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	return h.net.dialFrom(ctx, h.spec.Name, network, address)
}

// dialFrom connects from a host's (or node's) namespace, on its own copy
// of the handle, as dial does.
func (n *network) dialFrom(ctx context.Context, name, network, address string) (net.Conn, error) {
	n.mu.RLock()
	ns, ok := n.nodes[name]
	if n.closed || !ok || !ns.IsOpen() {
		n.mu.RUnlock()
		return nil, errNetworkClosed
	}
	fd, err := unix.FcntlInt(uintptr(ns), unix.F_DUPFD_CLOEXEC, 0)
	n.mu.RUnlock()
	if err != nil {
		return nil, fmt.Errorf("copy %s's namespace handle: %w", name, err)
	}
	dup := netns.NsHandle(fd)
	defer dup.Close()
	return dialIn(ctx, dup, network, address)
}

// attachNode links a node's namespace to the bridge: the veth end in the
// run's namespace is named after the node, the end in the node's is eth0.
func attachNode(h *netlink.Handle, br *netlink.Bridge, ns netns.NsHandle, s cluster.NodeSpec) error {
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: s.Name, MasterIndex: br.Attrs().Index},
		PeerName:      "eth0",
		PeerNamespace: netlink.NsFd(ns),
	}
	if err := h.LinkAdd(veth); err != nil {
		return fmt.Errorf("add veth: %w", err)
	}
	if err := linkUp(h, s.Name); err != nil {
		return err
	}
	nh, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("open netlink in the node's namespace: %w", err)
	}
	defer nh.Close()
	if err := linkUp(nh, "lo"); err != nil {
		return err
	}
	eth, err := nh.LinkByName("eth0")
	if err != nil {
		return fmt.Errorf("find eth0: %w", err)
	}
	if err := nh.AddrAdd(eth, &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(s.Addr, cluster.RunPrefix.Bits()))}); err != nil {
		return fmt.Errorf("address eth0: %w", err)
	}
	return linkUp(nh, "eth0")
}

func linkUp(h *netlink.Handle, name string) error {
	l, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("find link %s: %w", name, err)
	}
	if err := h.LinkSetUp(l); err != nil {
		return fmt.Errorf("bring %s up: %w", name, err)
	}
	return nil
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// names lists the namespaces of the network, the run's first.
func (n *network) names() []string {
	names := []string{runNSName(n.runID)}
	for node := range n.nodes {
		names = append(names, nodeNSName(n.runID, node))
	}
	return names
}

// dial connects from the run's namespace, the harness's side of the bridge.
// It works on its own copy of the namespace handle, so close never pulls
// the handle from under a dial (nor lets a reused descriptor number stand
// in for it).
func (n *network) dial(ctx context.Context, network, address string) (net.Conn, error) {
	n.mu.RLock()
	if n.closed || !n.runNS.IsOpen() {
		n.mu.RUnlock()
		return nil, errNetworkClosed
	}
	fd, err := unix.FcntlInt(uintptr(n.runNS), unix.F_DUPFD_CLOEXEC, 0)
	n.mu.RUnlock()
	if err != nil {
		return nil, fmt.Errorf("copy the run's namespace handle: %w", err)
	}
	ns := netns.NsHandle(fd)
	defer ns.Close()
	return dialIn(ctx, ns, network, address)
}

func dialIn(ctx context.Context, ns netns.NsHandle, network, address string) (net.Conn, error) {
	return nsutil.DialIn(ctx, ns, network, address)
}

// close releases the namespace handles; the namespaces stay until deleted.
func (n *network) close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.closed = true
	if n.runNS.IsOpen() {
		n.runNS.Close()
	}
	for _, ns := range n.nodes {
		ns.Close()
	}
}

// deleteNamespaces unmounts and removes named namespaces; a namespace that
// no process uses any more vanishes with its links. Mounts a bind mount
// over /run/netns hides are uncovered first (see uncoverRunMounts).
func deleteNamespaces(names []string) error {
	err := deleteNamespacesOnce(names)
	if err == nil || !errors.Is(err, unix.EBUSY) {
		return err
	}
	if uerr := uncoverRunMounts(names); uerr != nil {
		return fmt.Errorf("%w; uncovering them failed: %w", err, uerr)
	}
	return deleteNamespacesOnce(names)
}

func deleteNamespacesOnce(names []string) error {
	var errs []error
	for _, name := range names {
		if _, err := os.Stat(nsPath(name)); errors.Is(err, os.ErrNotExist) {
			continue
		}
		// A file that is not (or no longer) a mount point is removed all the same.
		if err := unix.Unmount(nsPath(name), unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount namespace %s: %w", name, err))
			continue
		}
		if err := os.Remove(nsPath(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove namespace %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// runNamespaces lists the namespaces under /run/netns that belong to a run.
func runNamespaces(runID string) ([]string, error) {
	entries, err := os.ReadDir(netnsDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", netnsDir, err)
	}
	var names []string
	for _, e := range entries {
		if e.Name() == runNSName(runID) || strings.HasPrefix(e.Name(), runNSName(runID)+"-") {
			names = append(names, e.Name())
		}
	}
	return names, nil
}
