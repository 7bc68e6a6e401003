package netfault

import (
	"math/rand/v2"
	"slices"
	"time"
)

// packetShaper draws what a packet queue does to each packet, after a
// Packet's behaviours. It is not safe for concurrent use.
type packetShaper struct {
	p   Packet
	rng *rand.Rand
}

// packetFate is what happens to one packet.
type packetFate struct {
	drop      bool
	corrupted []byte        // the packet with one bit flipped, or nil
	duplicate bool          // send a copy too
	delay     time.Duration // hold it this long first
}

// newPacketShaper seeds a PCG with seed; the same seed and packets give the
// same fates.
func newPacketShaper(p Packet, seed uint64) *packetShaper {
	return &packetShaper{p: p, rng: rand.New(rand.NewPCG(seed, 0xfa17))}
}

// decide draws the fate of pkt, an IPv4 packet (see isIPv4). Each
// behaviour that is on draws in the same order every time: loss, corrupt,
// duplicate, reorder, delay.
func (s *packetShaper) decide(pkt []byte) packetFate {
	var f packetFate
	b := s.p.Behaviours
	if b.Has(PacketLoss) && s.chance(s.p.Loss) {
		f.drop = true
		return f
	}
	if b.Has(PacketCorrupt) && s.chance(s.p.Corrupt) {
		f.corrupted = s.flipBit(pkt)
	}
	if b.Has(PacketDuplicate) && s.chance(s.p.Duplicate) {
		f.duplicate = true
	}
	if !s.p.delayed() {
		return f
	}
	if b.Has(PacketReorder) && s.chance(s.p.Reorder) {
		return f // sent at once, ahead of the delayed ones
	}
	f.delay = s.p.Delay
	if s.p.Jitter > 0 {
		f.delay += time.Duration((2*s.rng.Float64() - 1) * float64(s.p.Jitter))
	}
	f.delay = max(f.delay, 0)
	return f
}

// chance is true with probability pct percent.
func (s *packetShaper) chance(pct float64) bool {
	return s.rng.Float64()*100 < pct
}

// flipBit returns a copy of pkt with one random bit past the IP header
// flipped, or nil if nothing follows the header.
func (s *packetShaper) flipBit(pkt []byte) []byte {
	hdr := int(pkt[0]&0x0f) * 4
	if hdr >= len(pkt) {
		return nil
	}
	bit := s.rng.IntN((len(pkt) - hdr) * 8)
	out := slices.Clone(pkt)
	out[hdr+bit/8] ^= 1 << (bit % 8)
	return out
}
