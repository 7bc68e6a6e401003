package netfault

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Packet is a packet fault: netem on the root of a node's eth0, so it
// shapes every packet the node sends, to peers and to clients alike; on
// kernels without netem, a PacketQueue does the same in userspace. Only
// the behaviours in Behaviours apply; the other fields are their settings.
type Packet struct {
	Behaviours PacketBehaviours `json:"behaviours"`
	// Delay is added to every packet, give or take Jitter (uniformly).
	Delay  time.Duration `json:"delay,omitempty"`
	Jitter time.Duration `json:"jitter,omitempty"`
	// Loss, Duplicate, Reorder and Corrupt are the percentages (0–100) of
	// packets dropped, sent twice, sent ahead of the delayed ones, and
	// corrupted by one flipped bit.
	Loss      float64 `json:"loss,omitempty"`
	Duplicate float64 `json:"duplicate,omitempty"`
	Reorder   float64 `json:"reorder,omitempty"`
	Corrupt   float64 `json:"corrupt,omitempty"`
}

// maxPacketDelay bounds Delay and Jitter: longer is an outage, not a delay,
// and netem's timer ticks would overflow.
const maxPacketDelay = time.Minute

// netemMajor is the handle major of the root qdisc faultline adds (fa17:),
// so healing deletes only its own.
const netemMajor = 0xfa17

// ErrNetemUnavailable says the kernel has no netem queueing discipline. A
// Nemesis then falls back to StartPacketQueue.
var ErrNetemUnavailable = errors.New("the kernel has no netem queueing discipline (CONFIG_NET_SCH_NETEM): the nemesis shapes packets with its NFQUEUE packet queue in userspace instead; for netem itself, load it with `modprobe sch_netem`")

// Defaults fills unset fields with Jepsen's values: delay 50ms ± 10ms and
// 20% for loss, duplicate, reorder and corrupt; with no behaviour chosen,
// delay alone.
func (p Packet) Defaults() Packet {
	if p.Behaviours == 0 {
		p.Behaviours = PacketDelay
	}
	if p.Delay == 0 {
		p.Delay = 50 * time.Millisecond
	}
	if p.Jitter == 0 {
		p.Jitter = 10 * time.Millisecond
	}
	for _, f := range []*float64{&p.Loss, &p.Duplicate, &p.Reorder, &p.Corrupt} {
		if *f == 0 {
			*f = 20
		}
	}
	return p
}

// Validate checks the settings of the behaviours that are on.
func (p Packet) Validate() error {
	var errs []error
	if p.Behaviours&^AllPacketBehaviours != 0 {
		errs = append(errs, fmt.Errorf("packet behaviours %s: choose from delay, loss, duplicate, reorder, corrupt", p.Behaviours))
	}
	if p.delayed() {
		if p.Delay < 0 || p.Delay > maxPacketDelay {
			errs = append(errs, fmt.Errorf("packet delay %s is out of range: give 0 to %s", p.Delay, maxPacketDelay))
		}
		if p.Jitter < 0 || p.Jitter > maxPacketDelay {
			errs = append(errs, fmt.Errorf("packet jitter %s is out of range: give 0 to %s", p.Jitter, maxPacketDelay))
		}
	}
	if p.Behaviours.Has(PacketReorder) && p.Delay <= 0 {
		errs = append(errs, errors.New("packet reorder needs a delay, since netem reorders by sending some packets ahead of delayed ones: set a delay"))
	}
	for _, pc := range p.percentages() {
		if p.Behaviours.Has(pc.b) && (pc.v < 0 || pc.v > 100) {
			errs = append(errs, fmt.Errorf("packet %s %g%% is out of range: give a percentage from 0 to 100", pc.name, pc.v))
		}
	}
	return errors.Join(errs...)
}

// percentage is one of the behaviours set as a percentage of packets.
type percentage struct {
	b    PacketBehaviours
	name string
	v    float64
}

func (p Packet) percentages() []percentage {
	return []percentage{
		{PacketLoss, "loss", p.Loss},
		{PacketDuplicate, "duplicate", p.Duplicate},
		{PacketReorder, "reorder", p.Reorder},
		{PacketCorrupt, "corrupt", p.Corrupt},
	}
}

// delayed says whether netem delays packets: for delay, and for reorder,
// which only works on delayed packets.
func (p Packet) delayed() bool {
	return p.Behaviours.Has(PacketDelay) || p.Behaviours.Has(PacketReorder)
}

// Describe says what the fault does, for the history, e.g. "delay 50ms ±10ms,
// loss 20%".
func (p Packet) Describe() string {
	var parts []string
	if p.delayed() {
		d := "delay " + p.Delay.String()
		if p.Jitter > 0 {
			d += " ±" + p.Jitter.String()
		}
		if !p.Behaviours.Has(PacketDelay) {
			d += " (for reorder)"
		}
		parts = append(parts, d)
	}
	for _, pc := range p.percentages() {
		if p.Behaviours.Has(pc.b) {
			parts = append(parts, fmt.Sprintf("%s %g%%", pc.name, pc.v))
		}
	}
	if len(parts) == 0 {
		return "no packet faults"
	}
	return strings.Join(parts, ", ")
}

