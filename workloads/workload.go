package workloads

import (
	"context"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/history"
)

// Workload is one kind of test traffic against a cluster. The runner calls
// Setup once, then, from one goroutine per process, Next, Client.Invoke and
// Completed in a loop until the time limit; then FinalReads, Close, and the
// Checker on the whole history.
type Workload interface {
	// Setup prepares the cluster: znodes, topics.
	Setup(ctx context.Context) error
	// Client opens a client for process p. After an op of p ends as info,
	// the runner closes p's client and opens one for a new process.
	Client(ctx context.Context, p history.Process) (Client, error)
	// Next returns the next op for process p to invoke (type invoke, with
	// F, Key and Value set). It may block, e.g. while a fresh key is made.
	Next(ctx context.Context, p history.Process) (history.Op, error)
	// Completed tells the generator how an op ended.
	Completed(op history.Op)
	// FinalReads reads everything back after the cluster has healed,
	// recording each op through rec.
	FinalReads(ctx context.Context, rec Recorder) error
	// Checker judges the history.
	Checker() checker.Checker
	// Details describe the workload for the results (e.g. the read mode).
	Details() map[string]any
	// Close releases the workload's own connections.
	Close() error
}

// Client performs ops for one process.
type Client interface {
	// Invoke performs op and returns its completion: op with Type ok,
	// fail or info, and Value, Node and Error filled in. It must return
	// by ctx's deadline; an op that cannot be known to have happened or
	// not by then is info.
	Invoke(ctx context.Context, op history.Op) history.Op
	// Close closes the client; it must not block on an unreachable server.
	Close()
}

// Recorder lets final reads use the history as the runner's processes do.
type Recorder interface {
	// NewProcess returns a process id no one has used.
	NewProcess() history.Process
	// Record invokes op as process p through c and records the invocation
	// and the completion, which it returns.
	Record(ctx context.Context, p history.Process, c Client, op history.Op) (history.Op, error)
}
