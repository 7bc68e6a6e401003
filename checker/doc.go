// Package checker turns a history into a verdict: valid, invalid or unknown,
// with counts and anomalies, like Jepsen's checkers. It reads histories and
// knows nothing of clusters, so `faultline check` can run it on a stored
// history alone.
//
// A Checker looks at one aspect of a history and returns a Result; Compose
// combines results the way Jepsen's compose does (false if any is false, else
// unknown if any is unknown, else true). Linearizable checks the zk-register
// workload against a versioned-register model with porcupine; Queue checks
// the kafka-queue workload's sends and polls for lost, duplicated and
// misordered records, like Jepsen's Kafka checker.
package checker
