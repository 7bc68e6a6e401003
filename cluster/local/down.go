package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Down removes a run: it asks a live harness to tear its cluster down, then
// kills every process left in the run's namespaces and removes the
// namespaces, the work directory (when made for the run) and the state
// file. A run whose state file is damaged or gone is removed by its
// namespaces. With an empty id it removes every run whose harness is dead,
// and the live ones too when all is set.
func Down(ctx context.Context, id string, all bool) (removed, live []string, err error) {
	ids, named := []string{id}, id != ""
	if !named {
		if ids, err = RunIDs(); err != nil {
			return nil, nil, err
		}
		ids = append(ids, orphanRuns(ids)...)
	}
	var errs []error
	for _, id := range ids {
		st, err := readState(id)
		if err != nil {
			names, _ := runNamespaces(id)
			if _, serr := os.Stat(statePath(id)); len(names) == 0 && serr != nil {
				errs = append(errs, err)
				continue
			}
			st = &runState{ID: id} // damaged or missing: go by the namespaces
		}
		if st.harnessAlive() && st.HarnessPID != os.Getpid() {
			if !named && !all {
				live = append(live, id)
				continue
			}
			stopHarness(ctx, st)
		}
		if err := removeRun(ctx, st); err != nil {
			errs = append(errs, fmt.Errorf("run %s: %w", id, err))
			continue
		}
		removed = append(removed, id)
	}
	return removed, live, errors.Join(errs...)
}

// orphanRuns finds runs that left namespaces but no state file.
func orphanRuns(known []string) []string {
	entries, err := os.ReadDir(netnsDir)
	if err != nil {
		return nil
	}
	var orphans []string
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), nsPrefix)
		if !ok {
			continue
		}
		id, _, _ := strings.Cut(rest, "-")
		if id != "" && !slices.Contains(known, id) && !slices.Contains(orphans, id) {
			orphans = append(orphans, id)
		}
	}
	return orphans
}

// stopHarness sends SIGTERM to the harness that owns a run and waits a while
// for it to tear down on its own: longer than its teardown may take when it
// lets nodes write their class archives (3 × archiveGraceAtClose, then
// stopGraceAtClose).
func stopHarness(ctx context.Context, st *runState) {
	_ = syscall.Kill(st.HarnessPID, syscall.SIGTERM)
	deadline := time.After(30 * time.Second)
	for st.harnessAlive() {
		select {
		case <-ctx.Done():
			return
		case <-deadline:
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// removeRun kills what runs in the run's namespaces, deletes them and the
// run's files. It finds processes by namespace, not by name, so it touches
// nothing outside the run.
func removeRun(ctx context.Context, st *runState) error {
	names := append([]string(nil), st.Namespaces...)
	if found, err := runNamespaces(st.ID); err == nil {
		for _, f := range found {
			if !slices.Contains(names, f) {
				names = append(names, f)
			}
		}
	}
	inodes := map[uint64]bool{}
	for _, name := range names {
		if ino, err := nsInode(nsPath(name)); err == nil {
			inodes[ino] = true
		}
	}
	for _, n := range st.Nodes {
		if sameProcess(n.PID, n.PIDStart) {
			_ = syscall.Kill(n.PID, syscall.SIGKILL)
		}
	}
	if err := killInNamespaces(ctx, inodes); err != nil {
		return err
	}
	if err := deleteNamespaces(names); err != nil {
		return err
	}
	if st.RemoveDir && st.Dir != "" {
		if err := os.RemoveAll(st.Dir); err != nil {
			return fmt.Errorf("remove %s: %w", st.Dir, err)
		}
	}
	if err := os.Remove(statePath(st.ID)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove state file: %w", err)
	}
	return nil
}

// killInNamespaces SIGKILLs every process in the namespaces and waits until
// they are gone.
func killInNamespaces(ctx context.Context, inodes map[uint64]bool) error {
	if len(inodes) == 0 {
		return nil
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		pids, err := pidsInNamespaces(inodes)
		if err != nil {
			return err
		}
		live := 0
		for _, pid := range pids {
			if alive(pid) {
				live++
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		if live == 0 {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%d processes in the run's namespaces would not die", live)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
