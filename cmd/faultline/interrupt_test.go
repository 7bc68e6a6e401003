package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/faultline/faultline/cluster/local"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/internal/realtest"
	"github.com/google/nftables"
)

// TestCtrlCDuringNemesis interrupts `faultline test` while a fault is in
// place (a partition's nftables rules, or a paused JVM) and checks that the
// harness heals and tears everything down: no run namespaces (and so none
// of their rules or qdiscs), no state file, no server process, paused or
// not; the host's own firewall untouched; and a checkable history of what
// happened.
func TestCtrlCDuringNemesis(t *testing.T) {
	realtest.Require(t)
	bin := buildFaultline(t)
	hostTables := nftTables(t)
	for _, fault := range []string{"partition", "pause"} {
		t.Run(fault, func(t *testing.T) {
			store := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "test", "--store", store, "--time-limit", "60s",
				"--nemesis", fault, "--nemesis-interval", "3s", "--reads", "none", "--concurrency", "4", "--log-level", "warn")
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			t.Cleanup(func() { _ = cmd.Process.Kill() })

			// Wait until the fault is in place, as the history says.
			hist := filepath.Join(store, "latest", "history.jsonl")
			var st runState
			realtest.Eventually(t, 90*time.Second, "start-"+fault+" in the history", func() (bool, string) {
				select {
				case err := <-exited:
					t.Fatalf("faultline test ended before the fault: %v", err)
				default:
				}
				if !faultInPlace(hist, "start-"+fault) {
					return false, "no fault yet"
				}
				var err error
				if st, err = stateOfRunIn(filepath.Join(store, "latest")); err != nil {
					return false, err.Error()
				}
				return true, ""
			})
			if fault == "pause" && !anyPaused(st) {
				t.Error("the history says a pause started but no server is stopped (state T)")
			}

			if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-exited:
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != 3 {
					t.Errorf("interrupted test exited %v, want exit code 3", err)
				}
			case <-time.After(2 * time.Minute):
				_ = cmd.Process.Kill()
				t.Fatal("faultline test did not exit within 2m of Ctrl-C")
			}

			for _, ns := range st.Namespaces {
				if _, err := os.Stat(filepath.Join("/run/netns", ns)); !os.IsNotExist(err) {
					t.Errorf("namespace %s (with any rules and qdiscs in it) left after Ctrl-C", ns)
				}
			}
			if _, err := os.Stat(filepath.Join(local.StateDir, st.ID+".json")); !os.IsNotExist(err) {
				t.Errorf("state file of run %s left after Ctrl-C", st.ID)
			}
			for _, n := range st.Nodes {
				if processAlive(n.PID) {
					t.Errorf("%s (pid %d) still runs after Ctrl-C", n.Name, n.PID)
				}
			}
			if got := nftTables(t); strings.Join(got, ",") != strings.Join(hostTables, ",") {
				t.Errorf("the host's nftables tables changed: %v before, %v after", hostTables, got)
			}
			// The history ends with the heal and is whole.
			ops, err := history.ReadFile(hist)
			if err != nil {
				t.Fatalf("history after Ctrl-C: %v", err)
			}
			healed := false
			for _, op := range ops {
				if op.Process == history.Nemesis && op.F == "stop-"+fault && op.Type != history.Invoke && op.Error == "" {
					healed = true
				}
			}
			if !healed {
				t.Errorf("no successful stop-%s in the history after Ctrl-C", fault)
			}
		})
	}
}

// faultInPlace reports whether the history at path has a completed f
// (start-partition, start-pause) without an error.
func faultInPlace(path, f string) bool {
	file, err := os.Open(path)
	if err != nil {
		return false
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var op history.Op
		if json.Unmarshal(sc.Bytes(), &op) == nil && op.Process == history.Nemesis && op.F == f && op.Type != history.Invoke && op.Error == "" {
			return true
		}
	}
	return false
}

// stateOfRunIn reads the state file of the cluster of the test run in dir,
// which its test.json names: never "the only run on the machine", which
// another run would break.
func stateOfRunIn(dir string) (runState, error) {
	var st runState
	var rec struct {
		ClusterRun string `json:"cluster_run"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "test.json"))
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &rec); err != nil || rec.ClusterRun == "" {
		return st, fmt.Errorf("test.json names no cluster yet (%v)", err)
	}
	b, err = os.ReadFile(filepath.Join(local.StateDir, rec.ClusterRun+".json"))
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal(b, &st)
}

func anyPaused(st runState) bool {
	for _, n := range st.Nodes {
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(n.PID), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i > 0 && i+2 < len(s) && s[i+2] == 'T' {
			return true
		}
	}
	return false
}

// nftTables lists the nftables tables of the host's own network namespace.
func nftTables(t *testing.T) []string {
	t.Helper()
	conn, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	tables, err := conn.ListTables()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tb := range tables {
		names = append(names, tb.Name)
	}
	return names
}
