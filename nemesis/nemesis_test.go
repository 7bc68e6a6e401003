package nemesis

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/history"
)

// run runs steps against c as a run would, then heals, and returns the
// history.
func runSteps(t *testing.T, c *fakeCluster, o Options, steps []Step, stopAfter time.Duration) []history.Op {
	t.Helper()
	rec := &memRecorder{}
	nem := New(&Env{Cluster: c, Options: o.Defaults(), Seed: 1}, Builtin(), rec, steps)
	ctx, cancel := context.WithTimeout(context.Background(), stopAfter)
	defer cancel()
	nem.Run(ctx, time.Now())
	if err := nem.HealAll(context.Background()); err != nil {
		t.Fatalf("heal: %v", err)
	}
	return rec.ops()
}

// completions returns the nemesis's completed ops of f.
func completions(ops []history.Op, f string) []history.Op {
	var out []history.Op
	for _, op := range ops {
		if op.F == f && op.Type != history.Invoke {
			out = append(out, op)
		}
	}
	return out
}

func TestNemesisAppliesAndStopsAPartition(t *testing.T) {
	c := newFakeCluster("zk1", "zk2", "zk3")
	steps := []Step{{Kind: KindPartition, Start: 0, Stop: 50 * time.Millisecond, Shape: ShapeGrudge, Grudge: Grudge{"zk1": {"zk2", "zk3"}, "zk2": {"zk1"}, "zk3": {"zk1"}}}}
	during := make(chan []string, 1)
	go func() {
		time.Sleep(25 * time.Millisecond)
		during <- c.nodes[0].dropped()
	}()
	ops := runSteps(t, c, Options{Kinds: []Kind{KindPartition}}, steps, time.Second)
	if got := <-during; !slices.Equal(got, []string{"zk2", "zk3"}) {
		t.Errorf("during the partition zk1 drops %v, want zk2 and zk3", got)
	}
	for _, n := range c.nodes {
		if d := n.dropped(); len(d) != 0 {
			t.Errorf("%s still drops %v after the stop and heal", n.name, d)
		}
	}
	start := completions(ops, "start-partition")
	if len(start) != 1 || start[0].Error != "" || !strings.Contains(string(start[0].Value), `"zk1":["zk2","zk3"]`) {
		t.Errorf("start-partition recorded as %v", start)
	}
	if len(completions(ops, "stop-partition")) != 1 || len(completions(ops, "heal")) != 1 {
		t.Errorf("stop and heal not both recorded: %v", ops)
	}
	if _, err := history.Pair(ops); err != nil {
		t.Errorf("nemesis ops do not pair: %v", err)
	}
}

// TestNemesisRecordsAnUnavailableFault: a fault the cluster cannot run is
// recorded as a failed start, with the reason, and nothing is applied.
func TestNemesisRecordsAnUnavailableFault(t *testing.T) {
	c := newFakeCluster("zk1", "zk2", "zk3")
	c.noNet = true
	steps := []Step{{Kind: KindPartition, Stop: 10 * time.Millisecond, Shape: ShapeOne, Grudge: Grudge{"zk1": {"zk2"}}}}
	ops := runSteps(t, c, Options{Kinds: []Kind{KindPartition}}, steps, time.Second)
	start := completions(ops, "start-partition")
	if len(start) != 1 || !strings.Contains(start[0].Error, "not available on this cluster") || !strings.Contains(start[0].Error, "no network capability") {
		t.Fatalf("start-partition recorded as %+v", start)
	}
}

func TestNemesisRecordsAFailedStart(t *testing.T) {
	c := newFakeCluster("zk1", "zk2", "zk3")
	c.nodes[1].failDrop = errors.New("nftables said no")
	steps := []Step{{Kind: KindPartition, Stop: 10 * time.Millisecond, Shape: ShapeGrudge, Grudge: Grudge{"zk1": {"zk2"}, "zk2": {"zk1"}}}}
	ops := runSteps(t, c, Options{Kinds: []Kind{KindPartition}}, steps, time.Second)
	start := completions(ops, "start-partition")
	if len(start) != 1 || !strings.Contains(start[0].Error, "nftables said no") {
		t.Fatalf("start-partition recorded as %+v", start)
	}
}

// TestHealAllAfterAnInterruption: the run ends while a fault is in place;
// HealAll stops it and heals every kind on every node.
func TestHealAllAfterAnInterruption(t *testing.T) {
	c := newFakeCluster("zk1", "zk2", "zk3", "kafka1")
	steps := []Step{
		{Kind: KindKill, Start: 0, Stop: 10 * time.Millisecond, Target: "zk1", Nodes: []string{"zk1"}},
		{Kind: KindPause, Start: 20 * time.Millisecond, Stop: time.Hour, Target: "zk2", Nodes: []string{"zk2"}},
	}
	// Faults the nemesis knows nothing of are healed too.
	c.nodes[3].drops = []netip.Addr{c.nodes[0].addr}
	c.nodes[3].shaped = true
	c.nodes[2].paused = true
	ops := runSteps(t, c, Options{Kinds: []Kind{KindKill, KindPause}}, steps, 100*time.Millisecond)
	for _, n := range c.nodes {
		if !n.running || n.paused || n.shaped || len(n.drops) > 0 {
			t.Errorf("%s after HealAll: running %v, paused %v, shaped %v, drops %v", n.name, n.running, n.paused, n.shaped, n.drops)
		}
	}
	if stops := completions(ops, "stop-pause"); len(stops) != 1 || !strings.Contains(string(stops[0].Value), "zk2") {
		t.Errorf("the pause in place was not stopped: %v", stops)
	}
	heal := completions(ops, "heal")
	if len(heal) != 1 || heal[0].Error != "" {
		t.Fatalf("heal recorded as %v", heal)
	}
	for _, kind := range []string{"partition", "kill", "pause", "packet"} {
		if !strings.Contains(string(heal[0].Value), `"`+kind+`"`) {
			t.Errorf("heal %s does not say what it did for %s", heal[0].Value, kind)
		}
	}
}

// TestStartRecordsWhetherItTouchedTheWorkload: a start says whether it
// touched a node of the roles the workload exercises.
func TestStartRecordsWhetherItTouchedTheWorkload(t *testing.T) {
	c := newFakeCluster("zk1", "zk2", "zk3", "kafka1")
	steps := []Step{
		{Kind: KindKill, Start: 0, Stop: 5 * time.Millisecond, Target: "kafka1", Nodes: []string{"kafka1"}},
		{Kind: KindKill, Start: 10 * time.Millisecond, Stop: 15 * time.Millisecond, Target: "zk1", Nodes: []string{"zk1"}},
	}
	rec := &memRecorder{}
	env := &Env{Cluster: c, Options: Options{Kinds: []Kind{KindKill}}.Defaults(), WorkloadRoles: []cluster.Role{cluster.RoleZooKeeper}}
	nem := New(env, Builtin(), rec, steps)
	nem.Run(context.Background(), time.Now())
	starts := completions(rec.ops(), "start-kill")
	if len(starts) != 2 || !strings.Contains(string(starts[0].Value), `"on_workload":false`) || !strings.Contains(string(starts[1].Value), `"on_workload":true`) {
		t.Errorf("starts %v", starts)
	}
}
