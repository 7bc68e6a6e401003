package nemesis

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/cluster"
)

var sixNodes = []NodeInfo{
	{Name: "zk1", Role: cluster.RoleZooKeeper}, {Name: "zk2", Role: cluster.RoleZooKeeper}, {Name: "zk3", Role: cluster.RoleZooKeeper},
	{Name: "kafka1", Role: cluster.RoleKafka}, {Name: "kafka2", Role: cluster.RoleKafka}, {Name: "kafka3", Role: cluster.RoleKafka},
}

func TestPlanIsSeeded(t *testing.T) {
	o := Options{Kinds: []Kind{KindPartition, KindKill, KindPause, KindPacket}, Target: TargetMinority}.Defaults()
	a, err := Plan(o, sixNodes, 1, 5*time.Minute, Builtin())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Plan(o, sixNodes, 1, 5*time.Minute, Builtin())
	c, _ := Plan(o, sixNodes, 2, 5*time.Minute, Builtin())
	if !reflect.DeepEqual(a, b) {
		t.Error("the same seed and options gave different schedules")
	}
	if reflect.DeepEqual(a, c) {
		t.Error("different seeds gave the same schedule")
	}
	kinds := map[Kind]int{}
	for i, s := range a {
		kinds[s.Kind]++
		if s.Start != o.Interval*time.Duration(1+2*i) || s.Stop != s.Start+o.Interval {
			t.Errorf("step %d runs %s–%s, want every 2·interval, interval long", i, s.Start, s.Stop)
		}
		switch s.Kind {
		case KindPartition:
			if len(s.Grudge) == 0 {
				t.Errorf("step %d: a %s partition with no grudge drawn", i, s.Shape)
			}
		case KindKill, KindPause, KindPacket:
			if len(s.Nodes) != 2 {
				t.Errorf("step %d: minority of 6 is %v, want 2 nodes", i, s.Nodes)
			}
		}
	}
	if len(kinds) != 4 {
		t.Errorf("15 steps drew only kinds %v", kinds)
	}
}

func TestPlanTargetsAndShapes(t *testing.T) {
	o := Options{Kinds: []Kind{KindKill}, Target: TargetAll, Roles: []cluster.Role{cluster.RoleKafka}}.Defaults()
	steps, _ := Plan(o, sixNodes, 3, time.Minute, Builtin())
	for _, s := range steps {
		if !reflect.DeepEqual(s.Nodes, []string{"kafka1", "kafka2", "kafka3"}) {
			t.Errorf("kill all kafka hit %v", s.Nodes)
		}
	}
	o = Options{Kinds: []Kind{KindPartition}, Partition: ShapeZKLeader}.Defaults()
	steps, _ = Plan(o, sixNodes, 3, time.Minute, Builtin())
	if len(steps) == 0 || steps[0].Grudge != nil {
		t.Errorf("zk-leader is drawn at plan time: %+v", steps)
	}
	o = Options{Kinds: []Kind{KindPartition}, Partition: ShapeZKKafka}.Defaults()
	steps, _ = Plan(o, sixNodes, 3, time.Minute, Builtin())
	g := steps[0].Grudge
	for _, b := range []string{"kafka1", "kafka2", "kafka3"} {
		if len(g[b]) != 3 {
			t.Errorf("zk-kafka: %s drops %v, want the three ZooKeeper nodes", b, g[b])
		}
	}
	if steps, _ := Plan(Options{}.Defaults(), sixNodes, 3, time.Minute, Builtin()); steps != nil {
		t.Errorf("no kinds planned %v", steps)
	}
}

