package netfault

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/mdlayher/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// faultline's own nftables objects in a node's namespace: the table, the
// input chain and the set of dropped sources. Only these are ever changed;
// a packet queue's chain may share the table.
const (
	tableName   = "faultline"
	chainName   = "input"
	droppedName = "dropped" // the set of source addresses the node drops
)

func faultlineTable() *nftables.Table {
	return &nftables.Table{Family: nftables.TableFamilyINet, Name: tableName}
}

// SetDrops makes the host drop every inbound IPv4 packet whose source is
// one of drops, replacing the drops set before, in one atomic nftables
// transaction inside its namespace; an empty drops removes them (and
// faultline's table, when nothing else of faultline's is in it). Nothing
// else in the ruleset is touched. A host whose namespace is gone has no
// drops: clearing it succeeds.
func SetDrops(ctx context.Context, h Host, drops []netip.Addr) error {
	if err := validateNode(h); err != nil {
		return fmt.Errorf("set drops: %w", err)
	}
	for _, a := range drops {
		if !a.Is4() {
			return fmt.Errorf("set drops at %s: %s is not an IPv4 address", h.Name, a)
		}
		if slices.Contains(h.Protected, a) {
			return fmt.Errorf("set drops at %s: %s is the harness's address, which faults never drop", h.Name, a)
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("set drops at %s: %w", h.Name, err)
	}
	if len(drops) == 0 {
		if _, err := os.Stat(h.NetNSPath); errors.Is(err, os.ErrNotExist) {
			return nil // the namespace, and its rules, are gone
		}
	}
	c, done, err := dialNFT(ctx, h.NetNSPath)
	if err != nil {
		return fmt.Errorf("set drops at %s: %w", h.Name, err)
	}
	defer done()
	t := faultlineTable()
	// Adding a chain or set first makes its delete succeed whether or
	// not it existed, so one batch replaces them.
	c.AddTable(t)
	chain := &nftables.Chain{Name: chainName, Table: t, Type: nftables.ChainTypeFilter, Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityFilter}
	c.AddChain(chain)
	c.FlushChain(chain)
	c.DelChain(chain)
	set := &nftables.Set{Table: t, Name: droppedName, ID: 1, KeyType: nftables.TypeIPAddr}
	if err := c.AddSet(set, nil); err != nil {
		return fmt.Errorf("set drops at %s: %w", h.Name, err)
	}
	c.DelSet(set)
	if len(drops) > 0 {
		if err := addDropRules(c, t, drops); err != nil {
			return fmt.Errorf("set drops at %s: %w", h.Name, err)
		}
	} else if others, err := otherChains(c); err != nil {
		return fmt.Errorf("set drops at %s: %w", h.Name, err)
	} else if others == 0 {
		c.DelTable(t)
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("set drops at %s: write nftables rules: %w", h.Name, hint(err))
	}
	return nil
}

// otherChains counts the chains in faultline's table other than the
// input chain.
func otherChains(c *nftables.Conn) (int, error) {
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return 0, fmt.Errorf("list nftables chains: %w", hint(err))
	}
	n := 0
	for _, ch := range chains {
		if ch.Table.Name == tableName && ch.Name != chainName {
			n++
		}
	}
	return n, nil
}

// addDropRules adds to the batch a table with a set of the dropped sources
// and an input chain dropping IPv4 packets from them.
func addDropRules(c *nftables.Conn, t *nftables.Table, drops []netip.Addr) error {
	c.AddTable(t)
	// An explicit ID keeps the library from drawing one from its global
	// counter, which is not safe across connections.
	set := &nftables.Set{Table: t, Name: droppedName, ID: 2, KeyType: nftables.TypeIPAddr}
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
