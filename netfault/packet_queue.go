package netfault

import (
	"container/heap"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/faultline/faultline/internal/nsutil"
	nfqueue "github.com/florianl/go-nfqueue/v2"
	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/xt"
	"github.com/mdlayher/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// The settings of a packet queue, the userspace stand-in for netem.
const (
	// packetChainName is the queue's own chain in faultline's table:
	// hook postrouting, priority filter, policy accept. It holds one rule,
	//
	//	oifname "eth0" meta nfproto ipv4 meta mark != 0xfa17 queue num 64023 bypass
	//
	// so every IPv4 packet the node sends on eth0, to peers and clients
	// alike, goes to the queue, as every packet goes through netem on
	// eth0's root.
	packetChainName = "packet"
	// packetQueueNum is the NFQUEUE number (0xfa17, as netem's handle).
	// Queues are per namespace, so every node uses the same number.
	packetQueueNum = 0xfa17
	// packetMark marks the copies the queue sends itself (duplicates), so
	// the rule lets them through instead of queueing them again.
	packetMark = 0xfa17
	// packetQueueMaxLen is how many packets the kernel holds for the queue
	// (those delayed included). Beyond it, and whenever the harness falls
	// behind, packets pass unshaped (fail-open) rather than being dropped.
	packetQueueMaxLen = 1 << 14
	// packetQueueReadBuffer is the receive buffer of the queue's socket.
	packetQueueReadBuffer = 4 << 20
	// packetQueueSettle is how long Stop waits for the queue to fall quiet
	// after removing the rule, so packets queued just before are accepted
	// rather than dropped when the socket closes; packetQueueSettleMax
	// bounds that wait.
	packetQueueSettle    = 20 * time.Millisecond
	packetQueueSettleMax = time.Second
)

// ErrPacketQueueUnavailable says the kernel cannot queue packets to
// userspace from nftables.
var ErrPacketQueueUnavailable = errors.New("the kernel cannot queue packets to userspace from nftables: it needs nfnetlink_queue (CONFIG_NETFILTER_NETLINK_QUEUE) and either the nftables queue expression (CONFIG_NFT_QUEUE) or the xtables NFQUEUE target (CONFIG_NFT_COMPAT, CONFIG_NETFILTER_XT_TARGET_NFQUEUE): load those modules, or leave packet faults out")

// PacketQueue is a packet fault shaped in userspace, for kernels without
// netem. A rule in the node's namespace (see packetChainName) sends every
// IPv4 packet the node sends on eth0 to an NFQUEUE socket of the harness,
// which gives each a verdict after Packet's behaviours:
//
//   - loss: the packet is dropped with probability Loss%.
//   - corrupt: with probability Corrupt%, one random bit past the IP header
//     is flipped and the changed packet sent. Checksums are left as they
//     are, so the receiver drops it, as with netem.
//   - duplicate: with probability Duplicate%, a copy is sent right after the
//     packet through a raw socket (IP_HDRINCL, marked with packetMark).
//   - delay: the packet is held Delay ± Jitter (uniformly), then sent.
//     Packets leave in the order of their release times, so jitter reorders
//     them, as netem's does.
//   - reorder: Reorder% of packets are sent at once, ahead of the others,
//     which are delayed as above.
//
// Anything that is not IPv4 passes unchanged. The choices come from a PCG
// seeded by StartPacketQueue's seed, drawn in the order packets arrive.
//
// The settings: queue number 64023 (0xfa17) with bypass, so when no socket
// listens (the harness died) packets pass unshaped instead of being
// black-holed; mark 0xfa17 on the copies; the chain "packet" in the inet
// table "faultline" (hook postrouting, priority filter); packets copied
// whole to userspace; at most 16384 packets queued, beyond which, or when
// the harness falls behind, packets pass unshaped (fail-open).
//
// SetDrops (partitions) leaves the packet chain alone, so a partition and
// a packet fault can be in place together. Whenever a chain's hook goes,
// the kernel drops the packets queued in the namespace, so those held then
// are lost.
type PacketQueue struct {
	node  Host
	shape *packetShaper // used by the receive goroutine only
	nf    *nfqueue.Nfqueue
	raw   int // the raw socket for duplicates, or -1

	mu       sync.Mutex
	held     heldPackets
	seq      uint64 // orders held packets released at the same time
	stopping bool

	wake     chan struct{} // a packet was held
	quit     chan struct{} // closed by Stop
	released chan struct{} // closed when the release goroutine ends

	closing   atomic.Bool
	closeOnce sync.Once
	lastSeen  atomic.Int64 // when the last packet arrived, in Unix nanoseconds
	failed    atomic.Pointer[error]

	stopMu    sync.Mutex
	stopped   bool // held packets released, queueing stopped
	chainGone bool
	closed    bool // sockets closed
}

// StartPacketQueue shapes the packets node sends on eth0 after p, in
// userspace (see PacketQueue), until Stop. p is used as given: call
// Defaults first for Jepsen's settings. seed seeds the random choices.
// ctx bounds the setup only; the queue runs until Stop.
//
// A node takes one queue at a time: stop the one before first.
func StartPacketQueue(ctx context.Context, node Host, p Packet, seed uint64) (_ *PacketQueue, err error) {
	if err := validateNode(node); err != nil {
		return nil, fmt.Errorf("start packet queue: %w", err)
	}
	if p.Behaviours == 0 {
		return nil, fmt.Errorf("start packet queue at %s: no behaviour is on: choose some of delay, loss, duplicate, reorder, corrupt", node.Name)
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("start packet queue at %s: %w", node.Name, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start packet queue at %s: %w", node.Name, err)
	}
	ns, err := netns.GetFromPath(node.NetNSPath)
	if err != nil {
		return nil, fmt.Errorf("start packet queue at %s: open network namespace %s: %w", node.Name, node.NetNSPath, err)
	}
	defer ns.Close() // the sockets keep their namespace once made

	q := &PacketQueue{
		node:     node,
		shape:    newPacketShaper(p, seed),
		raw:      -1,
		wake:     make(chan struct{}, 1),
		quit:     make(chan struct{}),
		released: make(chan struct{}),
	}
	go q.releaseLoop()
	defer func() {
		if err != nil {
			q.abort()
		}
	}()
	if p.Behaviours.Has(PacketDuplicate) {
		if q.raw, err = openRawSocket(ns); err != nil {
			return nil, fmt.Errorf("start packet queue at %s: %w", node.Name, hint(err))
		}
	}
	if err := q.openQueue(ctx, ns); err != nil {
		return nil, fmt.Errorf("start packet queue at %s: %w", node.Name, err)
	}
	if err := installPacketChain(ctx, node.NetNSPath); err != nil {
		return nil, fmt.Errorf("start packet queue at %s: %w", node.Name, err)
	}
	return q, nil
}

// openRawSocket opens, inside ns, the raw IPv4 socket duplicates are sent
// through: the packets carry their own header, and packetMark.
func openRawSocket(ns netns.NsHandle) (int, error) {
	fd := -1
	err := nsutil.RunInNamespace(ns, func() error {
		var err error
		fd, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
		return err
	})
	if err != nil {
		return -1, fmt.Errorf("open a raw socket for duplicates: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK, packetMark); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("mark the raw socket for duplicates: %w", err)
	}
	return fd, nil
}

// openQueue opens the NFQUEUE socket inside ns and binds it to
// packetQueueNum, with its receive goroutine.
func (q *PacketQueue) openQueue(ctx context.Context, ns netns.NsHandle) error {
	nf, err := nfqueue.Open(&nfqueue.Config{
		NetNS:        int(ns),
		NfQueue:      packetQueueNum,
		MaxQueueLen:  packetQueueMaxLen,
		MaxPacketLen: 0xffff,
		Copymode:     nfqueue.NfQnlCopyPacket,
		Flags:        nfqueue.NfQaCfgFlagFailOpen,
		AfFamily:     unix.AF_INET,
	})
	if err != nil {
		return fmt.Errorf("open NFQUEUE socket: %w", hint(err))
	}
	q.nf = nf
	// Dropped messages must not stop the queue: with fail-open their packets
	// pass.
	if err := nf.SetOption(netlink.NoENOBUFS, true); err != nil {
		return fmt.Errorf("set NETLINK_NO_ENOBUFS on the NFQUEUE socket: %w", err)
	}
	if err := nf.Con.SetReadBuffer(packetQueueReadBuffer); err != nil {
		return fmt.Errorf("size the NFQUEUE socket's buffer: %w", err)
	}
	if d, ok := ctx.Deadline(); ok {
		if err := nf.Con.SetDeadline(d); err != nil {
			return fmt.Errorf("set NFQUEUE socket deadline: %w", err)
		}
	}
	if err := nf.RegisterWithErrorFunc(context.Background(), q.onPacket, q.onReceiveError); err != nil {
		switch {
		case errors.Is(err, unix.EPERM) || errors.Is(err, unix.EBUSY):
			return fmt.Errorf("bind NFQUEUE %d: %w (another packet queue runs at %s: stop it first; or run as root)", packetQueueNum, err, q.node.Name)
		case errors.Is(err, os.ErrDeadlineExceeded):
			return fmt.Errorf("bind NFQUEUE %d: %w", packetQueueNum, err)
		}
		return fmt.Errorf("bind NFQUEUE %d: %w: %w", packetQueueNum, ErrPacketQueueUnavailable, err)
	}
	if err := nf.Con.SetDeadline(time.Time{}); err != nil {
		return fmt.Errorf("clear NFQUEUE socket deadline: %w", err)
	}
	return nil
}

// installPacketChain adds the packet chain and its rule to faultline's
// table in the namespace at nsPath, replacing a chain left behind. It uses
// the nftables queue expression, or the xtables NFQUEUE target on kernels
// without it.
func installPacketChain(ctx context.Context, nsPath string) error {
	var errs []error
	for _, verdict := range []expr.Any{
		&expr.Queue{Num: packetQueueNum, Total: 1, Flag: expr.QueueFlagBypass},
		xtNFQueue(packetQueueNum),
	} {
		err := writePacketChain(ctx, nsPath, verdict)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.ENOENT) {
			return err
		}
		errs = append(errs, err) // the kernel lacks this verdict: try the next
	}
	return fmt.Errorf("%w: %w", ErrPacketQueueUnavailable, errors.Join(errs...))
}

// xtNFQueue is the xtables NFQUEUE target, revision 3, with bypass.
func xtNFQueue(num uint16) *expr.Target {
	// struct xt_NFQ_info_v3 { __u16 queuenum, queues_total, flags; },
	// padded to 8 bytes.
	info := make(xt.Unknown, 8)
	binary.NativeEndian.PutUint16(info[0:], num)
	binary.NativeEndian.PutUint16(info[2:], 1)
	binary.NativeEndian.PutUint16(info[4:], 1) // NFQ_FLAG_BYPASS
	return &expr.Target{Name: "NFQUEUE", Rev: 3, Info: &info}
}

// writePacketChain writes the packet chain with verdict in one transaction.
func writePacketChain(ctx context.Context, nsPath string, verdict expr.Any) error {
	c, done, err := dialNFT(ctx, nsPath)
	if err != nil {
		return err
	}
	defer done()
	t := faultlineTable()
	c.AddTable(t)
	accept := nftables.ChainPolicyAccept
	chain := c.AddChain(&nftables.Chain{
		Name:     packetChainName,
		Table:    t,
		Type:     nftables.ChainTypeFilter,
		Hooknum:  nftables.ChainHookPostrouting,
		Priority: nftables.ChainPriorityFilter,
		Policy:   &accept,
	})
	c.FlushChain(chain) // a chain left by a harness that died
	// oifname "eth0" meta nfproto ipv4 meta mark != 0xfa17 queue ...
	c.AddRule(&nftables.Rule{Table: t, Chain: chain, Exprs: []expr.Any{
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ifname("eth0")},
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.NFPROTO_IPV4}},
		&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(packetMark)},
		verdict,
	}})
	if err := c.Flush(); err != nil {
		return fmt.Errorf("write the packet queue's nftables rule: %w", hint(err))
	}
	return nil
}

