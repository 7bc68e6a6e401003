package nemesis

import (
	"errors"
	"fmt"
	"net/netip"
)

// NodeNet is where a nemesis applies network faults to one node: its name,
// its IPv4 address on the run's network and the path of its network
// namespace (for example /run/netns/faultline-<run>-zk1).
type NodeNet struct {
	Name      string
	Addr      netip.Addr
	NetNSPath string
}

// harnessAddr is the bridge side of the run's network, where the harness and
// its clients connect from. No fault may ever drop it.
func harnessAddr() netip.Addr { return netip.AddrFrom4([4]byte{10, 213, 0, 1}) }

// validateNodes checks that nodes are usable targets: named, distinct, with
// an IPv4 address that is not the harness's and a namespace path.
func validateNodes(nodes []NodeNet) error {
	names := make(map[string]bool, len(nodes))
	addrs := make(map[netip.Addr]string, len(nodes))
	var errs []error
	for _, n := range nodes {
		if err := validateNode(n); err != nil {
			errs = append(errs, err)
			continue
		}
		if names[n.Name] {
			errs = append(errs, fmt.Errorf("node %s is listed twice: pass each node once", n.Name))
		}
		names[n.Name] = true
		if other, ok := addrs[n.Addr]; ok {
			errs = append(errs, fmt.Errorf("nodes %s and %s share address %s: give each node its own address", other, n.Name, n.Addr))
		}
		addrs[n.Addr] = n.Name
	}
	return errors.Join(errs...)
}

func validateNode(n NodeNet) error {
	switch {
	case n.Name == "":
		return fmt.Errorf("a node at %s has no name: set NodeNet.Name", n.Addr)
	case !n.Addr.Is4():
		return fmt.Errorf("node %s has address %q: set NodeNet.Addr to its IPv4 address", n.Name, n.Addr)
	case n.Addr == harnessAddr():
		return fmt.Errorf("node %s has the harness address %s, which faults never drop: give the node its own address", n.Name, n.Addr)
	case n.NetNSPath == "":
		return fmt.Errorf("node %s has no network namespace: set NodeNet.NetNSPath (for example /run/netns/<name>)", n.Name)
	}
	return nil
}
