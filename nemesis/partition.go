package nemesis

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/mdlayher/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// faultline's own nftables objects in a node's namespace. Healing deletes the
// table and with it everything in it; nothing else in the ruleset is touched.
const (
	tableName   = "faultline"
	chainName   = "input"
	droppedName = "dropped" // the set of source addresses the node drops
)

func faultlineTable() *nftables.Table {
	return &nftables.Table{Family: nftables.TableFamilyINet, Name: tableName}
}

// ApplyGrudge partitions the network: inside each node's namespace, inbound
// IPv4 packets whose source is the address of a node the grudge makes it drop
// are dropped, by a table of faultline's own. It replaces any grudge applied
// before: nodes the grudge does not mention lose their rules. Only node
// addresses are ever dropped, never the harness's.
//
// Nodes are changed one after the other. If one fails, the nodes before it
// already have the new grudge; HealPartitions removes it.
func ApplyGrudge(ctx context.Context, nodes []NodeNet, g Grudge) error {
	if err := validateNodes(nodes); err != nil {
		return fmt.Errorf("apply grudge: %w", err)
	}
	if err := g.Validate(nodes); err != nil {
		return fmt.Errorf("apply grudge: %w", err)
	}
	addrs := make(map[string]netip.Addr, len(nodes))
	for _, n := range nodes {
		addrs[n.Name] = n.Addr
	}
	for _, n := range nodes {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("apply grudge at %s: %w", n.Name, err)
		}
		var drops []netip.Addr
		for _, peer := range g[n.Name] {
			drops = append(drops, addrs[peer])
		}
		if err := setDrops(ctx, n.NetNSPath, drops); err != nil {
			return fmt.Errorf("apply grudge at %s: %w", n.Name, err)
		}
	}
	return nil
}

// HealPartitions deletes faultline's table in every node's namespace, and
// nothing else. A node without the table, or whose namespace is gone, is
// already healed. It carries on past a node that fails and reports all.
func HealPartitions(ctx context.Context, nodes []NodeNet) error {
	var errs []error
	for _, n := range nodes {
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("heal partition at %s: %w", n.Name, err))
			break
		}
		if _, err := os.Stat(n.NetNSPath); errors.Is(err, os.ErrNotExist) {
			continue // the namespace, and its rules, are gone
		}
		if err := setDrops(ctx, n.NetNSPath, nil); err != nil {
			errs = append(errs, fmt.Errorf("heal partition at %s: %w", n.Name, err))
		}
	}
	return errors.Join(errs...)
}

// setDrops replaces faultline's table in the namespace at nsPath with one
// dropping inbound packets from drops, or removes it if drops is empty, in
// one atomic nftables transaction.
func setDrops(ctx context.Context, nsPath string, drops []netip.Addr) error {
	c, done, err := dialNFT(ctx, nsPath)
	if err != nil {
		return err
	}
	defer done()
	t := faultlineTable()
	// Adding the table first makes the delete succeed whether or not it
	// existed, so one batch replaces it.
	c.AddTable(t)
	c.DelTable(t)
	if len(drops) > 0 {
		if err := addDropRules(c, t, drops); err != nil {
			return err
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("write nftables rules: %w", hint(err))
	}
	return nil
}

// addDropRules adds to the batch a table with a set of the dropped sources
// and an input chain dropping IPv4 packets from them.
func addDropRules(c *nftables.Conn, t *nftables.Table, drops []netip.Addr) error {
	c.AddTable(t)
	// An explicit ID keeps the library from drawing one from its global
	// counter, which is not safe across connections.
	set := &nftables.Set{Table: t, Name: droppedName, ID: 1, KeyType: nftables.TypeIPAddr}
	elems := make([]nftables.SetElement, len(drops))
	for i, a := range drops {
		elems[i] = nftables.SetElement{Key: a.AsSlice()}
	}
	if err := c.AddSet(set, elems); err != nil {
		return fmt.Errorf("build the set of dropped addresses: %w", err)
	}
	accept := nftables.ChainPolicyAccept
	chain := c.AddChain(&nftables.Chain{
		Name:     chainName,
		Table:    t,
		Type:     nftables.ChainTypeFilter,
		Hooknum:  nftables.ChainHookInput,
		Priority: nftables.ChainPriorityFilter,
		Policy:   &accept,
	})
	// meta nfproto ipv4 ip saddr @dropped counter drop
	c.AddRule(&nftables.Rule{Table: t, Chain: chain, Exprs: []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.NFPROTO_IPV4}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Lookup{SourceRegister: 1, SetName: set.Name, SetID: set.ID},
		&expr.Counter{},
		&expr.Verdict{Kind: expr.VerdictDrop},
	}})
	return nil
}

// dialNFT opens an nftables connection inside the namespace at nsPath whose
// socket gives up at ctx's deadline or when ctx is cancelled. done closes it.
func dialNFT(ctx context.Context, nsPath string) (_ *nftables.Conn, done func(), _ error) {
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		return nil, nil, fmt.Errorf("open network namespace %s: %w", nsPath, err)
	}
	defer ns.Close() // the socket keeps its namespace once made
	var sock *netlink.Conn
	c, err := nftables.New(
		nftables.WithNetNSFd(int(ns)),
		nftables.AsLasting(),
		nftables.WithSockOptions(func(s *netlink.Conn) error {
			sock = s
			if d, ok := ctx.Deadline(); ok {
				return s.SetDeadline(d)
			}
			return nil
		}),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("open nftables in %s: %w", nsPath, hint(err))
	}
	stop := context.AfterFunc(ctx, func() { _ = sock.SetDeadline(time.Now()) })
	return c, func() {
		stop()
		_ = c.CloseLasting()
	}, nil
}

// hint adds the fix to errors a person can fix.
func hint(err error) error {
	if errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("%w (network faults need root or CAP_NET_ADMIN: run faultline as root)", err)
	}
	return err
}