// ifname is an interface name as nftables compares it: NUL-padded to
// IFNAMSIZ.
func ifname(name string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return b
}

// dialNFTIfThere is dialNFT for cleaning up: a namespace that is gone
// gives no connection and no error, as there is nothing left to clean.
func dialNFTIfThere(ctx context.Context, nsPath string) (*nftables.Conn, func(), error) {
	if _, err := os.Stat(nsPath); errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	c, done, err := dialNFT(ctx, nsPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	return c, done, err
}

// flushPacketRule deletes the packet chain's rule, so no packet is queued
// any more, but keeps the chain and its hook. A namespace without the
// chain, or gone, is done.
func flushPacketRule(ctx context.Context, nsPath string) error {
	c, done, err := dialNFTIfThere(ctx, nsPath)
	if c == nil || err != nil {
		return err
	}
	defer done()
	c.FlushChain(&nftables.Chain{Name: packetChainName, Table: faultlineTable()})
	if err := c.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("delete the packet queue's nftables rule: %w", hint(err))
	}
	return nil
}

// removePacketChain deletes the packet chain, and faultline's table when
// nothing else is in it. A namespace without the chain, or gone, is done.
func removePacketChain(ctx context.Context, nsPath string) error {
	c, done, err := dialNFTIfThere(ctx, nsPath)
	if c == nil || err != nil {
		return err
	}
	defer done()
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return fmt.Errorf("list nftables chains: %w", hint(err))
	}
	ours, others := false, 0
	for _, ch := range chains {
		switch {
		case ch.Table.Name != tableName:
		case ch.Name == packetChainName:
			ours = true
		default:
			others++
		}
	}
	if !ours {
		return nil
	}
	t := faultlineTable()
	sets, err := c.GetSets(t)
	if err != nil {
		return fmt.Errorf("list the sets of faultline's table: %w", hint(err))
	}
	c.DelChain(&nftables.Chain{Name: packetChainName, Table: t})
	if others == 0 && len(sets) == 0 {
		c.DelTable(t)
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("delete the packet queue's nftables chain: %w", hint(err))
	}
	return nil
}

