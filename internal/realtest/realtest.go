// Package realtest holds what the tests that start real servers share.
package realtest

import (
	"os"
	"testing"
	"time"

	"github.com/faultline/faultline/cluster"
)

// Require skips a real-cluster test on a machine that cannot run one (not
// root, not Linux), except in CI (CI=true), where it fails: CI must run the
// real tests, never pass by skipping them.
func Require(t testing.TB) {
	t.Helper()
	if err := cluster.Preflight(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI must run the real-cluster tests: %v", err)
		}
		t.Skipf("real-cluster test: %v", err)
	}
}

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
