package nemesis

import (
	"math/rand/v2"
	"slices"
)

// The builders below follow Jepsen's jepsen.nemesis. They are pure and do not
// check their input: a grudge that names unknown nodes or makes a node drop
// itself is refused by Grudge.Validate, which ApplyGrudge calls. With too few
// nodes for a shape they return a grudge with no drops.

// IsolateOne cuts one random node off from all the others, both ways
// (Jepsen's partition-random-node).
func IsolateOne(nodes []string, rng *rand.Rand) Grudge {
	if len(nodes) < 2 {
		return Grudge{}
	}
	return Isolate(nodes, nodes[rng.IntN(len(nodes))])
}

// Halves splits the nodes at random into two sides that cannot reach each
// other: a minority of ⌊n/2⌋ nodes and a majority of the rest (Jepsen's
// partition-random-halves).
func Halves(nodes []string, rng *rand.Rand) Grudge {
	minority, majority := bisect(shuffled(nodes, rng))
	return completeGrudge([][]string{minority, majority})
}

// Bridge splits the nodes at random into two halves that cannot reach each
// other, except for one node of the larger half, the bridge, which sees both
// halves and which both halves see (Jepsen's bridge). It needs three nodes.
func Bridge(nodes []string, rng *rand.Rand) Grudge {
	if len(nodes) < 3 {
		return Grudge{}
	}
	left, right := bisect(shuffled(nodes, rng))
	// right[0] is the bridge: in no component, it drops nothing and nobody
	// drops it.
	return completeGrudge([][]string{left, right[1:]})
}

// Isolate cuts each isolated node off from every other node, both ways; the
// rest still see each other.
func Isolate(nodes []string, isolated ...string) Grudge {
	components := make([][]string, 0, len(isolated)+1)
	for _, name := range isolated {
		components = append(components, []string{name})
	}
	rest := slices.DeleteFunc(slices.Clone(nodes), func(n string) bool { return slices.Contains(isolated, n) })
	if len(rest) > 0 {
		components = append(components, rest)
	}
	return completeGrudge(components)
}

// Split cuts the nodes into groups, each of which sees only itself (Jepsen's
// complete-grudge). Split([][]string{zks, brokers}) cuts every broker off from
// the ensemble while each side still sees itself.
func Split(groups [][]string) Grudge {
	return completeGrudge(groups)
}

// bisect cuts nodes in two, the smaller half (⌊n/2⌋ nodes) first, as
// Jepsen's bisect does.
func bisect(nodes []string) (smaller, larger []string) {
	return nodes[:len(nodes)/2], nodes[len(nodes)/2:]
}

func shuffled(nodes []string, rng *rand.Rand) []string {
	s := slices.Clone(nodes)
	rng.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
	return s
}
