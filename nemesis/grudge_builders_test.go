package nemesis

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func numberedNodes(n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf("n%d", i+1)
	}
	return s
}

func seededRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0)) }

// sees says whether a receives b's packets under g.
func sees(g Grudge, a, b string) bool { return !slices.Contains(g[a], b) }

func checkSymmetric(t *testing.T, g Grudge) {
	t.Helper()
	for a, peers := range g {
		for _, b := range peers {
			if !slices.Contains(g[b], a) {
				t.Errorf("%s drops %s but %s does not drop %s: %v", a, b, b, a, g)
			}
		}
	}
}

// checkKnown checks that g names only nodes, none of them dropping itself.
func checkKnown(t *testing.T, g Grudge, nodes []string) {
	t.Helper()
	for name, peers := range g {
		if !slices.Contains(nodes, name) {
			t.Errorf("grudge names unknown node %s", name)
		}
		for _, p := range peers {
			if !slices.Contains(nodes, p) || p == name {
				t.Errorf("%s drops %s", name, p)
			}
		}
	}
}

// components groups the nodes by what they see, for grudges made of
// components.
func components(g Grudge, nodes []string) [][]string {
	var comps [][]string
	for _, a := range nodes {
		var c []string
		for _, b := range nodes {
			if sees(g, a, b) {
				c = append(c, b)
			}
		}
		if !slices.ContainsFunc(comps, func(x []string) bool { return slices.Equal(x, c) }) {
			comps = append(comps, c)
		}
	}
	return comps
}

func TestIsolateOne(t *testing.T) {
	for n := 2; n <= 7; n++ {
		for seed := range uint64(20) {
			nodes := numberedNodes(n)
			g := IsolateOne(nodes, seededRand(seed))
			checkSymmetric(t, g)
			checkKnown(t, g, nodes)
			var loners []string
			for _, a := range nodes {
				if len(g[a]) == n-1 {
					loners = append(loners, a)
				} else if len(g[a]) != 1 {
					t.Errorf("n=%d: %s drops %v, want the loner only", n, a, g[a])
				}
			}
			if n > 2 && len(loners) != 1 {
				t.Errorf("n=%d: loners %v, want one", n, loners)
			}
		}
	}
	if g := IsolateOne(numberedNodes(1), seededRand(1)); len(g) != 0 {
		t.Errorf("one node: %v, want no drops", g)
	}
}

func TestHalves(t *testing.T) {
	for n := 2; n <= 9; n++ {
		for seed := range uint64(20) {
			nodes := numberedNodes(n)
			g := Halves(nodes, seededRand(seed))
			checkSymmetric(t, g)
			checkKnown(t, g, nodes)
			comps := components(g, nodes)
			if len(comps) != 2 {
				t.Fatalf("n=%d: components %v, want 2", n, comps)
			}
			sizes := []int{len(comps[0]), len(comps[1])}
			slices.Sort(sizes)
			if sizes[0] != n/2 || sizes[1] != n-n/2 {
				t.Errorf("n=%d: sizes %v, want %d and %d", n, sizes, n/2, n-n/2)
			}
		}
	}
}

func TestBridge(t *testing.T) {
	for n := 3; n <= 9; n++ {
		for seed := range uint64(20) {
			nodes := numberedNodes(n)
			g := Bridge(nodes, seededRand(seed))
			checkSymmetric(t, g)
			checkKnown(t, g, nodes)
			var bridges []string
			for _, a := range nodes {
				seesAll := true
				for _, b := range nodes {
					seesAll = seesAll && sees(g, a, b) && sees(g, b, a)
				}
				if seesAll {
					bridges = append(bridges, a)
				}
			}
			if len(bridges) != 1 {
				t.Fatalf("n=%d: nodes that see and are seen by all: %v, want one bridge: %v", n, bridges, g)
			}
			var rest []string
			for _, a := range nodes {
				if a != bridges[0] {
					rest = append(rest, a)
				}
			}
			comps := components(g, rest)
			if len(comps) != 2 {
				t.Fatalf("n=%d: without the bridge, components %v, want 2", n, comps)
			}
			sizes := []int{len(comps[0]), len(comps[1])}
			slices.Sort(sizes)
			if want := []int{(n - 1) - n/2, n / 2}; !slices.Equal(sizes, want) && !slices.Equal(sizes, []int{want[1], want[0]}) {
				t.Errorf("n=%d: halves %v, want %v", n, sizes, want)
			}
		}
	}
	if g := Bridge(numberedNodes(2), seededRand(1)); len(g) != 0 {
		t.Errorf("two nodes: %v, want no drops", g)
	}
}

