package local

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/internal/realtest"
)

// TestSignalTakesClustersDown: a real-test binary stopped by SIGTERM (a
// stopped CI job; SIGINT, Ctrl-C, alike) takes its clusters down before
// it exits, although its tests' cleanups never run: no namespace, no
// state, no JVM (which Pdeathsig would kill anyway) left. As with Ctrl-C
// on go test, what read its output is gone first.
func TestSignalTakesClustersDown(t *testing.T) {
	realtest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run", "^TestSignalHelperProcess$", "-test.count", "1")
	cmd.Env = append(os.Environ(), "FLTEST_SIGNAL_CHILD=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errOut, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var id string
	var jvm int
	for sc := bufio.NewScanner(out); sc.Scan(); {
		if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "up" {
			id = f[1]
			jvm, _ = strconv.Atoi(f[2])
			break
		}
	}
	if id == "" {
		_ = cmd.Process.Kill()
		t.Fatalf("the child brought no cluster up: %v", cmd.Wait())
	}
	t.Cleanup(func() { _, _, _ = Down(context.Background(), id, true) }) // should find nothing
	if _, err := os.Stat(nsPath(runNSName(id))); err != nil {
		t.Fatalf("run %s has no namespace while up: %v", id, err)
	}
	out.Close()
	errOut.Close()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 128+int(syscall.SIGTERM) {
		t.Errorf("the child exited with %v, want status %d (its handler's)", err, 128+int(syscall.SIGTERM))
	}
	if _, err := os.Stat(nsPath(runNSName(id))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("run %s's namespace is still there: %v", id, err)
	}
	if err := syscall.Kill(jvm, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("the ZooKeeper JVM (pid %d) is still there: %v", jvm, err)
	}
	if ids, err := RunIDs(); err != nil || slices.Contains(ids, id) {
		t.Errorf("run %s still has its state (%v)", id, err)
	}
}

// TestSignalHelperProcess brings a one-node ensemble up, says so, and
// waits to be stopped, as a real test that a signal stops.
func TestSignalHelperProcess(t *testing.T) {
	if os.Getenv("FLTEST_SIGNAL_CHILD") == "" {
		t.Skip("runs only as the child of TestSignalTakesClustersDown")
	}
	realtest.Require(t)
	c := upCluster(t, cluster.Options{ZooKeeperNodes: 1, KafkaNodes: 0, NoCDS: true})
	fmt.Printf("up %s %d\n", c.ID(), c.Nodes()[0].(*localNode).PID())
	time.Sleep(2 * time.Minute)
	t.Error("no signal came")
}
