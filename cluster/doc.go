// Package cluster brings up and controls the servers under test: a ZooKeeper
// ensemble and Kafka brokers (ZooKeeper mode), each node its own network host.
//
// A Cluster is a set of Nodes. A Node is one server process with a name
// (zk1.., kafka1..), a role, an address on the run's private network and the
// verbs the nemesis and workloads need: Start, Stop (SIGTERM), Kill (SIGKILL),
// Pause (SIGSTOP, or a container's freeze), Resume (SIGCONT, or a thaw) and
// Restart, keeping its data.
//
// The local backend (NewLocal) runs every node as a JVM in its own Linux
// network namespace, joined by a bridge that lives in a namespace made for the
// run, so a run never touches the machine's own network and two runs cannot
// collide. The harness reaches the nodes through Cluster.Dial, which opens its
// sockets inside the run's namespace. Every run records what it made in a state
// file under StateDir, so Down can remove what a crashed run left behind.
package cluster