func TestMajoritiesRing(t *testing.T) {
	for n := 3; n <= 15; n++ {
		for seed := range uint64(50) {
			nodes := numberedNodes(n)
			g := MajoritiesRing(nodes, seededRand(seed))
			checkKnown(t, g, nodes)
			if n != 3 {
				checkSymmetric(t, g)
			}
			var views [][]string
			for _, a := range nodes {
				var view []string
				for _, b := range nodes {
					if sees(g, a, b) {
						view = append(view, b)
					}
				}
				if !slices.Contains(view, a) {
					t.Errorf("n=%d seed=%d: %s drops itself", n, seed, a)
				}
				if len(view) < majority(n) {
					t.Errorf("n=%d seed=%d: %s sees %v, not a majority", n, seed, a, view)
				}
				if slices.ContainsFunc(views, func(v []string) bool { return slices.Equal(v, view) }) {
					t.Errorf("n=%d seed=%d: two nodes see the same majority %v", n, seed, view)
				}
				views = append(views, view)
			}
			if n <= 5 {
				for _, a := range nodes {
					if len(g[a]) != n-majority(n) {
						t.Errorf("n=%d: exact ring: %s drops %v, want %d nodes", n, a, g[a], n-majority(n))
					}
				}
			}
		}
	}
	if g := MajoritiesRing(numberedNodes(2), seededRand(1)); len(g) != 0 {
		t.Errorf("two nodes: %v, want no drops", g)
	}
}

func TestBuildersAreDeterministic(t *testing.T) {
	nodes := numberedNodes(7)
	for name, build := range map[string]func([]string, *rand.Rand) Grudge{
		"IsolateOne": IsolateOne, "Halves": Halves, "Bridge": Bridge, "MajoritiesRing": MajoritiesRing,
	} {
		if a, b := build(nodes, seededRand(42)), build(nodes, seededRand(42)); !reflect.DeepEqual(a, b) {
			t.Errorf("%s differs for the same seed: %v vs %v", name, a, b)
		}
	}
}

func TestIsolate(t *testing.T) {
	nodes := []string{"zk1", "zk2", "zk3", "kafka1"}
	g := Isolate(nodes, "zk1", "kafka1")
	checkSymmetric(t, g)
	checkKnown(t, g, nodes)
	want := Grudge{
		"zk1":    {"kafka1", "zk2", "zk3"},
		"kafka1": {"zk1", "zk2", "zk3"},
		"zk2":    {"zk1", "kafka1"},
		"zk3":    {"zk1", "kafka1"},
	}
	if !sameGrudge(g, want) {
		t.Errorf("Isolate = %v, want %v", g, want)
	}
	if err := applyGrudge(context.Background(), newFakeCluster(nodes...), Isolate(nodes, "zk9")); err == nil || !strings.Contains(err.Error(), "zk9") {
		t.Errorf("applying a grudge isolating an unknown node: %v", err)
	}
}

func TestSplit(t *testing.T) {
	zks, brokers := []string{"zk1", "zk2", "zk3"}, []string{"kafka1", "kafka2"}
	g := Split([][]string{zks, brokers})
	checkSymmetric(t, g)
	for _, z := range zks {
		for _, k := range brokers {
			if sees(g, z, k) || sees(g, k, z) {
				t.Errorf("%s and %s still see each other", z, k)
			}
		}
		for _, z2 := range zks {
			if !sees(g, z, z2) {
				t.Errorf("%s cannot see %s", z, z2)
			}
		}
	}
	for _, k := range brokers {
		for _, k2 := range brokers {
			if !sees(g, k, k2) {
				t.Errorf("%s cannot see %s", k, k2)
			}
		}
	}
}

func sameGrudge(a, b Grudge) bool {
	norm := func(g Grudge) map[string][]string {
		m := map[string][]string{}
		for k, v := range g {
			if len(v) > 0 {
				m[k] = slices.Sorted(slices.Values(v))
			}
		}
		return m
	}
	return reflect.DeepEqual(norm(a), norm(b))
}
