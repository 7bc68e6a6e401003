// Package procfs reads what faultline needs of a process from /proc: its
// state and its start time, which with the pid names a process uniquely.
package procfs

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Stat is what faultline reads of a process from /proc/PID/stat.
type Stat struct {
	State     byte   // R, S, D, T (stopped: paused), Z, ...
	StartTime uint64 // clock ticks after boot: with the pid, names a process uniquely
	// UTime and STime are the CPU it has used in user and kernel mode,
	// in clock ticks (100 a second on Linux).
	UTime, STime uint64
}

// ReadStat reads /proc/PID/stat.
func ReadStat(pid int) (Stat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return Stat{}, err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	s := string(b)
	end := strings.LastIndexByte(s, ')')
	if end < 0 || end+2 >= len(s) {
		return Stat{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	fields := strings.Fields(s[end+2:])
	// fields[0] is field 3 (state); fields 14 and 15 (utime, stime) are
	// fields[11] and fields[12]; field 22 (starttime) is fields[19].
	if len(fields) < 20 || len(fields[0]) != 1 {
		return Stat{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	start, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return Stat{}, fmt.Errorf("/proc/%d/stat: start time: %w", pid, err)
	}
	utime, uerr := strconv.ParseUint(fields[11], 10, 64)
	stime, serr := strconv.ParseUint(fields[12], 10, 64)
	if uerr != nil || serr != nil {
		return Stat{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	return Stat{State: fields[0][0], StartTime: start, UTime: utime, STime: stime}, nil
}

// SameProcess reports whether pid still names the process that started at start.
func SameProcess(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	st, err := ReadStat(pid)
	return err == nil && st.StartTime == start && st.State != 'Z'
}
