package netfault

import (
	"fmt"
	"net/netip"
	"slices"
)

// Host is one network namespace the harness can fault, a node's: its
// name, its IPv4 address on the run's network, the path of its network
// namespace (for example /run/netns/faultline-<run>-zk1), and the addresses
// no fault may ever drop there (the harness's own, where its clients
// connect from).
type Host struct {
	Name      string
	Addr      netip.Addr
	NetNSPath string
	Protected []netip.Addr
}

// validateNode checks that a host is a usable target: named, with an IPv4
// address that is not a protected one, and a namespace path.
func validateNode(n Host) error {
	switch {
	case n.Name == "":
		return fmt.Errorf("a node at %s has no name: set Host.Name", n.Addr)
	case !n.Addr.Is4():
		return fmt.Errorf("node %s has address %q: set Host.Addr to its IPv4 address", n.Name, n.Addr)
	case slices.Contains(n.Protected, n.Addr):
		return fmt.Errorf("node %s has the harness address %s, which faults never drop: give the node its own address", n.Name, n.Addr)
	case n.NetNSPath == "":
		return fmt.Errorf("node %s has no network namespace: set Host.NetNSPath (for example /run/netns/<name>)", n.Name)
	}
	return nil
}
