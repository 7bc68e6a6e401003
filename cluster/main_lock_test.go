package cluster

// The test binary starts clusters: keep namespace workers off its main thread.
func init() { LockMainThread() }
