package netfault

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/nsutil"
	"github.com/faultline/faultline/internal/realtest"
	"github.com/google/nftables"
	"github.com/vishvananda/netns"
)

// These tests run the packet queue whether or not the kernel has netem.

func TestPacketQueueLoss(t *testing.T) {
	tn := newTestNet(t, "a", "b")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tn.reachable(t, "a", "b")
	q := startQueue(ctx, t, tn.node("b"), Packet{Behaviours: PacketLoss, Loss: 100})
	tn.unreachable(t, "a", "b")
	tn.unreachable(t, "br", "b")
	tn.unreachable(t, "b", "a") // b's SYNs are lost too
	if err := q.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	tn.reachable(t, "a", "b")
	tn.reachable(t, "br", "b")
}

func TestPacketQueueDuplicate(t *testing.T) {
	tn := newTestNet(t, "a", "b")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const n = 50
	rx := tn.listenUDP(t, "a")
	tn.sendUDP(t, "b", "a", n, 0)
	if got := rx.wait(n, 2*time.Second); len(got) != n {
		t.Fatalf("a received %d of %d datagrams before the fault", len(got), n)
	}

	rx.close()
	q := startQueue(ctx, t, tn.node("b"), Packet{Behaviours: PacketDuplicate, Duplicate: 100})
	rx = tn.listenUDP(t, "a")
	tn.sendUDP(t, "b", "a", n, 0)
	rx.wait(2*n, 2*time.Second)
	time.Sleep(100 * time.Millisecond) // any more would be wrong too
	got := rx.seqs()
	copies := map[uint32]int{}
	for _, s := range got {
		copies[s]++
	}
	if len(got) != 2*n || len(copies) != n {
		t.Errorf("with duplicate 100%% a received %d datagrams (%d distinct) of %d sent: want each twice", len(got), len(copies), n)
	}
	for s, c := range copies {
		if c != 2 {
			t.Errorf("datagram %d arrived %d times, want 2", s, c)
		}
	}
	t.Logf("duplicate 100%%: %d datagrams sent, %d received", n, len(got))

	if err := q.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	rx.close()
	rx = tn.listenUDP(t, "a")
	tn.sendUDP(t, "b", "a", n, 0)
	rx.wait(n, 2*time.Second)
	time.Sleep(100 * time.Millisecond)
	if got := rx.seqs(); len(got) != n {
		t.Errorf("after Stop a received %d datagrams of %d", len(got), n)
	}
}

func TestPacketQueueCorrupt(t *testing.T) {
	tn := newTestNet(t, "a", "b")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	q := startQueue(ctx, t, tn.node("b"), Packet{Behaviours: PacketCorrupt, Corrupt: 100})
	tn.unreachable(t, "a", "b")
	rx := tn.listenUDP(t, "a")
	tn.sendUDP(t, "b", "a", 20, 0)
	if got := rx.wait(1, 300*time.Millisecond); len(got) != 0 {
		t.Errorf("a accepted %d corrupted datagrams: their checksums should fail", len(got))
	}
	if err := q.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	tn.reachable(t, "a", "b")
	rx.close()
	rx = tn.listenUDP(t, "a")
	tn.sendUDP(t, "b", "a", 20, 0)
	if got := rx.wait(20, 2*time.Second); len(got) != 20 {
		t.Errorf("after Stop a received %d of 20 datagrams", len(got))
	}
}

func TestPacketQueueReorder(t *testing.T) {
	tn := newTestNet(t, "a", "b")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const n = 100
	startQueue(ctx, t, tn.node("b"), Packet{Behaviours: PacketReorder, Delay: 50 * time.Millisecond, Reorder: 50})
	rx := tn.listenUDP(t, "a")
	tn.sendUDP(t, "b", "a", n, time.Millisecond)
	got := rx.wait(n, 3*time.Second)
	if len(got) != n {
		t.Errorf("a received %d of %d datagrams: reorder must not lose any", len(got), n)
	}
	late, highest := 0, uint32(0)
	for i, s := range got {
		if i > 0 && s < highest {
			late++
		}
		highest = max(highest, s)
	}
	if late == 0 {
		t.Errorf("with reorder 50%% and a 50ms delay every datagram arrived in order: %v", got)
	}
	t.Logf("reorder 50%% with a 50ms delay: %d of %d datagrams arrived after a later one", late, n)

	// Delay alone, without jitter, keeps the order.
	tn2 := newTestNet(t, "a", "b")
	startQueue(ctx, t, tn2.node("b"), Packet{Behaviours: PacketDelay, Delay: 20 * time.Millisecond})
	rx = tn2.listenUDP(t, "a")
	tn2.sendUDP(t, "b", "a", n, 0)
	got = rx.wait(n, 3*time.Second)
	for i := 1; i < len(got); i++ {
		if got[i] < got[i-1] {
			t.Fatalf("a delay without jitter reordered datagrams: %v", got)
		}
	}
}