// netemAttrs translates the behaviours that are on into netem's settings.
func (p Packet) netemAttrs() netlink.NetemQdiscAttrs {
	var a netlink.NetemQdiscAttrs
	if p.delayed() {
		a.Latency = uint32(p.Delay.Microseconds())
		a.Jitter = uint32(p.Jitter.Microseconds())
	}
	if p.Behaviours.Has(PacketLoss) {
		a.Loss = float32(p.Loss)
	}
	if p.Behaviours.Has(PacketDuplicate) {
		a.Duplicate = float32(p.Duplicate)
	}
	if p.Behaviours.Has(PacketReorder) {
		a.ReorderProb = float32(p.Reorder)
	}
	if p.Behaviours.Has(PacketCorrupt) {
		a.CorruptProb = float32(p.Corrupt)
	}
	return a
}

// ApplyPacket puts netem with p's behaviours on the root of node's eth0,
// replacing any root qdisc there (a packet fault applied before included).
// p is used as given: call Defaults first for Jepsen's settings.
func ApplyPacket(ctx context.Context, node Host, p Packet) error {
	if err := validateNode(node); err != nil {
		return fmt.Errorf("apply packet fault: %w", err)
	}
	if p.Behaviours == 0 {
		return fmt.Errorf("apply packet fault at %s: no behaviour is on: choose some of delay, loss, duplicate, reorder, corrupt", node.Name)
	}
	if err := p.Validate(); err != nil {
		return fmt.Errorf("apply packet fault at %s: %w", node.Name, err)
	}
	h, err := netlinkHandle(ctx, node.NetNSPath)
	if err != nil {
		return fmt.Errorf("apply packet fault at %s: %w", node.Name, err)
	}
	defer h.Close()
	link, err := h.LinkByName("eth0")
	if err != nil {
		return fmt.Errorf("apply packet fault at %s: find eth0: %w", node.Name, err)
	}
	q := netlink.NewNetem(netlink.QdiscAttrs{
		LinkIndex: link.Attrs().Index,
		Handle:    netlink.MakeHandle(netemMajor, 0),
		Parent:    netlink.HANDLE_ROOT,
	}, p.netemAttrs())
	if err := h.QdiscReplace(q); err != nil {
		if errors.Is(err, unix.ENOENT) {
			err = fmt.Errorf("%w: %w", ErrNetemUnavailable, err)
		}
		return fmt.Errorf("apply packet fault at %s: add netem to eth0: %w", node.Name, hint(err))
	}
	return nil
}

// HealPacket deletes the netem root qdisc ApplyPacket put on node's eth0,
// and no other qdisc. A node without one, or whose namespace is gone, is
// already healed.
func HealPacket(ctx context.Context, node Host) error {
	if _, err := os.Stat(node.NetNSPath); errors.Is(err, os.ErrNotExist) {
		return nil // the namespace, and its qdiscs, are gone
	}
	h, err := netlinkHandle(ctx, node.NetNSPath)
	if err != nil {
		return fmt.Errorf("heal packet fault at %s: %w", node.Name, err)
	}
	defer h.Close()
	link, err := h.LinkByName("eth0")
	if _, gone := errors.AsType[netlink.LinkNotFoundError](err); gone {
		return nil
	}
	if err != nil {
		return fmt.Errorf("heal packet fault at %s: find eth0: %w", node.Name, err)
	}
	qdiscs, err := h.QdiscList(link)
	if err != nil {
		return fmt.Errorf("heal packet fault at %s: list qdiscs of eth0: %w", node.Name, err)
	}
	for _, q := range qdiscs {
		if isOurNetem(q) {
			if err := h.QdiscDel(q); err != nil && !errors.Is(err, unix.ENOENT) {
				return fmt.Errorf("heal packet fault at %s: delete netem from eth0: %w", node.Name, hint(err))
			}
		}
	}
	return nil
}

// isOurNetem says whether q is the root netem ApplyPacket adds.
func isOurNetem(q netlink.Qdisc) bool {
	a := q.Attrs()
	return q.Type() == "netem" && a.Parent == netlink.HANDLE_ROOT && a.Handle == netlink.MakeHandle(netemMajor, 0)
}

// netlinkHandle opens a netlink handle inside the namespace at nsPath whose
// sockets time out at ctx's deadline.
func netlinkHandle(ctx context.Context, nsPath string) (*netlink.Handle, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		return nil, fmt.Errorf("open network namespace %s: %w", nsPath, err)
	}
	defer ns.Close() // the handle's sockets keep their namespace once made
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return nil, fmt.Errorf("open netlink in %s: %w", nsPath, hint(err))
	}
	if d, ok := ctx.Deadline(); ok {
		left := time.Until(d)
		if left < time.Microsecond {
			h.Close()
			return nil, context.DeadlineExceeded
		}
		if err := h.SetSocketTimeout(left); err != nil {
			h.Close()
			return nil, fmt.Errorf("set netlink timeout: %w", err)
		}
	}
	return h, nil
}
