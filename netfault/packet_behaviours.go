package netfault

import (
	"fmt"
	"strings"
)

// PacketBehaviours is the set of netem behaviours a packet fault turns on.
// Its text form, in flags and test.json, is a comma list such as
// "delay,loss".
type PacketBehaviours uint8

// The packet behaviours, after Jepsen's jepsen.net/shape!.
const (
	PacketDelay     PacketBehaviours = 1 << iota // delay every packet
	PacketLoss                                   // drop some packets
	PacketDuplicate                              // send some packets twice
	PacketReorder                                // send some packets at once, ahead of delayed ones
	PacketCorrupt                                // flip a bit in some packets

	// AllPacketBehaviours turns every behaviour on.
	AllPacketBehaviours = PacketDelay | PacketLoss | PacketDuplicate | PacketReorder | PacketCorrupt
)

// behaviourName names each behaviour, in the order they are listed.
func behaviourNames() []struct {
	b    PacketBehaviours
	name string
} {
	return []struct {
		b    PacketBehaviours
		name string
	}{
		{PacketDelay, "delay"},
		{PacketLoss, "loss"},
		{PacketDuplicate, "duplicate"},
		{PacketReorder, "reorder"},
		{PacketCorrupt, "corrupt"},
	}
}

// ParseBehaviours reads a comma list of behaviours (delay, loss, duplicate,
// reorder, corrupt), or "all"; an empty string or "none" is the empty set.
func ParseBehaviours(s string) (PacketBehaviours, error) {
	switch strings.TrimSpace(s) {
	case "", "none":
		return 0, nil
	case "all":
		return AllPacketBehaviours, nil
	}
	var set PacketBehaviours
	for _, part := range strings.Split(s, ",") {
		name := strings.TrimSpace(part)
		b, ok := behaviourByName(name)
		if !ok {
			return 0, fmt.Errorf("packet behaviours %q: %q is not one: choose from delay, loss, duplicate, reorder, corrupt, or all", s, name)
		}
		set |= b
	}
	return set, nil
}

func behaviourByName(name string) (PacketBehaviours, bool) {
	for _, bn := range behaviourNames() {
		if bn.name == name {
			return bn.b, true
		}
	}
	return 0, false
}

// Has says whether every behaviour of x is on in b.
func (b PacketBehaviours) Has(x PacketBehaviours) bool { return b&x == x }

// String lists the behaviours that are on, e.g. "delay,loss", or "none".
func (b PacketBehaviours) String() string {
	var names []string
	for _, bn := range behaviourNames() {
		if b.Has(bn.b) {
			names = append(names, bn.name)
		}
	}
	if rest := b &^ AllPacketBehaviours; rest != 0 {
		names = append(names, fmt.Sprintf("unknown(%#x)", uint8(rest)))
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ",")
}

// MarshalText writes the behaviours as String does.
func (b PacketBehaviours) MarshalText() ([]byte, error) {
	if b&^AllPacketBehaviours != 0 {
		return nil, fmt.Errorf("packet behaviours %#x include unknown bits", uint8(b))
	}
	return []byte(b.String()), nil
}

// UnmarshalText reads the behaviours as ParseBehaviours does.
func (b *PacketBehaviours) UnmarshalText(text []byte) error {
	v, err := ParseBehaviours(string(text))
	if err != nil {
		return err
	}
	*b = v
	return nil
}
