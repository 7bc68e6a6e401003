// Package checker turns a history into a verdict: valid, invalid or unknown,
// with counts and anomalies, like Jepsen's checkers. It reads histories and
// knows nothing of clusters, so `faultline check` can run it on a stored
// history alone.
//
// A Checker looks at one aspect of a history and returns a Result; Compose
// combines results the way Jepsen's compose does (false if any is false, else
// unknown if any is unknown, else true). A result with Advisory set (see
// Advisory) is a finding, left out of the verdict. Queue checks the
// kafka-queue workload's sends and polls for lost, duplicated and misordered
// records, like Jepsen's Kafka checker.
//
// Lock checks the zk-lock workload: clients that take a lock made of
// ZooKeeper's lock recipe and write to a resource it protects. It follows
// what each process believed it held and finds split brains (two beliefs in
// one lock at once, with the faults in place then), fencing violations,
// stale writes, grants ZooKeeper provably made twice, and lock nodes of
// ended sessions left behind. Leadership reads the observer's ops (what
// each ZooKeeper node, broker and KRaft controller believed about
// leadership, about once a second) and finds the times two nodes believed
// they led one thing; its result is always advisory. Both say which faults
// were in place, from the nemesis's ops as Faults reads them.
//
// The zk-register workload has three checkers, which ZKRegisterCheckers
// returns for a read mode and a required consistency (docs/history.md):
//   - LinearizableWrites checks that the writes and cas ops are
//     linearizable, as ZooKeeper promises, with porcupine against a
//     versioned-register model, key by key, and across keys that the zxid
//     order of writes agrees with real time. Reads are left out, but for the
//     final reads, which witness lost writes.
//   - Sequential checks what ZooKeeper promises of every read: each session
//     sees the writes in the order of their zxids, only forward, its own
//     writes included (read-went-back, missed-own-write, write-went-back),
//     and every read returns a state some write made (version-fork,
//     phantom-value, zxid-order). It reads the history once, in linear time.
//   - Linearizable checks the whole history, reads included, with the same
//     model. ZooKeeper promises it only for quorum reads (a write on the
//     session before the get); otherwise ZKRegisterCheckers makes it
//     advisory.
package checker
