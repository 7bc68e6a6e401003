//go:build !linux

package checker

// systemMemoryLimits returns no limits: only Linux's are known (GOMEMLIMIT
// is watched everywhere).
func systemMemoryLimits() []memoryLimit { return nil }
