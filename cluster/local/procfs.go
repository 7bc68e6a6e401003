package local

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// procStat is what faultline reads of a process from /proc/PID/stat.
type procStat struct {
	State     byte   // R, S, D, T (stopped: paused), Z, ...
	StartTime uint64 // clock ticks after boot: with the pid, names a process uniquely
}

func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	s := string(b)
	end := strings.LastIndexByte(s, ')')
	if end < 0 || end+2 >= len(s) {
		return procStat{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	fields := strings.Fields(s[end+2:])
	// fields[0] is field 3 (state); field 22 (starttime) is fields[19].
	if len(fields) < 20 || len(fields[0]) != 1 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	start, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("/proc/%d/stat: start time: %w", pid, err)
	}
	return procStat{State: fields[0][0], StartTime: start}, nil
}

// sameProcess reports whether pid still names the process that started at start.
func sameProcess(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	st, err := readProcStat(pid)
	return err == nil && st.StartTime == start && st.State != 'Z'
}

// nsInode returns the inode of a network namespace file.
func nsInode(path string) (uint64, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

// pidsInNamespaces lists the processes whose network namespace is one of the
// given inodes. This finds exactly a run's processes, whatever they are called.
func pidsInNamespaces(inodes map[uint64]bool) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list /proc: %w", err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		ino, err := nsInode(filepath.Join("/proc", e.Name(), "ns", "net"))
		if err != nil {
			continue // gone, or a kernel thread
		}
		if inodes[ino] {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// alive reports whether a process exists and is not a zombie.
func alive(pid int) bool {
	st, err := readProcStat(pid)
	if errors.Is(err, os.ErrNotExist) {
		return false
	}
	return err == nil && st.State != 'Z'
}
