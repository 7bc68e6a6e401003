// Package zkregister is the zk-register workload: each key is a znode under
// /faultline/registers holding an integer, read, written and
// compare-and-set on its data version by many client processes, each with
// its own ZooKeeper session on one server. Jepsen's independent keys bound
// the checker's cost: after OpsPerKey ops a key is retired for a fresh one.
// The history is checked for what ZooKeeper promises (see
// checker.ZKRegisterCheckers): linearizable writes, sequential consistency
// per session against the zxid order of writes, and linearizable reads,
// required in quorum mode or when asked for, a finding otherwise.
package zkregister
