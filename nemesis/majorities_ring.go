package nemesis

import (
	"math/rand/v2"
	"slices"
)

// MajoritiesRing is Jepsen's majorities-ring: every node sees a majority of
// the nodes (itself included), but no two nodes see the same majority, so
// every node believes it is in a majority while no majority agrees on who is
// in it. Up to five nodes it is an exact ring: each node sees the ⌊n/2⌋+1
// nodes of the window around it. Above five, where exact rings do not always
// exist, it joins random pairs of the least-connected nodes until each sees
// a majority, drawing again if two nodes ended up seeing the same set. Links
// are cut both ways in the larger case; in the exact ring they are for odd
// windows (n = 4, 5) and one way for n = 3, as in Jepsen. Fewer than three
// nodes have no such grudge: the result then drops nothing.
func MajoritiesRing(nodes []string, rng *rand.Rand) Grudge {
	switch n := len(nodes); {
	case n < 3:
		return Grudge{}
	case n <= 5:
		return majoritiesRingExact(nodes, rng)
	default:
		return majoritiesRingStochastic(nodes, rng)
	}
}

// majority is the smallest number of nodes that is more than half of n.
func majority(n int) int { return n/2 + 1 }

// majoritiesRingExact shuffles the nodes into a ring and gives each window
// of a majority of consecutive nodes to the node at its middle.
func majoritiesRingExact(nodes []string, rng *rand.Rand) Grudge {
	ring := shuffled(nodes, rng)
	n, m := len(ring), majority(len(ring))
	g := Grudge{}
	for i := range n {
		window := make([]string, m)
		for j := range m {
			window[j] = ring[(i+j)%n]
		}
		g[window[m/2]] = dropsOutside(ring, window)
	}
	return g
}

// maxRingDraws bounds how often the stochastic ring is drawn again; past it
// the last draw is used even if two nodes see the same majority.
const maxRingDraws = 1000

func majoritiesRingStochastic(nodes []string, rng *rand.Rand) Grudge {
	order := shuffled(nodes, rng)
	var sees [][]bool
	for range maxRingDraws {
		sees = drawRing(len(order), rng)
		if distinctRows(sees) {
			break
		}
	}
	g := Grudge{}
	for i, name := range order {
		for j, peer := range order {
			if !sees[i][j] {
				g[name] = append(g[name], peer)
			}
		}
	}
	return g
}

// drawRing links nodes 0..n-1 symmetrically: while some node sees fewer
// than a majority, one of the least connected links to a random node it does
// not see yet, chosen among the least connected of those. sees[i][j] says
// whether i sees j.
func drawRing(n int, rng *rand.Rand) [][]bool {
	m := majority(n)
	sees := make([][]bool, n)
	count := make([]int, n)
	for i := range sees {
		sees[i] = make([]bool, n)
		sees[i][i] = true
		count[i] = 1
	}
	for {
		a := leastConnected(n, count, rng, func(i int) bool { return count[i] < m })
		if a < 0 {
			return sees
		}
		b := leastConnected(n, count, rng, func(i int) bool { return !sees[a][i] })
		sees[a][b], sees[b][a] = true, true
		count[a]++
		count[b]++
	}
}

// leastConnected picks at random one of the nodes that satisfy ok and have
// the fewest links, or -1 if none satisfies ok.
func leastConnected(n int, count []int, rng *rand.Rand, ok func(int) bool) int {
	var best []int
	for i := range n {
		switch {
		case !ok(i):
		case len(best) == 0 || count[i] < count[best[0]]:
			best = append(best[:0], i)
		case count[i] == count[best[0]]:
			best = append(best, i)
		}
	}
	if len(best) == 0 {
		return -1
	}
	return best[rng.IntN(len(best))]
}

func distinctRows(rows [][]bool) bool {
	for i := range rows {
		for j := range i {
			if slices.Equal(rows[i], rows[j]) {
				return false
			}
		}
	}
	return true
}

// dropsOutside lists the nodes of all that are not in seen, in all's order.
func dropsOutside(all, seen []string) []string {
	var drops []string
	for _, n := range all {
		if !slices.Contains(seen, n) {
			drops = append(drops, n)
		}
	}
	return drops
}
