package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/faultline/faultline/internal/realtest"
)

// TestMatrixOnRealClusters runs zk-register on two ZooKeeper releases,
// requiring linearizable reads of plain local reads, which ZooKeeper does
// not make: both rows are printed, and the failing combinations make the
// exit code 1.
func TestMatrixOnRealClusters(t *testing.T) {
	realtest.Require(t)
	var stdout, stderr bytes.Buffer
	code := run([]string{"matrix", "--store", t.TempDir(), "--zookeeper-version", "3.8.4,3.9.4", "--reads", "local",
		"--consistency", "linearizable", "--time-limit", "10s", "--seed", "9", "--log-level", "warn"}, strings.NewReader(""), &stdout, &stderr)
	out := stdout.String()
	table := out[strings.LastIndex(out, "COMBINATION"):]
	t.Logf("matrix table:\n%s", table)
	for _, want := range []string{"zookeeper 3.8.4", "zookeeper 3.9.4"} {
		if !strings.Contains(table, want) {
			t.Errorf("the table has no row for %s:\n%s", want, table)
		}
	}
	if strings.Count(table, "INVALID") != 2 {
		t.Errorf("want both combinations invalid (stale local reads, linearizable required):\n%s%s", out, stderr.String())
	}
	if code != exitInvalid {
		t.Errorf("exit %d, want 1", code)
	}
}
