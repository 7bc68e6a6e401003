package runner

import "github.com/faultline/faultline/cluster"

// The test binary starts clusters: keep namespace workers off its main thread.
func init() { cluster.LockMainThread() }
