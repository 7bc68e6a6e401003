// Package realtest holds what the tests that start real servers or make
// network namespaces share.
package realtest

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/teardown"
)

// Env is the environment variable that asks for the real tests: those
// that need root and start servers, JVMs or network namespaces. `make
// test` sets it; `make unit` does not, so it never starts any of them.
const Env = "FAULTLINE_REAL_TESTS"

// Wanted reports whether the real tests were asked for.
func Wanted() bool { return os.Getenv(Env) == "1" }

// Require skips a real test unless Env=1 asks for it; asked for, it fails
// on a machine that cannot run it (not root, not Linux): a test that was
// asked for must run, never pass by skipping.
func Require(t testing.TB) {
	t.Helper()
	if !Wanted() {
		t.Skipf("real test (root, servers or namespaces): set %s=1 to run it, as `make test` does", Env)
	}
	if runtime.GOOS != "linux" {
		t.Fatalf("%s=1 asks for the real tests, which need Linux network namespaces; this is %s", Env, runtime.GOOS)
	}
	if os.Geteuid() != 0 {
		t.Fatalf("%s=1 asks for the real tests, which need root: run them as root (sudo make test)", Env)
	}
	onSignal.Do(tearDownOnSignal)
}

var onSignal sync.Once

// tearDownOnSignal makes SIGINT and SIGTERM (Ctrl-C on `make test`, a
// stopped CI job) take down the clusters the test binary brought up
// before it exits: the tests' own cleanups never run when a signal stops
// it. A second signal, or two minutes, ends the wait.
func tearDownOnSignal() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		sig := <-ch
		signal.Stop(ch) // a second one stops the binary at once
		// Ctrl-C stops go test too, which reads this binary's output: a
		// write to it must fail, not kill the binary with SIGPIPE.
		signal.Ignore(syscall.SIGPIPE)
		fmt.Fprintf(os.Stderr, "realtest: %s: taking down this test binary's clusters (again to stop now)\n", sig)
		done := make(chan int, 1)
		go func() { done <- teardown.All() }()
		select {
		case n := <-done:
			fmt.Fprintf(os.Stderr, "realtest: took down %d, exiting\n", n)
		case <-time.After(teardownWait):
			fmt.Fprintf(os.Stderr, "realtest: not down after %s, exiting; faultline cluster down --all removes what is left\n", teardownWait)
		}
		os.Exit(128 + int(sig.(syscall.Signal)))
	}()
}

// teardownWait bounds the teardown on a signal.
const teardownWait = 2 * time.Minute

// Eventually polls cond every 250ms until it holds, failing the test with
// what cond said last when d passes first.
func Eventually(t testing.TB, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	last := ""
	for time.Now().Before(deadline) {
		ok, why := cond()
		if ok {
			return
		}
		last = why
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s (last: %s)", what, d, last)
}

// DockerEnv is the environment variable that says a Docker daemon and the
// runtime image are there (.ci/run sets it after starting the daemon and
// making the image): then a Docker test that finds neither fails instead
// of skipping.
const DockerEnv = "FAULTLINE_DOCKER_TESTS"

// NoDocker skips a Docker test for why (no daemon, no image), unless
// DockerEnv=1 said they are there: then it fails.
func NoDocker(t testing.TB, why error) {
	t.Helper()
	if os.Getenv(DockerEnv) == "1" {
		t.Fatalf("%s=1 says a Docker daemon and the runtime image are there, but: %v", DockerEnv, why)
	}
	t.Skipf("docker backend: %v (start a daemon with scripts/start-dockerd.sh and run faultline docker setup; %s=1 makes this a failure)", why, DockerEnv)
}

// CacheWithDists makes a cache folder of the test's own with the
// distributions of cache (the machine's cache folder) linked in, so that a
// test can watch what else a run puts in its cache (class archives)
// without fetching the distributions again or touching the machine's.
func CacheWithDists(t testing.TB, cache string) string {
	t.Helper()
	own := t.TempDir()
	if err := os.Symlink(filepath.Join(cache, "dist"), filepath.Join(own, "dist")); err != nil {
		t.Fatal(err)
	}
	return own
}
