package netfault

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
)

// HostFaults applies network faults to one host and remembers what is in
// place, so a backend can offer them as its nodes' network capability and
// put them back after whatever wipes a namespace's rules (a container's
// restart gives it a new namespace). It is safe for concurrent use.
type HostFaults struct {
	mu      sync.Mutex
	host    Host
	drops   []netip.Addr
	packet  *Packet // the packet fault in place, nil for none
	seed    uint64
	queue   *PacketQueue // the packet queue, where the kernel has no netem
	netem   bool         // faultline's netem is on eth0
	noNetem bool         // the kernel has no netem: use packet queues
}

// NewHostFaults returns the faults of h, with none in place.
func NewHostFaults(h Host) *HostFaults { return &HostFaults{host: h} }

// SetHost changes where the faults apply (a new namespace after a
// restart). Call Reapply after it.
func (f *HostFaults) SetHost(h Host) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.host = h
	f.queue, f.netem = nil, false // they lived in the old namespace
}

// Move makes the faults apply at h from now on (a container's new
// namespace after it started again): it stops the packet queue of the old
// namespace, then puts the drops and the packet fault in place at h.
func (f *HostFaults) Move(ctx context.Context, h Host) error {
	f.mu.Lock()
	var errs []error
	if f.queue != nil {
		if err := f.queue.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop the packet queue of %s's old namespace: %w", f.host.Name, err))
		}
		f.queue = nil
	}
	f.host = h
	f.netem = false
	f.mu.Unlock()
	if err := f.Reapply(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Drop makes the host drop every inbound packet from the addresses,
// replacing the drops before; none clears them.
func (f *HostFaults) Drop(ctx context.Context, from []netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := SetDrops(ctx, f.host, from); err != nil {
		return err
	}
	f.drops = slices.Clone(from)
	return nil
}

// Drops returns the addresses dropped now.
func (f *HostFaults) Drops() []netip.Addr {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.drops)
}

// ShapePackets shapes every packet the host sends on eth0 after p, with
// netem, or with a PacketQueue (seeded by seed) where the kernel has no
// netem, replacing the packet fault before. It says which: "netem" or
// "nfqueue".
func (f *HostFaults) ShapePackets(ctx context.Context, p Packet, seed uint64) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	via, err := f.shape(ctx, p, seed)
	if err != nil {
		return "", err
	}
	f.packet, f.seed = &p, seed
	return via, nil
}

// shape applies p; f.mu must be held.
func (f *HostFaults) shape(ctx context.Context, p Packet, seed uint64) (string, error) {
	if f.queue != nil {
		if err := f.queue.Stop(ctx); err != nil {
			return "", fmt.Errorf("stop the packet queue before: %w", err)
		}
		f.queue = nil
	}
	if !f.noNetem {
		err := ApplyPacket(ctx, f.host, p)
		if err == nil {
			f.netem = true
			return "netem", nil
		}
		if !errors.Is(err, ErrNetemUnavailable) {
			return "", err
		}
		f.noNetem = true // the kernel's: no use asking again
	}
	q, err := StartPacketQueue(ctx, f.host, p, seed)
	if err != nil {
		return "", err
	}
	f.queue = q
	return "nfqueue", nil
}

// ClearPackets removes the packet fault: faultline's netem (whether or not
// this HostFaults put it there) and its packet queue. A host whose
// namespace is gone is clear.
func (f *HostFaults) ClearPackets(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var errs []error
	if f.queue != nil {
		if err := f.queue.Stop(ctx); err != nil {
			errs = append(errs, err)
		} else {
			f.queue = nil
		}
	}
	if err := HealPacket(ctx, f.host); err != nil {
		errs = append(errs, err)
	} else {
		f.netem = false
	}
	if err := removePacketChain(ctx, f.host.NetNSPath); err != nil {
		errs = append(errs, fmt.Errorf("clear packet fault at %s: %w", f.host.Name, err))
	}
	if len(errs) == 0 {
		f.packet = nil
	}
	return errors.Join(errs...)
}

// Reapply puts the faults in place again: the drops and the packet fault
// this HostFaults believes in, for a host whose namespace was made anew.
func (f *HostFaults) Reapply(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var errs []error
	if len(f.drops) > 0 {
		if err := SetDrops(ctx, f.host, f.drops); err != nil {
			errs = append(errs, err)
		}
	}
	if f.packet != nil {
		if _, err := f.shape(ctx, *f.packet, f.seed); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
