package local

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/faultline/faultline/internal/procfs"
)

// procStat is what faultline reads of a process from /proc/PID/stat.
type procStat = procfs.Stat

func readProcStat(pid int) (procStat, error) { return procfs.ReadStat(pid) }

// sameProcess reports whether pid still names the process that started at start.
func sameProcess(pid int, start uint64) bool { return procfs.SameProcess(pid, start) }

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
