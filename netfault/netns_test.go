package netfault

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/nsutil"
	"github.com/faultline/faultline/internal/realtest"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// testNet is a private network of test namespaces, like a run's: a bridge in
// its own namespace (holding the harness-side address 10.214.0.1) and a
// namespace per node with eth0 on the bridge. Everything is removed when the
// test ends.
type testNet struct {
	bridge netns.NsHandle
	nodes  []Host
	ns     map[string]netns.NsHandle
}

// testBridgeAddr is the bridge side of a test network, standing in for the
// harness address.
func testBridgeAddr() netip.Addr { return netip.AddrFrom4([4]byte{10, 214, 0, 1}) }

const testPort = 7047

func newTestNet(t *testing.T, names ...string) *testNet {
	t.Helper()
	realtest.Require(t)
	id := make([]byte, 3)
	if _, err := rand.Read(id); err != nil {
		t.Fatal(err)
	}
	prefix := "fltest-" + hex.EncodeToString(id)
	tn := &testNet{ns: map[string]netns.NsHandle{}}
	tn.bridge = newTestNS(t, prefix+"-br")
	h, err := netlink.NewHandleAt(tn.bridge)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	mustLinkUp(t, h, "lo")
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "br0"}}
	if err := h.LinkAdd(br); err != nil {
		t.Fatalf("add bridge: %v", err)
	}
	if err := h.AddrAdd(br, &netlink.Addr{IPNet: prefix24(testBridgeAddr())}); err != nil {
		t.Fatalf("address bridge: %v", err)
	}
	mustLinkUp(t, h, "br0")
	for i, name := range names {
		nsName := prefix + "-" + name
		ns := newTestNS(t, nsName)
		addr := netip.AddrFrom4([4]byte{10, 214, 0, byte(2 + i)})
		veth := &netlink.Veth{
			LinkAttrs:     netlink.LinkAttrs{Name: name, MasterIndex: br.Attrs().Index},
			PeerName:      "eth0",
			PeerNamespace: netlink.NsFd(ns),
		}
		if err := h.LinkAdd(veth); err != nil {
			t.Fatalf("add veth for %s: %v", name, err)
		}
		mustLinkUp(t, h, name)
		nh, err := netlink.NewHandleAt(ns)
		if err != nil {
			t.Fatal(err)
		}
		mustLinkUp(t, nh, "lo")
		eth, err := nh.LinkByName("eth0")
		if err != nil {
			t.Fatal(err)
		}
		if err := nh.AddrAdd(eth, &netlink.Addr{IPNet: prefix24(addr)}); err != nil {
			t.Fatalf("address %s: %v", name, err)
		}
		mustLinkUp(t, nh, "eth0")
		nh.Close()
		tn.ns[name] = ns
		tn.nodes = append(tn.nodes, Host{Name: name, Addr: addr, NetNSPath: "/run/netns/" + nsName})
		tn.listen(t, ns, addr)
	}
	tn.listen(t, tn.bridge, testBridgeAddr())
	return tn
}

// newTestNS makes a named namespace and removes it when the test ends.
func newTestNS(t *testing.T, name string) netns.NsHandle {
	t.Helper()
	ns, err := nsutil.NewNamedNamespace(name)
	if err != nil {
		t.Fatalf("make namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		ns.Close()
		if err := netns.DeleteNamed(name); err != nil {
			t.Errorf("remove namespace %s: %v", name, err)
		}
	})
	return ns
}

func (tn *testNet) node(name string) Host {
	for _, n := range tn.nodes {
		if n.Name == name {
			return n
		}
	}
	panic("no test node " + name)
}

// listen accepts and closes TCP connections on addr:testPort inside ns.
func (tn *testNet) listen(t *testing.T, ns netns.NsHandle, addr netip.Addr) {
	t.Helper()
	var ln net.Listener
	err := nsutil.RunInNamespace(ns, func() error {
		var err error
		ln, err = net.Listen("tcp", netip.AddrPortFrom(addr, testPort).String())
		return err
	})
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

// connect opens a TCP connection from inside the namespace of node from (or
// the bridge's, for "br") to node to, and says how long it took.
func (tn *testNet) connect(from, to string, timeout time.Duration) (time.Duration, error) {
	ns := tn.bridge
	if from != "br" {
		ns = tn.ns[from]
	}
	addr := testBridgeAddr()
	if to != "br" {
		addr = tn.node(to).Addr
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var took time.Duration
	err := nsutil.RunInNamespace(ns, func() error {
		var d net.Dialer
		start := time.Now()
		c, err := d.DialContext(ctx, "tcp", netip.AddrPortFrom(addr, testPort).String())
		took = time.Since(start)
		if err != nil {
			return err
		}
		return c.Close()
	})
	return took, err
}

// reachable and unreachable check one link on the wire.
func (tn *testNet) reachable(t *testing.T, from, to string) {
	t.Helper()
	if _, err := tn.connect(from, to, 2*time.Second); err != nil {
		t.Errorf("%s cannot connect to %s: %v", from, to, err)
	}
}

func (tn *testNet) unreachable(t *testing.T, from, to string) {
	t.Helper()
	_, err := tn.connect(from, to, 300*time.Millisecond)
	if err == nil {
		t.Errorf("%s connected to %s through the partition", from, to)
	} else if !errors.Is(err, context.DeadlineExceeded) && !isTimeout(err) {
		t.Errorf("%s to %s failed, but not by timing out (were packets rejected instead of dropped?): %v", from, to, err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func mustLinkUp(t *testing.T, h *netlink.Handle, name string) {
	t.Helper()
	l, err := h.LinkByName(name)
	if err != nil {
		t.Fatalf("find %s: %v", name, err)
	}
	if err := h.LinkSetUp(l); err != nil {
		t.Fatalf("bring %s up: %v", name, err)
	}
}

func prefix24(a netip.Addr) *net.IPNet {
	return &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(24, 32)}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
