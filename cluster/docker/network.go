package docker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	dockernet "github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tcnetwork "github.com/testcontainers/testcontainers-go/network"
)

// DefaultPool is where runs' networks are drawn from, a /24 each.
const DefaultPool = "10.214.0.0/16"

// freeSubnet is the first /24 of pool that overlaps none of used.
func freeSubnet(pool netip.Prefix, used []netip.Prefix) (netip.Prefix, error) {
	if !pool.Addr().Is4() || pool.Bits() > 24 {
		return netip.Prefix{}, fmt.Errorf("--docker-pool %s: give an IPv4 network of /24 or larger, such as %s", pool, DefaultPool)
	}
	pool = pool.Masked()
	a := pool.Addr().As4()
	for i := 0; i < 1<<(24-pool.Bits()); i++ {
		b := a
		b[2] += byte(i)
		p := netip.PrefixFrom(netip.AddrFrom4(b), 24)
		if !pool.Contains(p.Addr()) {
			break
		}
		taken := false
		for _, u := range used {
			if u.Overlaps(p) {
				taken = true
				break
			}
		}
		if !taken {
			return p, nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("every /24 of --docker-pool %s is in use: remove old runs with `faultline cluster down --backend docker`, or give another pool", pool)
}

// usedSubnets lists the subnets of the daemon's networks and of this
// machine's own interfaces: a run's network must overlap none.
func (d *daemon) usedSubnets(ctx context.Context) ([]netip.Prefix, error) {
	nets, err := d.api.NetworkList(ctx, client.NetworkListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list Docker networks: %w", err)
	}
	var used []netip.Prefix
	for _, n := range nets.Items {
		for _, c := range n.IPAM.Config {
			if c.Subnet.IsValid() {
				used = append(used, c.Subnet)
			}
		}
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("list this machine's addresses: %w", err)
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() {
			used = append(used, p.Masked())
		}
	}
	return used, nil
}

// createNetwork makes the run's network on a free /24 of pool, its
// gateway (the harness's side) at .1. A subnet another run takes at the
// same moment is skipped.
func (d *daemon) createNetwork(ctx context.Context, pool netip.Prefix, labels map[string]string) (*testcontainers.DockerNetwork, netip.Prefix, error) {
	used, err := d.usedSubnets(ctx)
	if err != nil {
		return nil, netip.Prefix{}, err
	}
	for range 8 {
		subnet, err := freeSubnet(pool, used)
		if err != nil {
			return nil, netip.Prefix{}, err
		}
		nw, err := tcnetwork.New(ctx,
			tcnetwork.WithDriver("bridge"),
			tcnetwork.WithLabels(labels),
			tcnetwork.WithIPAM(&dockernet.IPAM{Driver: "default", Config: []dockernet.IPAMConfig{{
				Subnet:  subnet,
				Gateway: netip.AddrFrom4(subnet.Addr().As4()).Next(),
			}}}),
		)
		if err == nil {
			return nw, subnet, nil
		}
		if !strings.Contains(err.Error(), "overlap") {
			return nil, netip.Prefix{}, fmt.Errorf("create the run's Docker network on %s: %w", subnet, err)
		}
		used = append(used, subnet)
	}
	return nil, netip.Prefix{}, errors.New("create the run's Docker network: every subnet tried was taken meanwhile: try again")
}
