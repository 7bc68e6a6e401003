package local

import (
	"context"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/faultline/faultline/cluster"
)

// TestClientHostsDialFromTheirOwnAddress: a cluster with client hosts
// gives each a namespace and address of its own; a connection from c1
// comes from c1's address, a drop on the server cuts c1 (and only c1) off,
// and the namespaces go with the cluster.
func TestClientHostsDialFromTheirOwnAddress(t *testing.T) {
	c := upCluster(t, cluster.Options{ZooKeeperNodes: 1, KafkaNodes: 0, ClientHosts: 2})
	hosts := c.ClientHosts()
	if len(hosts) != 2 || hosts[0].Name() != "c1" || hosts[1].Name() != "c2" {
		t.Fatalf("client hosts %v", hosts)
	}
	zk1 := mustNode(t, c, "zk1")
	dial := func(d func(ctx context.Context, network, address string) (net.Conn, error)) (netip.Addr, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		conn, err := d(ctx, "tcp", zk1.ClientAddr())
		if err != nil {
			return netip.Addr{}, err
		}
		defer conn.Close()
		return conn.LocalAddr().(*net.TCPAddr).AddrPort().Addr().Unmap(), nil
	}
	for _, h := range hosts {
		from, err := dial(h.Dial)
		if err != nil {
			t.Fatalf("dial zk1 from %s: %v", h.Name(), err)
		}
		if from != h.Addr() {
			t.Errorf("a connection from %s comes from %s, want %s", h.Name(), from, h.Addr())
		}
	}
	if from, err := dial(c.Dial); err != nil || from != cluster.HarnessAddr {
		t.Errorf("the harness's dial comes from %s (%v), want %s", from, err, cluster.HarnessAddr)
	}
	// zk1 drops c1: c1 cannot connect, c2 and the harness can.
	ctx := context.Background()
	if err := zk1.Network().Drop(ctx, []netip.Addr{hosts[0].Addr()}); err != nil {
		t.Fatal(err)
	}
	if _, err := dial(hosts[0].Dial); err == nil {
		t.Error("c1 still connects to zk1, which drops it")
	}
	if _, err := dial(hosts[1].Dial); err != nil {
		t.Errorf("c2 cannot connect: %v", err)
	}
	if err := zk1.Network().Drop(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := dial(hosts[0].Dial); err != nil {
		t.Errorf("c1 cannot connect after the drop is cleared: %v", err)
	}
	// The host takes drops of its own, as a node does.
	if err := hosts[1].Network().Drop(ctx, []netip.Addr{zk1.Addr()}); err != nil {
		t.Fatal(err)
	}
	if _, err := dial(hosts[1].Dial); err == nil {
		t.Error("c2 connects to zk1, whose packets it drops")
	}
	ns := nsPath(nodeNSName(c.ID(), "c1"))
	if _, err := os.Stat(ns); err != nil {
		t.Fatalf("c1's namespace: %v", err)
	}
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := c.Close(cctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(ns); !os.IsNotExist(err) {
		t.Errorf("c1's namespace is left after Close: %v", err)
	}
}
