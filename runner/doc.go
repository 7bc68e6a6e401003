// Package runner runs one test: bring the cluster up, set the workload up,
// drive it from concurrent client processes for the time limit while
// recording every op, do the final reads, tear the cluster down, check the
// history, and store everything in the run's directory.
package runner
