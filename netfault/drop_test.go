package netfault

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netns"
)

// setDropsMap applies drops by name: each host drops the addresses of the
// hosts named for it; hosts not named drop nothing.
func (tn *testNet) setDrops(t *testing.T, ctx context.Context, drops map[string][]string) {
	t.Helper()
	for _, h := range tn.nodes {
		var addrs []netip.Addr
		for _, peer := range drops[h.Name] {
			addrs = append(addrs, tn.node(peer).Addr)
		}
		if err := SetDrops(ctx, h, addrs); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSetDropsOnTheWire(t *testing.T) {
	tn := newTestNet(t, "a", "b", "c")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	t.Cleanup(func() {
		for _, h := range tn.nodes {
			_ = SetDrops(context.Background(), h, nil)
		}
	})

	all := []string{"a", "b", "c"}
	for _, from := range all {
		for _, to := range all {
			if from != to {
				tn.reachable(t, from, to)
			}
		}
	}

	tn.setDrops(t, ctx, map[string][]string{"a": {"b"}, "b": {"a"}})
	tn.unreachable(t, "a", "b")
	tn.unreachable(t, "b", "a")
	for _, link := range [][2]string{{"c", "a"}, {"c", "b"}, {"a", "c"}, {"b", "c"}, {"br", "a"}, {"br", "b"}, {"a", "br"}} {
		tn.reachable(t, link[0], link[1])
	}

	// New drops replace the old ones.
	tn.setDrops(t, ctx, map[string][]string{"c": {"a", "b"}, "a": {"c"}, "b": {"c"}})
	tn.reachable(t, "a", "b")
	tn.reachable(t, "b", "a")
	tn.unreachable(t, "a", "c")
	tn.unreachable(t, "c", "b")
	tn.reachable(t, "br", "c")
	tn.reachable(t, "c", "br")

	tn.setDrops(t, ctx, nil)
	for _, from := range all {
		for _, to := range all {
			if from != to {
				tn.reachable(t, from, to)
			}
		}
	}
	for _, n := range tn.nodes {
		if tables := inetTables(t, n.NetNSPath); len(tables) != 0 {
			t.Errorf("%s still has inet tables %v after healing", n.Name, tables)
		}
	}
}

func TestClearingDropsLeavesOtherTables(t *testing.T) {
	tn := newTestNet(t, "a", "b")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := tn.node("a")

	// Clearing a host that has no faultline table is fine.
	tn.setDrops(t, ctx, nil)
	c, done := nftIn(t, a.NetNSPath)
	defer done()
	c.AddTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: "someone-else"})
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	tn.setDrops(t, ctx, map[string][]string{"a": {"b"}})
	if got := inetTables(t, a.NetNSPath); !equalSets(got, []string{"faultline", "someone-else"}) {
		t.Errorf("tables during the partition = %v, want faultline and someone-else", got)
	}
	tn.unreachable(t, "b", "a")
	tn.setDrops(t, ctx, nil)
	if got := inetTables(t, a.NetNSPath); !equalSets(got, []string{"someone-else"}) {
		t.Errorf("tables after healing = %v, want only someone-else", got)
	}
	tn.reachable(t, "b", "a")
}

func TestClearingDropsSkipsVanishedNamespace(t *testing.T) {
	gone := Host{Name: "zk1", Addr: netip.MustParseAddr("10.213.0.2"), NetNSPath: "/run/netns/fltest-does-not-exist"}
	if err := SetDrops(context.Background(), gone, nil); err != nil {
		t.Errorf("clearing drops on a vanished namespace: %v", err)
	}
}

func TestSetDropsRefusesBadInput(t *testing.T) {
	harness := netip.MustParseAddr("10.213.0.1")
	host := func(name, addr string) Host {
		return Host{Name: name, Addr: netip.MustParseAddr(addr), NetNSPath: "/run/netns/fltest-unused-" + name, Protected: []netip.Addr{harness}}
	}
	for _, tc := range []struct {
		name  string
		h     Host
		drops []netip.Addr
		want  string
	}{
		{"the harness", host("zk1", "10.213.0.2"), []netip.Addr{harness}, "harness"},
		{"a host at the harness address", host("zk1", "10.213.0.1"), nil, "harness address"},
		{"ipv6 host", host("zk1", "fd00::2"), nil, "IPv4"},
		{"ipv6 drop", host("zk1", "10.213.0.2"), []netip.Addr{netip.MustParseAddr("fd00::3")}, "IPv4"},
		{"no namespace", Host{Name: "zk1", Addr: netip.MustParseAddr("10.213.0.2")}, nil, "NetNSPath"},
		{"no name", Host{Addr: netip.MustParseAddr("10.213.0.2"), NetNSPath: "/x"}, nil, "no name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := SetDrops(context.Background(), tc.h, tc.drops)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("SetDrops error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestSetDropsHonoursCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h := Host{Name: "zk1", Addr: netip.MustParseAddr("10.213.0.2"), NetNSPath: "/run/netns/fltest-unused"}
	if err := SetDrops(ctx, h, []netip.Addr{netip.MustParseAddr("10.213.0.3")}); err == nil {
		t.Error("SetDrops with a cancelled context succeeded")
	}
}

// inetTables lists the names of the inet tables in the namespace at path.
func inetTables(t *testing.T, path string) []string {
	t.Helper()
	c, done := nftIn(t, path)
	defer done()
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		t.Fatalf("list tables in %s: %v", path, err)
	}
	var names []string
	for _, tb := range tables {
		names = append(names, tb.Name)
	}
	return names
}

func equalSets(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, s := range a {
		seen[s]++
	}
	for _, s := range b {
		seen[s]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}

// nftIn opens an nftables connection in the namespace at path; done
// closes the namespace handle, which the connection dials in on every call.
func nftIn(t *testing.T, path string) (c *nftables.Conn, done func()) {
	t.Helper()
	ns, err := netns.GetFromPath(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err = nftables.New(nftables.WithNetNSFd(int(ns)))
	if err != nil {
		ns.Close()
		t.Fatal(err)
	}
	return c, func() { ns.Close() }
}
