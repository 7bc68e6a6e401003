package checker

import (
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// A check that needs more memory than the process may have must end with a
// one-line error, not the runtime's "fatal error: out of memory" and a dump
// of every goroutine (what happens when the address space runs out) or the
// kernel's OOM killer (a cgroup's limit). Go cannot recover from either, so
// the queue checker watches instead: memoryGuard knows the limits the
// process runs under and, every few thousand records, compares the memory
// in use with each; near one (90%, or 96 MiB below an address-space
// limit) it collects garbage and, if that does not bring the use back, the
// check stops with an error saying which limit and how much it had used.
//
// Why watch rather than estimate from the input before starting: what the
// checker holds grows with the distinct values and offsets the records
// name, not with the input's size (a history whose polls re-read the same
// records ten times needs a tenth), so an estimate would either refuse
// histories that fit or let through ones that do not. Watching works because
// nothing the checker allocates at once is large: its tables grow a page at
// a time (see paged), and a poll is read one record at a time.

// A memoryLimit is one limit the process runs under.
type memoryLimit struct {
	what   string        // what sets it, for the error
	limit  uint64        // bytes
	margin uint64        // how close to it the use may come
	used   func() uint64 // the use it counts, now
}

// memoryGuard watches the process's memory against its limits.
type memoryGuard struct {
	limits []memoryLimit
	// afterGC is, per limit, the use measured after the last collection
	// the guard forced, so that it does not force one at every look when
	// the use hovers near the limit.
	afterGC []uint64
}

// newGuard makes the queue checker's memory guard (tests replace it).
var newGuard = newMemoryGuard

// newMemoryGuard returns a guard for the limits of this process, or nil if
// it knows of none.
func newMemoryGuard() *memoryGuard {
	limits := systemMemoryLimits()
	if l := debug.SetMemoryLimit(-1); l > 0 && l < math.MaxInt64 {
		limits = append(limits, memoryLimit{what: "the Go memory limit (GOMEMLIMIT)", limit: uint64(l), used: goMemoryUsed})
	}
	if len(limits) == 0 {
		return nil
	}
	for i := range limits {
		if limits[i].margin == 0 {
			limits[i].margin = limits[i].limit / 10
		}
	}
	return &memoryGuard{limits: limits, afterGC: make([]uint64, len(limits))}
}

// check returns an error if the use is too close to a limit even after a
// garbage collection. what says how far the check got, for the error.
func (g *memoryGuard) check(what func() string) error {
	for i, l := range g.limits {
		threshold := l.limit - min(l.limit, l.margin)
		used := l.used()
		if used <= threshold {
			continue
		}
		if g.afterGC[i] != 0 && used < g.afterGC[i]+l.limit/32 {
			// Collected recently, and the use has hardly grown since:
			// what is in use is live, so it is too much.
			return outOfMemory(l, used, what())
		}
		runtime.GC()
		debug.FreeOSMemory()
		used = l.used()
		g.afterGC[i] = used
		if used > threshold {
			return outOfMemory(l, used, what())
		}
	}
	return nil
}

func outOfMemory(l memoryLimit, used uint64, what string) error {
	return fmt.Errorf("out of memory: the check stopped after %s, using %s of the %s that %s allows; check the history where more memory is available",
		what, formatMiB(used), formatMiB(l.limit), l.what)
}

// formatMiB renders a size in MiB, or GiB from 10 GiB up.
func formatMiB(n uint64) string {
	if n >= 10<<30 {
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%d MiB", n>>20)
}

// goMemoryUsed returns the memory the Go runtime has from the OS and has
// not returned: what GOMEMLIMIT counts.
func goMemoryUsed() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64() - min(s[0].Value.Uint64(), s[1].Value.Uint64())
}

// heapReusable returns the heap memory mapped but not in use, which the
// runtime reuses before it maps more.
func heapReusable() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/free:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64() + s[1].Value.Uint64()
}
