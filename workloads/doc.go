// Package workloads defines what a workload gives the test runner: setup,
// a client per process, a seeded generator of ops, the final reads after
// healing, and the checkers that judge the history. Each workload lives in
// a package of its own below this one (zkregister, ...).
package workloads
