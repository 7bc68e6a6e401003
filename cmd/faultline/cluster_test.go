package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/realtest"

	"github.com/faultline/faultline/cluster/local"
)

// buildFaultline compiles the command for tests that run it as a process.
func buildFaultline(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "faultline")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runState is the part of a run's state file this test reads.
type runState struct {
	ID         string   `json:"id"`
	Dir        string   `json:"dir"`
	Namespaces []string `json:"namespaces"`
	Nodes      []struct {
		Name string `json:"name"`
		PID  int    `json:"pid"`
	} `json:"nodes"`
}

// TestDownAfterHarnessKilled SIGKILLs a `cluster up` harness: its servers
// die with it (parent-death signal), its namespaces stay behind, and
// `cluster down` removes them, after which nothing of the run remains.
func TestDownAfterHarnessKilled(t *testing.T) {
	realtest.Require(t)
	bin := buildFaultline(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	up, sc, st := startClusterUp(t, ctx, bin, os.Stderr)
	id := st.ID
	go func() { // keep the pipe drained
		for sc.Scan() {
		}
	}()
	if len(st.Nodes) != 6 || len(st.Namespaces) != 7 {
		t.Fatalf("state file has %d nodes and %d namespaces, want 6 and 7", len(st.Nodes), len(st.Namespaces))
	}

	if err := up.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = up.Wait()

	// The servers die with the harness.
	deadline := time.Now().Add(15 * time.Second)
	for _, n := range st.Nodes {
		for processAlive(n.PID) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if processAlive(n.PID) {
			t.Errorf("%s (pid %d) outlived the killed harness", n.Name, n.PID)
		}
	}
	// What only `down` removes is still there.
	for _, ns := range st.Namespaces {
		if _, err := os.Stat(filepath.Join("/run/netns", ns)); err != nil {
			t.Fatalf("namespace %s vanished before cluster down: %v", ns, err)
		}
	}

	out, err := exec.CommandContext(ctx, bin, "cluster", "down", id).CombinedOutput()
	if err != nil {
		t.Fatalf("cluster down: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "removed run "+id) {
		t.Errorf("cluster down said %q", out)
	}
	for _, ns := range st.Namespaces {
		if _, err := os.Stat(filepath.Join("/run/netns", ns)); !os.IsNotExist(err) {
			t.Errorf("namespace %s left after cluster down", ns)
		}
	}
	for _, p := range []string{filepath.Join(local.StateDir, id+".json"), st.Dir} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s left after cluster down", p)
		}
	}
	// No process anywhere is left in a namespace of the run (they are
	// gone, so no process can be in them), and status knows no such run.
	var errOut strings.Builder
	status := exec.CommandContext(ctx, bin, "cluster", "status", "--run", id)
	status.Stderr = &errOut
	if err := status.Run(); err == nil || !strings.Contains(errOut.String(), "no run") {
		t.Errorf("status of a removed run: %v, %q", err, errOut.String())
	}
}

// startClusterUp runs `faultline cluster up` until it says it is ready and
// returns the process (killed when the test ends), the scanner of the rest
// of its output, and its run's state file.
func startClusterUp(t *testing.T, ctx context.Context, bin string, stderr io.Writer) (*exec.Cmd, *bufio.Scanner, runState) {
	t.Helper()
	up := exec.CommandContext(ctx, bin, "cluster", "up", "--log-level", "warn")
	stdout, err := up.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	up.Stderr = stderr
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = up.Process.Kill() })
	var id string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "cluster %s ready in", &id); err == nil {
			break
		}
	}
	if id == "" {
		_ = up.Process.Kill()
		_ = up.Wait()
		t.Fatal("faultline cluster up never said it was ready")
	}
	b, err := os.ReadFile(filepath.Join(local.StateDir, id+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var st runState
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return up, sc, st
}

func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// TestSecondCtrlCDuringTeardown: a second Ctrl-C while `cluster up` tears
// down does not kill it halfway; it finishes and leaves nothing behind.
func TestSecondCtrlCDuringTeardown(t *testing.T) {
	realtest.Require(t)
	bin := buildFaultline(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var stderr strings.Builder
	up, sc, state := startClusterUp(t, ctx, bin, &stderr)
	rest := make(chan string, 1)
	go func() {
		var b strings.Builder
		for sc.Scan() {
			b.WriteString(sc.Text() + "\n")
		}
		rest <- b.String()
	}()
	if err := up.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	_ = up.Process.Signal(syscall.SIGINT) // while tearing down
	if err := up.Wait(); err != nil {
		t.Fatalf("cluster up exited with %v after two Ctrl-Cs; stderr: %s", err, stderr.String())
	}
	if out := <-rest; !strings.Contains(out, "torn down") {
		t.Errorf("no teardown line: %q", out)
	}
	for _, ns := range state.Namespaces {
		if _, err := os.Stat(filepath.Join("/run/netns", ns)); !os.IsNotExist(err) {
			t.Errorf("namespace %s left after two Ctrl-Cs", ns)
		}
	}
	for _, n := range state.Nodes {
		if processAlive(n.PID) {
			t.Errorf("%s (pid %d) still runs", n.Name, n.PID)
		}
	}
}
