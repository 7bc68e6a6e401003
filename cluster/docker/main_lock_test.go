package docker

import "github.com/faultline/faultline/internal/nsutil"

// The benchmark brings up local clusters too: keep namespace workers off
// the test binary's main thread.
func init() { nsutil.LockMainThread() }
