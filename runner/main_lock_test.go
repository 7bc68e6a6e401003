package runner

import "github.com/faultline/faultline/internal/nsutil"

// The test binary starts clusters: keep namespace workers off its main thread.
func init() { nsutil.LockMainThread() }
