//go:build linux

package checker

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// systemMemoryLimits returns the limits Linux sets on this process: its
// address space (ulimit -v), its cgroup's memory.max, and the memory the
// machine has available.
func systemMemoryLimits() []memoryLimit {
	var limits []memoryLimit
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_AS, &rl); err == nil && rl.Cur != ^uint64(0) && rl.Cur > 0 {
		// The runtime dies when it cannot map more: count the address
		// space mapped, less the heap it can reuse, and keep room for a
		// few more arenas (64 MiB each) and stacks.
		limits = append(limits, memoryLimit{what: "the address-space limit (ulimit -v)", limit: rl.Cur, margin: 96 << 20,
			used: func() uint64 { v := statm(0); return v - min(v, heapReusable()) }})
	}
	if max, ok := cgroupMemoryMax(); ok {
		limits = append(limits, memoryLimit{what: "the cgroup's memory limit", limit: max, used: func() uint64 { return statm(1) }})
	}
	if avail, ok := meminfo("MemAvailable:"); ok {
		limits = append(limits, memoryLimit{what: "the machine's available memory", limit: avail + statm(1), used: func() uint64 { return statm(1) }})
	}
	return limits
}

// statm returns field i of /proc/self/statm in bytes: 0 is the address
// space mapped, 1 the resident set. It returns 0 if it cannot tell.
func statm(i int) uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(b))
	if i >= len(fields) {
		return 0
	}
	pages, err := strconv.ParseUint(fields[i], 10, 64)
	if err != nil {
		return 0
	}
	return pages * uint64(os.Getpagesize())
}

// cgroupMemoryMax returns the memory limit of this process's cgroup (v2,
// or v1's memory.limit_in_bytes), if it has one.
func cgroupMemoryMax() (uint64, bool) {
	paths := []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}
	if b, err := os.ReadFile("/proc/self/cgroup"); err == nil {
		for line := range strings.Lines(string(b)) {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "0::"); ok && rest != "/" {
				paths = append([]string{"/sys/fs/cgroup" + rest + "/memory.max"}, paths...)
			}
		}
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		n, err := strconv.ParseUint(string(bytes.TrimSpace(b)), 10, 64)
		if err != nil || n >= 1<<62 { // "max", or v1's "no limit"
			return 0, false
		}
		return n, true
	}
	return 0, false
}

// meminfo returns a field of /proc/meminfo in bytes.
func meminfo(field string) (uint64, bool) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}
