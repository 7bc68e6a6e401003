// Command faultline is a Jepsen-style correctness and chaos harness for
// Apache ZooKeeper and Apache Kafka.
//
// Exit codes, for every command: 0 valid, 1 invalid (anomalies found),
// 2 unknown, 3 the harness could not do its job (bad flags, not root,
// servers would not start).
package main