// TestPacketQueueKeepsTCPWhole streams through every behaviour at once:
// TCP delivers the data whole, so no corrupted packet got through.
func TestPacketQueueKeepsTCPWhole(t *testing.T) {
	tn := newTestNet(t, "a", "b")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := Packet{Behaviours: AllPacketBehaviours, Delay: 10 * time.Millisecond, Jitter: 5 * time.Millisecond,
		Loss: 2, Duplicate: 20, Reorder: 20, Corrupt: 5}
	q := startQueue(ctx, t, tn.node("b"), p)
	data := make([]byte, 1<<20)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	addr := netip.AddrPortFrom(tn.node("a").Addr, testUDPPort)
	var ln net.Listener
	if err := nsutil.RunInNamespace(tn.ns["a"], func() (err error) {
		ln, err = net.Listen("tcp", addr.String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		b, _ := io.ReadAll(c)
		got <- b
	}()
	start := time.Now()
	var c net.Conn
	if err := nsutil.RunInNamespace(tn.ns["b"], func() (err error) {
		c, err = (&net.Dialer{}).DialContext(ctx, "tcp", addr.String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.Write(data); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if b := <-got; !bytes.Equal(b, data) {
		t.Errorf("a received %d bytes, not the %d sent", len(b), len(data))
	}
	t.Logf("1 MiB b→a through %s in %s", p.Describe(), time.Since(start))
	if err := q.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestPacketQueueStopLeavesNothing(t *testing.T) {
	tn := newTestNet(t, "a", "b")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := tn.node("b")
	goroutines, fds := runtime.NumGoroutine(), openFDs(t)

	q, err := StartPacketQueue(ctx, b, Packet{Behaviours: AllPacketBehaviours}.Defaults(), 3)
	if err != nil {
		t.Fatal(err)
	}
	if n := packetChainRules(t, b.NetNSPath); n != 1 {
		t.Fatalf("the packet chain has %d rules, want 1", n)
	}
	during, duringFDs := runtime.NumGoroutine(), openFDs(t)
	// Some traffic, with packets held when Stop comes.
	rx := tn.listenUDP(t, "a")
	for range 3 {
		_, _ = tn.connect("a", "b", 300*time.Millisecond)
	}
	tn.sendUDP(t, "b", "a", 50, 0)
	if err := q.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if n := packetChainRules(t, b.NetNSPath); n >= 0 {
		t.Errorf("the packet chain is still there after Stop, with %d rules", n)
	}
	if tables := inetTables(t, b.NetNSPath); len(tables) != 0 {
		t.Errorf("inet tables %v are left after Stop", tables)
	}
	if err := q.Stop(ctx); err != nil {
		t.Errorf("stopping twice: %v", err)
	}
	rx.close()
	eventually(t, 3*time.Second, func() (bool, string) {
		g := runtime.NumGoroutine()
		return g <= goroutines, fmt.Sprintf("%d goroutines before the queue, %d after Stop", goroutines, g)
	})
	eventually(t, 3*time.Second, func() (bool, string) {
		n := openFDs(t)
		return n <= fds, fmt.Sprintf("%d open files before the queue, %d after Stop", fds, n)
	})
	t.Logf("goroutines: %d before, %d with the queue, %d after Stop; open files: %d before, %d with the queue, %d after", goroutines, during, runtime.NumGoroutine(), fds, duringFDs, openFDs(t))
	tn.reachable(t, "a", "b")
}

func TestPacketQueueLeavesPartitionsAlone(t *testing.T) {
	tn := newTestNet(t, "a", "b", "c")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	t.Cleanup(func() { tn.setDrops(t, context.Background(), nil) })
	b := tn.node("b")
	tn.setDrops(t, ctx, map[string][]string{"b": {"c"}})
	q := startQueue(ctx, t, b, Packet{Behaviours: PacketDelay, Delay: 10 * time.Millisecond})
	tn.unreachable(t, "c", "b")
	tn.reachable(t, "a", "b")
	if err := q.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if got := inetTables(t, b.NetNSPath); !equalSets(got, []string{"faultline"}) {
		t.Errorf("tables after Stop = %v, want faultline's, with the partition", got)
	}
	tn.unreachable(t, "c", "b")
	tn.setDrops(t, ctx, nil)
	tn.reachable(t, "c", "b")
}

func TestPacketQueueOnePerNode(t *testing.T) {
	tn := newTestNet(t, "a")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := tn.node("a")
	q := startQueue(ctx, t, a, Packet{Behaviours: PacketDelay, Delay: time.Millisecond})
	if q2, err := StartPacketQueue(ctx, a, Packet{Behaviours: PacketLoss, Loss: 100}, 1); err == nil {
		_ = q2.Stop(ctx)
		t.Fatal("a second packet queue on the same node started")
	} else if !strings.Contains(err.Error(), "stop it first") {
		t.Errorf("second queue: %v, want an error saying to stop the first", err)
	} else {
		t.Logf("a second queue: %v", err)
	}
	if n := packetChainRules(t, a.NetNSPath); n != 1 {
		t.Errorf("the failed start left the packet chain with %d rules, want the first queue's 1", n)
	}
	if err := q.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		p    Packet
		want string
	}{
		{Packet{Delay: time.Second}, "no behaviour"},
		{Packet{Behaviours: PacketLoss, Loss: 120}, "loss 120%"},
		{Packet{Behaviours: PacketReorder, Reorder: 20}, "reorder needs a delay"},
	} {
		if q, err := StartPacketQueue(ctx, a, tc.p, 1); err == nil || !strings.Contains(err.Error(), tc.want) {
			if q != nil {
				_ = q.Stop(ctx)
			}
			t.Errorf("StartPacketQueue(%+v) = %v, want an error containing %q", tc.p, err, tc.want)
		}
	}
}

// TestPacketQueueBypassWhenHarnessDies kills a process holding a packet
// queue: its rule stays, and packets bypass it.
func TestPacketQueueBypassWhenHarnessDies(t *testing.T) {
	tn := newTestNet(t, "a", "b")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := tn.node("b")
	t.Cleanup(func() { _ = removePacketChain(context.Background(), b.NetNSPath) })
	before := connectTime(t, tn, "a", "b")

	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestPacketQueueHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "FLTEST_PACKET_QUEUE_NS="+b.NetNSPath, "FLTEST_PACKET_QUEUE_ADDR="+b.Addr.String())
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "queue started") {
		t.Fatalf("the helper process did not start a queue: %v\n%s", err, out)
	}
	if n := packetChainRules(t, b.NetNSPath); n != 1 {
		t.Fatalf("after the helper died the packet chain has %d rules, want its 1 left behind", n)
	}
	after := connectTime(t, tn, "a", "b")
	if after > before+50*time.Millisecond {
		t.Errorf("with the queue's process dead a connect takes %s, %s before: packets should bypass the queue", after, before)
	}
	t.Logf("connect %s before, %s with the 100ms queue's process dead", before, after)

	// The same when the socket closes in a live process.
	q := startQueue(ctx, t, b, Packet{Behaviours: PacketDelay, Delay: 100 * time.Millisecond})
	if during := connectTime(t, tn, "a", "b"); during < 100*time.Millisecond {
		t.Fatalf("a new queue does not delay: %s, %s before", during, before)
	}
	q.closeQueue()
	if after := connectTime(t, tn, "a", "b"); after > before+50*time.Millisecond {
		t.Errorf("with the queue's socket closed a connect takes %s, %s before", after, before)
	}
	if err := q.Stop(ctx); err != nil {
		t.Errorf("Stop after the socket closed: %v", err)
	}
	if n := packetChainRules(t, b.NetNSPath); n >= 0 {
		t.Errorf("the packet chain is still there after Stop")
	}
}

// TestPacketQueueHelperProcess starts a 100ms delay queue and exits
// without stopping it, as a harness that crashes.
func TestPacketQueueHelperProcess(t *testing.T) {
	path := os.Getenv("FLTEST_PACKET_QUEUE_NS")
	if path == "" {
		t.Skip("runs only as the child of TestPacketQueueBypassWhenHarnessDies")
	}
	node := Host{Name: "b", Addr: netip.MustParseAddr(os.Getenv("FLTEST_PACKET_QUEUE_ADDR")), NetNSPath: path}
	if _, err := StartPacketQueue(context.Background(), node, Packet{Behaviours: PacketDelay, Delay: 100 * time.Millisecond}, 1); err != nil {
		fmt.Println(err)
		os.Exit(2)
	}
	fmt.Println("queue started")
	os.Exit(0)
}

func TestPacketQueueStopAfterNamespaceIsGone(t *testing.T) {
	realtest.Require(t)
	id := make([]byte, 3)
	if _, err := rand.Read(id); err != nil {
		t.Fatal(err)
	}
	name := "fltest-" + hex.EncodeToString(id) + "-gone"
	ns, err := nsutil.NewNamedNamespace(name)
	if err != nil {
		t.Fatal(err)
	}
	ns.Close()
	t.Cleanup(func() { _ = netns.DeleteNamed(name) })
	node := Host{Name: "gone", Addr: netip.MustParseAddr("10.214.0.99"), NetNSPath: "/run/netns/" + name}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q, err := StartPacketQueue(ctx, node, Packet{Behaviours: AllPacketBehaviours}.Defaults(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := netns.DeleteNamed(name); err != nil {
		t.Fatal(err)
	}
	if err := q.Stop(ctx); err != nil {
		t.Errorf("Stop with the namespace gone: %v", err)
	}
}

// TestHostFaultsFallBack: a host's packet fault goes through netem, or the
// packet queue where the kernel has none; it says which, takes effect, and
// clears, twice over.
func TestHostFaultsFallBack(t *testing.T) {
	tn := newTestNet(t, "a", "b")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := tn.node("b")
	hf := NewHostFaults(b)
	t.Cleanup(func() { _ = hf.ClearPackets(context.Background()) })

	before := connectTime(t, tn, "a", "b")
	// Defaults would add 10ms of jitter either way; the bound below allows
	// for the 1ms given here.
	p := Packet{Behaviours: PacketDelay, Delay: 100 * time.Millisecond, Jitter: time.Millisecond}.Defaults()
	via, err := hf.ShapePackets(ctx, p, 42)
	if err != nil {
		t.Fatal(err)
	}
	if via != "netem" && via != "nfqueue" {
		t.Fatalf("shaped via %q", via)
	}
	if !packetFaultOn(t, b, via) {
		t.Errorf("ShapePackets says %s, but b has none", via)
	}
	during := connectTime(t, tn, "a", "b")
	if during < p.Delay-p.Jitter { // no connect is quicker than its delayed packet
		t.Errorf("connect took %s before and %s during a %s fault", before, during, p.Describe())
	}
	if err := hf.ClearPackets(ctx); err != nil {
		t.Fatal(err)
	}
	if packetFaultOn(t, b, via) {
		t.Errorf("%s still on b after ClearPackets", via)
	}
	after := connectTime(t, tn, "a", "b")
	if after > before+50*time.Millisecond {
		t.Errorf("connect took %s after clearing, %s before", after, before)
	}
	if err := hf.ClearPackets(ctx); err != nil {
		t.Errorf("clearing twice: %v", err)
	}
	t.Logf("via %s; connect %s before, %s during, %s after", via, before, during, after)
}

// TestDropsAndPacketsTogether: a partition set while a packet queue runs
// leaves the queue's chain in place, and clearing one leaves the other.
func TestDropsAndPacketsTogether(t *testing.T) {
	tn := newTestNet(t, "a", "b", "c")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := tn.node("b")
	hf := NewHostFaults(b)
	t.Cleanup(func() { _ = hf.ClearPackets(context.Background()); _ = hf.Drop(context.Background(), nil) })
	p := Packet{Behaviours: PacketDelay, Delay: 100 * time.Millisecond, Jitter: time.Millisecond}.Defaults()
	via, err := hf.ShapePackets(ctx, p, 7)
	if err != nil {
		t.Fatal(err)
	}
	if err := hf.Drop(ctx, []netip.Addr{tn.node("a").Addr}); err != nil {
		t.Fatal(err)
	}
	tn.unreachable(t, "a", "b")
	if !packetFaultOn(t, b, via) {
		t.Errorf("the partition removed the %s packet fault", via)
	}
	if d := connectTime(t, tn, "c", "b"); d < p.Delay-p.Jitter {
		t.Errorf("c to b took %s with b's packets delayed %s", d, p.Describe())
	}
	if err := hf.Drop(ctx, nil); err != nil {
		t.Fatal(err)
	}
	tn.reachable(t, "a", "b")
	if !packetFaultOn(t, b, via) {
		t.Errorf("healing the partition removed the %s packet fault", via)
	}
	if err := hf.ClearPackets(ctx); err != nil {
		t.Fatal(err)
	}
	if tables := inetTables(t, b.NetNSPath); len(tables) != 0 {
		t.Errorf("b still has inet tables %v with no fault in place", tables)
	}
}

func TestPacketShaper(t *testing.T) {
	pkt := make([]byte, 60)
	pkt[0] = 0x45 // IPv4, 20-byte header
	fates := func(p Packet, seed uint64, n int) []packetFate {
		s := newPacketShaper(p, seed)
		out := make([]packetFate, n)
		for i := range out {
			out[i] = s.decide(pkt)
		}
		return out
	}
	all := Packet{Behaviours: AllPacketBehaviours}.Defaults()
	a, b := fates(all, 9, 200), fates(all, 9, 200)
	for i := range a {
		if a[i].drop != b[i].drop || a[i].duplicate != b[i].duplicate || a[i].delay != b[i].delay || string(a[i].corrupted) != string(b[i].corrupted) {
			t.Fatalf("the same seed gave packet %d different fates: %+v and %+v", i, a[i], b[i])
		}
	}

	const n = 20000
	count := func(fs []packetFate, f func(packetFate) bool) float64 {
		c := 0
		for _, x := range fs {
			if f(x) {
				c++
			}
		}
		return 100 * float64(c) / float64(len(fs))
	}
	near := func(what string, got, want float64) {
		t.Helper()
		if got < want-2 || got > want+2 {
			t.Errorf("%s: %.1f%% of packets, want about %g%%", what, got, want)
		}
	}
	near("loss 30", count(fates(Packet{Behaviours: PacketLoss, Loss: 30}, 1, n), func(f packetFate) bool { return f.drop }), 30)
	near("duplicate 20", count(fates(Packet{Behaviours: PacketDuplicate, Duplicate: 20}, 1, n), func(f packetFate) bool { return f.duplicate }), 20)
	near("corrupt 10", count(fates(Packet{Behaviours: PacketCorrupt, Corrupt: 10}, 1, n), func(f packetFate) bool { return f.corrupted != nil }), 10)
	reorder := fates(Packet{Behaviours: PacketReorder, Delay: 50 * time.Millisecond, Reorder: 25}, 1, n)
	near("reorder 25", count(reorder, func(f packetFate) bool { return f.delay == 0 }), 25)
	for _, f := range reorder {
		if f.delay != 0 && f.delay != 50*time.Millisecond {
			t.Fatalf("reorder without jitter delayed a packet %s", f.delay)
		}
	}
	if got := count(fates(Packet{Behaviours: PacketLoss, Loss: 100}, 1, 1000), func(f packetFate) bool { return f.drop }); got != 100 {
		t.Errorf("loss 100%% dropped %.1f%%", got)
	}
	if got := count(fates(Packet{Behaviours: PacketLoss, Loss: 0}, 1, 1000), func(f packetFate) bool { return f.drop }); got != 0 {
		t.Errorf("loss 0%% dropped %.1f%%", got)
	}

	lo, hi := time.Hour, time.Duration(0)
	for _, f := range fates(Packet{Behaviours: PacketDelay, Delay: 50 * time.Millisecond, Jitter: 10 * time.Millisecond}, 1, n) {
		lo, hi = min(lo, f.delay), max(hi, f.delay)
	}
	if lo < 40*time.Millisecond || hi > 60*time.Millisecond || hi-lo < 19*time.Millisecond {
		t.Errorf("delay 50ms ±10ms ranged over %s–%s", lo, hi)
	}
	for _, f := range fates(Packet{Behaviours: PacketDelay, Delay: 5 * time.Millisecond, Jitter: 20 * time.Millisecond}, 1, 1000) {
		if f.delay < 0 {
			t.Fatalf("a negative delay %s", f.delay)
		}
	}

	for _, f := range fates(Packet{Behaviours: PacketCorrupt, Corrupt: 100}, 1, 1000) {
		diff := 0
		for i := range pkt {
			x := f.corrupted[i] ^ pkt[i]
			if x != 0 && i < 20 {
				t.Fatalf("corrupt changed byte %d, in the IP header", i)
			}
			for ; x != 0; x &= x - 1 {
				diff++
			}
		}
		if diff != 1 {
			t.Fatalf("corrupt flipped %d bits, want 1", diff)
		}
	}
	if f := newPacketShaper(Packet{Behaviours: PacketCorrupt, Corrupt: 100}, 1).decide(pkt[:20]); f.corrupted != nil {
		t.Errorf("corrupt changed a packet that is all header")
	}
	if isIPv4([]byte{0x60, 0, 0, 0}) || isIPv4(pkt[:19]) || !isIPv4(pkt) {
		t.Error("isIPv4 is wrong")
	}
}

// startQueue starts a packet queue on node and stops it when the test ends.
func startQueue(ctx context.Context, t *testing.T, node Host, p Packet) *PacketQueue {
	t.Helper()
	q, err := StartPacketQueue(ctx, node, p, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := q.Stop(context.Background()); err != nil {
			t.Errorf("stop the packet queue: %v", err)
		}
	})
	return q
}

// packetChainRules counts the rules of the packet chain in the namespace at
// path, or is -1 without the chain.
func packetChainRules(t *testing.T, path string) int {
	t.Helper()
	c, done := nftIn(t, path)
	defer done()
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range chains {
		if ch.Table.Name == tableName && ch.Name == packetChainName {
			rules, err := c.GetRules(ch.Table, ch)
			if err != nil {
				t.Fatal(err)
			}
			return len(rules)
		}
	}
	return -1
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func eventually(t *testing.T, d time.Duration, ok func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		good, why := ok()
		if good {
			return
		}
		if time.Now().After(deadline) {
			t.Error(why)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const testUDPPort = 7048

// udpReceiver records the sequence numbers of the datagrams a node gets.
type udpReceiver struct {
	conn *net.UDPConn
	mu   sync.Mutex
	got  []uint32
	more chan struct{}
}

// listenUDP receives datagrams on node's address, port testUDPPort, until
// the test ends.
func (tn *testNet) listenUDP(t *testing.T, node string) *udpReceiver {
	t.Helper()
	r := &udpReceiver{more: make(chan struct{}, 1)}
	addr := netip.AddrPortFrom(tn.node(node).Addr, testUDPPort)
	err := nsutil.RunInNamespace(tn.ns[node], func() error {
		var err error
		r.conn, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(addr))
		return err
	})
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { r.close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 64)
		for {
			n, err := r.conn.Read(buf)
			if err != nil {
				return
			}
			if n >= 4 {
				r.mu.Lock()
				r.got = append(r.got, binary.BigEndian.Uint32(buf))
				r.mu.Unlock()
				select {
				case r.more <- struct{}{}:
				default:
				}
			}
		}
	}()
	return r
}

func (r *udpReceiver) close() { _ = r.conn.Close() }

func (r *udpReceiver) seqs() []uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]uint32(nil), r.got...)
}

// wait returns the datagrams received once there are n, or after d.
func (r *udpReceiver) wait(n int, d time.Duration) []uint32 {
	timeout := time.After(d)
	for {
		if got := r.seqs(); len(got) >= n {
			return got
		}
		select {
		case <-r.more:
		case <-timeout:
			return r.seqs()
		}
	}
}

// sendUDP sends n datagrams numbered 0..n-1 from one node to another's
// listenUDP, gap apart.
func (tn *testNet) sendUDP(t *testing.T, from, to string, n int, gap time.Duration) {
	t.Helper()
	addr := netip.AddrPortFrom(tn.node(to).Addr, testUDPPort)
	var conn *net.UDPConn
	err := nsutil.RunInNamespace(tn.ns[from], func() error {
		var err error
		conn, err = net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(addr))
		return err
	})
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, from, err)
	}
	defer conn.Close()
	buf := make([]byte, 16)
	for i := range n {
		binary.BigEndian.PutUint32(buf, uint32(i))
		if _, err := conn.Write(buf); err != nil {
			t.Fatalf("send to %s: %v", addr, err)
		}
		if gap > 0 {
			time.Sleep(gap)
		}
	}
}
