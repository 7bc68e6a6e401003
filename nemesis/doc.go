// Package nemesis holds the network fault primitives a schedule applies to
// cluster nodes: partitions (a Grudge of dropped peers, enforced with
// nftables inside each node's network namespace) and packet faults (netem
// delay, loss, duplication, reordering and corruption on a node's eth0, or,
// on kernels without netem, a PacketQueue doing the same in userspace
// through NFQUEUE).
//
// Each primitive is a pair of verbs, apply and heal, plus a description for
// the history. The package neither schedules faults nor asks a cluster
// anything: callers pass the nodes as NodeNet values and decide when.
//
// Grudge builders (IsolateOne, Halves, MajoritiesRing, Bridge, Isolate,
// Split, ParseGrudge) are pure: random ones take a seeded *rand.Rand, so the
// same seed gives the same grudge.
package nemesis
