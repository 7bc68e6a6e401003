package nemesis

import (
	"slices"
)

// A Grudge says which packets each node drops: it maps a node's name to the
// names of the nodes whose packets it drops on arrival. A node absent from
// the map drops nothing. Cutting a link both ways takes two entries.
type Grudge map[string][]string

// completeGrudge is Jepsen's complete-grudge: each node drops every node
// outside its own component, so components only see themselves.
func completeGrudge(components [][]string) Grudge {
	g := Grudge{}
	for i, c := range components {
		var others []string
		for j, d := range components {
			if i != j {
				others = append(others, d...)
			}
		}
		for _, n := range c {
			if len(others) > 0 {
				g[n] = slices.Clone(others)
			}
		}
	}
	return g
}