// onPacket gives a queued packet its verdict, at once or by holding it.
func (q *PacketQueue) onPacket(a nfqueue.Attribute) int {
	if a.PacketID == nil {
		return 0
	}
	q.lastSeen.Store(time.Now().UnixNano())
	h := heldPacket{id: *a.PacketID}
	var pkt []byte
	if a.Payload != nil {
		pkt = *a.Payload
	}
	q.mu.Lock()
	stopping := q.stopping
	q.mu.Unlock()
	if stopping || !isIPv4(pkt) {
		q.release(h)
		return 0
	}
	d := q.shape.decide(pkt)
	if d.drop {
		_ = q.nf.SetVerdict(h.id, nfqueue.NfDrop)
		return 0
	}
	h.changed = d.corrupted
	if d.duplicate {
		h.copy = pkt
	}
	if d.delay <= 0 {
		q.release(h)
		return 0
	}
	h.at = time.Now().Add(d.delay)
	q.hold(h)
	return 0
}

// onReceiveError keeps the queue reading past timeouts and the kernel's
// answers to verdicts it could not apply (a packet it no longer holds: a
// hook went, and the kernel dropped what was queued). Other errors end it,
// and the kernel then lets packets bypass it; Stop reports them.
func (q *PacketQueue) onReceiveError(err error) int {
	if q.closing.Load() {
		return 1
	}
	var op *netlink.OpError
	if errors.As(err, &op) && (op.Timeout() || op.Temporary()) {
		return 0
	}
	for _, skip := range []error{unix.ENOENT, unix.EINVAL, unix.ENOMEM, unix.ENOBUFS, unix.EINTR} {
		if errors.Is(err, skip) {
			return 0
		}
	}
	err = fmt.Errorf("the packet queue at %s stopped shaping early: %w", q.node.Name, err)
	q.failed.CompareAndSwap(nil, &err)
	return 1
}

