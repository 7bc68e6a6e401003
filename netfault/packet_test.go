package netfault

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

func TestPacketDelayOnTheWire(t *testing.T) {
	tn := newTestNet(t, "a", "b")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := tn.node("b")

	before := connectTime(t, tn, "a", "b")
	p := Packet{Behaviours: PacketDelay, Delay: 100 * time.Millisecond}
	via, heal := shapePackets(ctx, t, b, p)
	if !packetFaultOn(t, b, via) {
		t.Fatalf("no faultline %s on b after applying the packet fault", via)
	}
	during := connectTime(t, tn, "a", "b")
	// The handshake waits for a delayed packet, so no connect is quicker
	// than the delay (a difference with before would count its noise too).
	if during < p.Delay {
		t.Errorf("connect took %s before and %s with a 100ms delay (%s): want at least 100ms", before, during, via)
	}
	if err := heal(ctx); err != nil {
		t.Fatal(err)
	}
	if packetFaultOn(t, b, via) {
		t.Errorf("%s still on b after healing", via)
	}
	after := connectTime(t, tn, "a", "b")
	if after > before+50*time.Millisecond {
		t.Errorf("connect took %s after healing, %s before", after, before)
	}
	t.Logf("a→b connect (median of 5), 100ms delay on b by %s: %s before, %s during, %s after", via, before, during, after)
	if err := heal(ctx); err != nil {
		t.Errorf("healing twice: %v", err)
	}
}

func TestApplyPacketAllBehaviours(t *testing.T) {
	tn := newTestNet(t, "a")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := tn.node("a")
	via, heal := shapePackets(ctx, t, a, Packet{Behaviours: AllPacketBehaviours}.Defaults())
	if via == "netem" {
		q := ourNetem(t, a)
		if q == nil {
			t.Fatal("no faultline netem on eth0")
		}
		if q.Latency == 0 || q.Jitter == 0 || q.Loss == 0 || q.Duplicate == 0 || q.ReorderProb == 0 || q.CorruptProb == 0 {
			t.Errorf("netem lacks a behaviour: %+v", q)
		}
	} else if !packetFaultOn(t, a, via) {
		t.Fatal("no packet queue chain in a's faultline table")
	}
	if err := heal(ctx); err != nil {
		t.Fatal(err)
	}
	if packetFaultOn(t, a, via) {
		t.Errorf("%s still there after healing", via)
	}
}

func TestHealPacketWithoutNetem(t *testing.T) {
	tn := newTestNet(t, "a")
	if err := HealPacket(context.Background(), tn.node("a")); err != nil {
		t.Errorf("HealPacket with no netem: %v", err)
	}
	gone := Host{Name: "zk1", Addr: mustAddr("10.213.0.2"), NetNSPath: "/run/netns/fltest-does-not-exist"}
	if err := HealPacket(context.Background(), gone); err != nil {
		t.Errorf("HealPacket on a vanished namespace: %v", err)
	}
}

func TestApplyPacketRefusesBadInput(t *testing.T) {
	node := Host{Name: "zk1", Addr: mustAddr("10.213.0.2"), NetNSPath: "/run/netns/fltest-unused"}
	for _, tc := range []struct {
		name string
		p    Packet
		want string
	}{
		{"nothing on", Packet{Delay: time.Second}, "no behaviour"},
		{"loss above 100", Packet{Behaviours: PacketLoss, Loss: 120}, "loss 120%"},
		{"negative delay", Packet{Behaviours: PacketDelay, Delay: -time.Second}, "delay -1s"},
		{"reorder without delay", Packet{Behaviours: PacketReorder, Reorder: 20}, "reorder needs a delay"},
	} {
		err := ApplyPacket(context.Background(), node, tc.p)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error = %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

func TestPacketDefaultsAndDescribe(t *testing.T) {
	p := Packet{}.Defaults()
	if p.Behaviours != PacketDelay || p.Delay != 50*time.Millisecond || p.Jitter != 10*time.Millisecond || p.Loss != 20 {
		t.Errorf("Defaults = %+v", p)
	}
	if err := p.Validate(); err != nil {
		t.Error(err)
	}
	if got := p.Describe(); got != "delay 50ms ±10ms" {
		t.Errorf("Describe = %q", got)
	}
	all := Packet{Behaviours: AllPacketBehaviours}.Defaults()
	if got, want := all.Describe(), "delay 50ms ±10ms, loss 20%, duplicate 20%, reorder 20%, corrupt 20%"; got != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}
	reorder := Packet{Behaviours: PacketReorder}.Defaults()
	if got, want := reorder.Describe(), "delay 50ms ±10ms (for reorder), reorder 20%"; got != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}
	// Only the chosen behaviours reach netem.
	a := Packet{Behaviours: PacketLoss}.Defaults().netemAttrs()
	if a.Loss != 20 || a.Latency != 0 || a.Duplicate != 0 || a.ReorderProb != 0 || a.CorruptProb != 0 {
		t.Errorf("loss only: netem attrs %+v", a)
	}
	if got := (Packet{}).Describe(); got != "no packet faults" {
		t.Errorf("empty Describe = %q", got)
	}
}

func TestParseBehaviours(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want PacketBehaviours
	}{
		{"", 0}, {"none", 0}, {"all", AllPacketBehaviours},
		{"delay", PacketDelay}, {"loss, reorder", PacketLoss | PacketReorder},
	} {
		got, err := ParseBehaviours(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseBehaviours(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	if _, err := ParseBehaviours("delay,jam"); err == nil || !strings.Contains(err.Error(), `"jam"`) {
		t.Errorf("ParseBehaviours of an unknown behaviour: %v", err)
	}
	p := Packet{Behaviours: PacketDelay | PacketCorrupt, Delay: time.Second}
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"behaviours":"delay,corrupt"`) {
		t.Errorf("JSON = %s", data)
	}
	var back Packet
	if err := json.Unmarshal(data, &back); err != nil || back != p {
		t.Errorf("JSON round trip = %+v, %v; want %+v", back, err, p)
	}
}

// connectTime is the median time of a few TCP connects from one node to
// another.
func connectTime(t *testing.T, tn *testNet, from, to string) time.Duration {
	t.Helper()
	var times []time.Duration
	for range 5 {
		d, err := tn.connect(from, to, 5*time.Second)
		if err != nil {
			t.Fatalf("connect %s to %s: %v", from, to, err)
		}
		times = append(times, d)
	}
	slices.Sort(times)
	return times[len(times)/2]
}

// shapePackets applies p to node with netem, or, where the kernel has no
// netem, with a packet queue, as a node's network does. It says which, and
// returns the heal; the test's end heals too.
func shapePackets(ctx context.Context, t *testing.T, node Host, p Packet) (via string, heal func(context.Context) error) {
	t.Helper()
	hf := NewHostFaults(node)
	via, err := hf.ShapePackets(ctx, p, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hf.ClearPackets(context.Background()) })
	return via, hf.ClearPackets
}

// packetFaultOn says whether node has faultline's netem, or packet queue
// chain, as via says.
func packetFaultOn(t *testing.T, node Host, via string) bool {
	t.Helper()
	if via == "netem" {
		return ourNetem(t, node) != nil
	}
	return packetChainRules(t, node.NetNSPath) >= 0
}

// ourNetem returns the faultline netem on node's eth0, or nil.
func ourNetem(t *testing.T, node Host) *netlink.Netem {
	t.Helper()
	ns, err := netns.GetFromPath(node.NetNSPath)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	link, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	qs, err := h.QdiscList(link)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		if isOurNetem(q) {
			return q.(*netlink.Netem)
		}
	}
	return nil
}
