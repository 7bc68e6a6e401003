package nemesis

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// A Grudge says which packets each node drops: it maps a node's name to the
// names of the nodes whose packets it drops on arrival. A node absent from
// the map drops nothing. Cutting a link both ways takes two entries.
type Grudge map[string][]string

// Validate checks the grudge against the nodes it will be applied to: every
// name must be one of them, and no node may drop itself.
func (g Grudge) Validate(nodes []NodeNet) error {
	known := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		known[n.Name] = true
	}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(g)) {
		if !known[name] {
			errs = append(errs, fmt.Errorf("grudge names unknown node %q: use one of %s", name, strings.Join(netNames(nodes), ", ")))
			continue
		}
		for _, peer := range g[name] {
			switch {
			case peer == name:
				errs = append(errs, fmt.Errorf("grudge makes %s drop itself: remove %s from its own list", name, name))
			case !known[peer]:
				errs = append(errs, fmt.Errorf("grudge makes %s drop unknown node %q: use one of %s", name, peer, strings.Join(netNames(nodes), ", ")))
			}
		}
	}
	return errors.Join(errs...)
}

// Describe says, for the history, which node drops packets from which
// addresses, in name order, e.g. "zk1 drops zk2 (10.213.0.3); zk2 drops zk1
// (10.213.0.2)". Peers not among nodes are shown without an address.
func (g Grudge) Describe(nodes []NodeNet) string {
	addrs := make(map[string]string, len(nodes))
	for _, n := range nodes {
		addrs[n.Name] = n.Addr.String()
	}
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(g)) {
		peers := slices.Sorted(slices.Values(g[name]))
		peers = slices.Compact(peers)
		if len(peers) == 0 {
			continue
		}
		shown := make([]string, len(peers))
		for i, p := range peers {
			shown[i] = p
			if a, ok := addrs[p]; ok {
				shown[i] = p + " (" + a + ")"
			}
		}
		parts = append(parts, name+" drops "+strings.Join(shown, ", "))
	}
	if len(parts) == 0 {
		return "no node drops any packets"
	}
	return strings.Join(parts, "; ")
}

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

func netNames(nodes []NodeNet) []string {
	names := make([]string, len(nodes))
	for i, n := range nodes {
		names[i] = n.Name
	}
	return names
}