// hold keeps h until its time, or releases it now if the queue is stopping.
func (q *PacketQueue) hold(h heldPacket) {
	q.mu.Lock()
	if q.stopping {
		q.mu.Unlock()
		q.release(h)
		return
	}
	q.seq++
	h.seq = q.seq
	heap.Push(&q.held, h)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// releaseLoop releases held packets when their time comes, and every one
// left when Stop quits it.
func (q *PacketQueue) releaseLoop() {
	defer close(q.released)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		q.mu.Lock()
		now := time.Now()
		var due []heldPacket
		for len(q.held) > 0 && !q.held[0].at.After(now) {
			due = append(due, heap.Pop(&q.held).(heldPacket))
		}
		next := time.Hour
		if len(q.held) > 0 {
			next = q.held[0].at.Sub(now)
		}
		q.mu.Unlock()
		for _, h := range due {
			q.release(h)
		}
		timer.Reset(next)
		select {
		case <-q.wake:
		case <-timer.C:
		case <-q.quit:
			q.mu.Lock()
			rest := []heldPacket(q.held)
			q.held = nil
			q.mu.Unlock()
			slices.SortFunc(rest, heldPacket.compare)
			for _, h := range rest {
				q.release(h)
			}
			return
		}
	}
}

// release accepts h's packet, changed if corrupted, and sends its copy.
func (q *PacketQueue) release(h heldPacket) {
	if h.changed != nil {
		_ = q.nf.SetVerdictWithOption(h.id, nfqueue.NfAccept, nfqueue.WithAlteredPacket(h.changed))
	} else {
		_ = q.nf.SetVerdict(h.id, nfqueue.NfAccept)
	}
	if h.copy != nil && q.raw >= 0 {
		// A copy the socket cannot take now is a duplicate not sent.
		to := &unix.SockaddrInet4{Addr: [4]byte(h.copy[16:20])}
		_ = unix.Sendto(q.raw, h.copy, unix.MSG_DONTWAIT, to)
	}
}

