// Package realtest holds what the tests that start real servers share.
package realtest

import (
	"os"
	"testing"

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
