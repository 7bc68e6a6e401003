package nemesis

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netns"
)

func TestApplyGrudgeOnTheWire(t *testing.T) {
	tn := newTestNet(t, "a", "b", "c")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	t.Cleanup(func() { _ = HealPartitions(context.Background(), tn.nodes) })

	all := []string{"a", "b", "c"}
	for _, from := range all {
		for _, to := range all {
			if from != to {
				tn.reachable(t, from, to)
			}
		}
	}

	cut := Grudge{"a": {"b"}, "b": {"a"}}
	if err := ApplyGrudge(ctx, tn.nodes, cut); err != nil {
		t.Fatal(err)
	}
	tn.unreachable(t, "a", "b")
	tn.unreachable(t, "b", "a")
	for _, link := range [][2]string{{"c", "a"}, {"c", "b"}, {"a", "c"}, {"b", "c"}, {"br", "a"}, {"br", "b"}, {"a", "br"}} {
		tn.reachable(t, link[0], link[1])
	}
	if got, want := cut.Describe(tn.nodes), "a drops b (10.214.0.3); b drops a (10.214.0.2)"; got != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}

	// A new grudge replaces the old one.
	if err := ApplyGrudge(ctx, tn.nodes, Isolate(tn.names(), "c")); err != nil {
		t.Fatal(err)
	}
	tn.reachable(t, "a", "b")
	tn.reachable(t, "b", "a")
	tn.unreachable(t, "a", "c")
	tn.unreachable(t, "c", "b")
	tn.reachable(t, "br", "c")
	tn.reachable(t, "c", "br")

	if err := HealPartitions(ctx, tn.nodes); err != nil {
		t.Fatal(err)
	}
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

func TestHealPartitionsLeavesOtherTables(t *testing.T) {
	tn := newTestNet(t, "a", "b")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := tn.node("a")

	// Healing a node that has no faultline table is fine.
	if err := HealPartitions(ctx, tn.nodes); err != nil {
		t.Fatalf("heal with nothing to heal: %v", err)
	}
	c, done := nftIn(t, a.NetNSPath)
	defer done()
	c.AddTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: "someone-else"})
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := ApplyGrudge(ctx, tn.nodes, Grudge{"a": {"b"}}); err != nil {
		t.Fatal(err)
	}
	if got := inetTables(t, a.NetNSPath); !equalSets(got, []string{"faultline", "someone-else"}) {
		t.Errorf("tables during the partition = %v, want faultline and someone-else", got)
	}
	tn.unreachable(t, "b", "a")
	if err := HealPartitions(ctx, tn.nodes); err != nil {
		t.Fatal(err)
	}
	if got := inetTables(t, a.NetNSPath); !equalSets(got, []string{"someone-else"}) {
		t.Errorf("tables after healing = %v, want only someone-else", got)
	}
	tn.reachable(t, "b", "a")
}

func TestHealPartitionsSkipsVanishedNamespace(t *testing.T) {
	gone := []NodeNet{{Name: "zk1", Addr: netip.MustParseAddr("10.213.0.2"), NetNSPath: "/run/netns/fltest-does-not-exist"}}
	if err := HealPartitions(context.Background(), gone); err != nil {
		t.Errorf("HealPartitions on a vanished namespace: %v", err)
	}
}

func TestApplyGrudgeRefusesBadInput(t *testing.T) {
	node := func(name, addr string) NodeNet {
		return NodeNet{Name: name, Addr: netip.MustParseAddr(addr), NetNSPath: "/run/netns/fltest-unused-" + name}
	}
	nodes := []NodeNet{node("zk1", "10.213.0.2"), node("zk2", "10.213.0.3")}
	for _, tc := range []struct {
		name  string
		nodes []NodeNet
		g     Grudge
		want  string
	}{
		{"unknown dropper", nodes, Grudge{"zk9": {"zk1"}}, `unknown node "zk9"`},
		{"unknown peer", nodes, Grudge{"zk1": {"zk9"}}, `drop unknown node "zk9"`},
		{"self", nodes, Grudge{"zk1": {"zk1"}}, "drop itself"},
		{"harness address", []NodeNet{node("zk1", "10.213.0.2"), node("zk2", "10.213.0.1")}, Grudge{"zk1": {"zk2"}}, "harness address"},
		{"ipv6", []NodeNet{node("zk1", "10.213.0.2"), node("zk2", "fd00::2")}, Grudge{"zk1": {"zk2"}}, "IPv4"},
		{"shared address", []NodeNet{node("zk1", "10.213.0.2"), node("zk2", "10.213.0.2")}, Grudge{"zk1": {"zk2"}}, "share address"},
		{"twice", []NodeNet{node("zk1", "10.213.0.2"), node("zk1", "10.213.0.3")}, Grudge{}, "listed twice"},
		{"no namespace", []NodeNet{{Name: "zk1", Addr: netip.MustParseAddr("10.213.0.2")}}, Grudge{}, "NetNSPath"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ApplyGrudge(context.Background(), tc.nodes, tc.g)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ApplyGrudge error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestApplyGrudgeHonoursCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	nodes := []NodeNet{{Name: "zk1", Addr: netip.MustParseAddr("10.213.0.2"), NetNSPath: "/run/netns/fltest-unused"}}
	if err := ApplyGrudge(ctx, nodes, Grudge{}); err == nil {
		t.Error("ApplyGrudge with a cancelled context succeeded")
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