func TestParseKindsAndValidate(t *testing.T) {
	if k, err := ParseKinds("all", Builtin()); err != nil || len(k) != 4 {
		t.Errorf("all = %v, %v", k, err)
	}
	if k, err := ParseKinds("none", Builtin()); err != nil || k != nil {
		t.Errorf("none = %v, %v", k, err)
	}
	if _, err := ParseKinds("partition,explode", Builtin()); err == nil {
		t.Error("an unknown fault was accepted")
	}
	bad := []Options{
		{Kinds: []Kind{KindKill}, Target: "zk9"},
		{Kinds: []Kind{KindPartition}, Partition: "triangle"},
		{Kinds: []Kind{KindPartition}, Grudge: "zk1|zk7"},
		{Kinds: []Kind{KindKill}, Interval: time.Millisecond},
		{Kinds: []Kind{KindPartition}, Partition: ShapeHalves, Grudge: "zk1|zk2"},
		{Kinds: []Kind{KindKill}, Target: "kafka1", Roles: []cluster.Role{cluster.RoleZooKeeper}},
		{Kinds: []Kind{KindPause}, Target: TargetZKLeader, Roles: []cluster.Role{cluster.RoleKafka}},
	}
	for _, o := range bad {
		if err := o.Defaults().Validate(sixNodes, Builtin()); err == nil {
			t.Errorf("%+v was accepted", o)
		}
	}
	if roles, err := ParseRoles("both"); err != nil || len(roles) != 2 {
		t.Errorf("--nemesis-roles both = %v, %v", roles, err)
	}
}

// TestPlanHasEveryKind: kinds come in rounds, so a schedule with room for
// one of each has each; one without room is an error naming the kind.
func TestPlanHasEveryKind(t *testing.T) {
	o := Options{Kinds: []Kind{KindPartition, KindKill, KindPause}}.Defaults()
	for seed := range uint64(50) {
		steps, err := Plan(o, sixNodes, seed, 60*time.Second, Builtin())
		if err != nil {
			t.Fatal(err)
		}
		seen := map[Kind]bool{}
		for _, s := range steps {
			seen[s.Kind] = true
		}
		if len(seen) != 3 {
			t.Fatalf("seed %d: a 60s schedule of 3 faults has kinds %v", seed, seen)
		}
	}
	_, err := Plan(Options{Kinds: []Kind{KindKill}}.Defaults(), sixNodes, 1, 10*time.Second, Builtin())
	if err == nil || !strings.Contains(err.Error(), "no kill fault") {
		t.Errorf("a 10s run with a 10s interval planned kills: %v", err)
	}
}

func TestFlagsUsed(t *testing.T) {
	got := FlagsUsed([]Kind{KindPartition}, Builtin())
	if strings.Join(got, ",") != "partition,grudge" {
		t.Errorf("partition reads %v", got)
	}
	got = FlagsUsed([]Kind{KindKill, KindPacket}, Builtin())
	if strings.Join(got, ",") != "targets,nemesis-roles,packet" {
		t.Errorf("kill and packet read %v", got)
	}
}

// TestPlanAimsAtTheWorkloadsRoles: with the roles a workload exercises,
// no step of 50 seeded schedules touches only nodes outside them.
func TestPlanAimsAtTheWorkloadsRoles(t *testing.T) {
	for _, tc := range []struct {
		name  string
		roles []cluster.Role
	}{
		{"zk-register", []cluster.Role{cluster.RoleZooKeeper}},
		{"kafka-queue", []cluster.Role{cluster.RoleKafka, cluster.RoleZooKeeper}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{Kinds: []Kind{KindPartition, KindKill, KindPause, KindPacket}, Roles: tc.roles, Target: TargetMinority}.Defaults()
			role := map[string]cluster.Role{}
			for _, n := range sixNodes {
				role[n.Name] = n.Role
			}
			for seed := range uint64(50) {
				steps, err := Plan(o, sixNodes, seed, 5*time.Minute, Builtin())
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range steps {
					touched := slices.Clone(s.Nodes)
					for name, peers := range s.Grudge {
						if len(peers) > 0 {
							touched = append(touched, name)
							touched = append(touched, peers...)
						}
					}
					if len(touched) == 0 {
						t.Fatalf("seed %d: step %+v touches nothing", seed, s)
					}
					for _, n := range touched {
						if !slices.Contains(tc.roles, role[n]) {
							t.Fatalf("seed %d: %s step touches %s, outside the workload's roles %v: %+v", seed, s.Kind, n, tc.roles, s)
						}
					}
				}
			}
		})
	}
}
