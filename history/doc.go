// Package history is the record of a test: every operation a client or the
// nemesis invoked and how it completed, in Jepsen's op model, stored as JSON
// Lines (one Op per line, see docs/history.md).
//
// A process invokes an op (Invoke) and it completes as OK (it happened), Fail
// (it certainly did not happen) or Info (unknown: it may or may not have
// happened). After an Info completion a client process is retired and the
// client continues as a new process. Nemesis actions are ops of the process
// Nemesis, and what the leadership observer saw of each node's beliefs are
// ops of the process Observer; neither is a client, and neither is retired.
// Times are monotonic nanoseconds since the test's start.
//
// A Writer appends ops as they happen, one line per op with no buffering, so a
// harness that is killed still leaves a readable prefix; Read and ReadFile load
// a history back (ReadWith and ReadFileWith with a limit on a line's length
// other than DefaultMaxLine) and Pair matches each invocation with its
// completion.
//
// This is a leaf package: it imports nothing else of faultline.
package history
