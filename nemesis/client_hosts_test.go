package nemesis

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/cluster"
)

func clientInfos(c *fakeCluster) []NodeInfo {
	infos := Infos(specsOf(c))
	for _, h := range c.hosts {
		infos = append(infos, NodeInfo{Name: h.name, Role: cluster.RoleClient})
	}
	return infos
}

// TestClientShapeCutsAHostFromTheServers: the client shape draws a client
// host and cuts it off from every server (not from other client hosts).
func TestClientShapeCutsAHostFromTheServers(t *testing.T) {
	c := newFakeCluster("zk1", "zk2", "zk3").withHosts(2)
	o := Options{Kinds: []Kind{KindPartition}, Partition: ShapeClient}.Defaults()
	if err := o.Validate(clientInfos(c), Builtin()); err != nil {
		t.Fatal(err)
	}
	s, err := (&partitionFault{}).Draw(o, clientInfos(c), rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Nodes) != 1 {
		t.Fatalf("drew %v", s.Nodes)
	}
	host := s.Nodes[0]
	s.Kind, s.Stop = KindPartition, time.Hour
	nem := New(&Env{Cluster: c, Options: o, WorkloadRoles: []cluster.Role{cluster.RoleZooKeeper}}, Builtin(), &memRecorder{}, []Step{s})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	nem.Run(ctx, time.Now())
	if got := c.host(host).dropped(); !slices.Equal(got, []string{"zk1", "zk2", "zk3"}) {
		t.Errorf("%s drops %v", host, got)
	}
	for _, n := range c.nodes {
		if got := n.dropped(); !slices.Equal(got, []string{host}) {
			t.Errorf("%s drops %v, want only %s", n.name, got, host)
		}
	}
	other := "c1"
	if host == "c1" {
		other = "c2"
	}
	if got := c.host(other).dropped(); len(got) != 0 {
		t.Errorf("the other host %s drops %v", other, got)
	}
	if err := nem.HealAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := c.host(host).dropped(); len(got) != 0 {
		t.Errorf("after healing %s drops %v", host, got)
	}
}

// TestClientFromLeaderCutsOnlyTheLeader: resolved when it starts, against
// whoever leads then; the start records that it touched the workload.
func TestClientFromLeaderCutsOnlyTheLeader(t *testing.T) {
	c := newFakeCluster("zk1", "zk2", "zk3").withHosts(1)
	c.leader = "zk2"
	rec := &memRecorder{}
	steps := []Step{{Kind: KindPartition, Shape: ShapeClientFromLeader, Nodes: []string{"c1"}, Stop: time.Hour}}
	nem := New(&Env{Cluster: c, Options: Options{}.Defaults(), WorkloadRoles: []cluster.Role{cluster.RoleKafka}}, Builtin(), rec, steps)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	nem.Run(ctx, time.Now())
	if got := c.host("c1").dropped(); !slices.Equal(got, []string{"zk2"}) {
		t.Errorf("c1 drops %v", got)
	}
	if got := c.nodes[1].dropped(); !slices.Equal(got, []string{"c1"}) {
		t.Errorf("zk2 drops %v", got)
	}
	if got := c.nodes[0].dropped(); len(got) != 0 {
		t.Errorf("zk1 drops %v", got)
	}
	starts := completions(rec.ops(), "start-partition")
	if len(starts) != 1 || !strings.Contains(string(starts[0].Value), `"on_workload":true`) {
		t.Errorf("start recorded as %v", starts)
	}
}

// TestGrudgeNamesClientHosts: an explicit grudge may name client hosts;
// the client shapes need some.
func TestGrudgeNamesClientHosts(t *testing.T) {
	c := newFakeCluster("zk1", "zk2", "zk3").withHosts(1)
	o := Options{Kinds: []Kind{KindPartition}, Grudge: "c1|zk1,zk2,zk3"}.Defaults()
	if err := o.Validate(clientInfos(c), Builtin()); err != nil {
		t.Fatal(err)
	}
	noHosts := newFakeCluster("zk1", "zk2", "zk3")
	for _, shape := range []string{ShapeClient, ShapeClientFromLeader} {
		o := Options{Kinds: []Kind{KindPartition}, Partition: shape}.Defaults()
		if err := o.Validate(clientInfos(noHosts), Builtin()); err == nil || !strings.Contains(err.Error(), "--client-hosts") {
			t.Errorf("%s without client hosts: %v", shape, err)
		}
	}
	if err := (Options{Kinds: []Kind{KindPartition}, Grudge: "c1|zk1,zk2,zk3"}.Defaults()).Validate(clientInfos(noHosts), Builtin()); err == nil {
		t.Error("a grudge naming a client host the cluster lacks passed")
	}
}