// Stop ends the packet fault: it accepts every held packet and every
// packet still queued, removes the packet chain (and faultline's table if
// nothing else is in it), closes the sockets and waits for the queue's
// goroutines to end. A node whose namespace is gone is done. Stopping again
// retries only a chain removal that failed.
//
// The rule goes before the chain: removing a chain's hook makes the kernel
// drop every packet queued in the namespace, so Stop first stops queueing
// and lets the queue fall quiet.
func (q *PacketQueue) Stop(ctx context.Context) error {
	q.stopMu.Lock()
	defer q.stopMu.Unlock()
	var errs []error
	if !q.stopped {
		q.stopped = true
		q.mu.Lock()
		q.stopping = true // from now on packets are accepted as they come
		q.mu.Unlock()
		close(q.quit)
		<-q.released
		if flushPacketRule(ctx, q.node.NetNSPath) == nil {
			q.settle(ctx)
		} // else removing the chain below fails too, and says why
	}
	if !q.chainGone {
		if err := removePacketChain(ctx, q.node.NetNSPath); err != nil {
			errs = append(errs, fmt.Errorf("stop packet queue at %s: %w", q.node.Name, err))
		} else {
			q.chainGone = true
		}
	}
	if !q.closed {
		q.closed = true
		q.closeQueue() // a rule left behind lets packets bypass the closed queue
		q.closeRaw()
		if err := q.failed.Load(); err != nil {
			errs = append(errs, *err)
		}
	}
	return errors.Join(errs...)
}

// settle waits until no packet has arrived for packetQueueSettle, so the
// ones queued before the rule went are accepted, not dropped on close.
func (q *PacketQueue) settle(ctx context.Context) {
	give := time.NewTimer(packetQueueSettleMax)
	defer give.Stop()
	tick := time.NewTicker(packetQueueSettle / 4)
	defer tick.Stop()
	for time.Since(time.Unix(0, q.lastSeen.Load())) < packetQueueSettle {
		select {
		case <-ctx.Done():
			return
		case <-give.C:
			return
		case <-tick.C:
		}
	}
}

// closeQueue closes the NFQUEUE socket and waits for its goroutines. The
// kernel drops packets still queued to it, and lets new ones bypass.
func (q *PacketQueue) closeQueue() {
	q.closeOnce.Do(func() {
		q.closing.Store(true)
		if q.nf != nil {
			_ = q.nf.Close()
		}
	})
}

func (q *PacketQueue) closeRaw() {
	if q.raw >= 0 {
		_ = unix.Close(q.raw)
		q.raw = -1
	}
}

// abort undoes a StartPacketQueue that failed part way.
func (q *PacketQueue) abort() {
	q.mu.Lock()
	q.stopping = true
	q.mu.Unlock()
	close(q.quit)
	<-q.released
	q.closeQueue()
	q.closeRaw()
}

// isIPv4 says whether pkt starts with a whole IPv4 header.
func isIPv4(pkt []byte) bool {
	return len(pkt) >= 20 && pkt[0]>>4 == 4 && int(pkt[0]&0x0f)*4 <= len(pkt)
}

// heldPacket is a packet waiting for its verdict.
type heldPacket struct {
	at      time.Time // when to send it
	seq     uint64
	id      uint32
	changed []byte // the corrupted packet, or nil
	copy    []byte // the packet to send again, or nil
}

func (a heldPacket) compare(b heldPacket) int {
	if c := a.at.Compare(b.at); c != 0 {
		return c
	}
	switch {
	case a.seq < b.seq:
		return -1
	case a.seq > b.seq:
		return 1
	}
	return 0
}

// heldPackets is a min-heap of held packets by release time.
type heldPackets []heldPacket

func (h heldPackets) Len() int           { return len(h) }
func (h heldPackets) Less(i, j int) bool { return h[i].compare(h[j]) < 0 }
func (h heldPackets) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *heldPackets) Push(x any)        { *h = append(*h, x.(heldPacket)) }
func (h *heldPackets) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
