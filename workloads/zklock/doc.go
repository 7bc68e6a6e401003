// Package zklock is the zk-lock workload: client processes contend for a
// few locks made with ZooKeeper's lock recipe (an ephemeral sequential node
// under the lock's znode; the lowest holds the lock, the others each watch
// the node just below theirs), write a resource znode each lock protects
// while they hold it, and release it. The fencing token of a hold is its
// lock node's creation zxid. Clients are naive (they believe they hold the
// lock until they release it), careful (a disconnected or expired session
// ends their belief, recorded as a lose op) or fenced (naive, but the
// resource refuses a token older than one it took). After the run a fresh
// session lists the lock nodes left. checker.Lock judges the history
// (docs/history.md, "The zk-lock workload").
package zklock
