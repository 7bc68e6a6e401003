package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/internal/realtest"
	"github.com/faultline/faultline/results"
	"github.com/faultline/faultline/runner"
)

// TestReplayRepeatsTheSchedule runs a short zk-register test under drawn
// kills, pauses and partitions, replays it with --replay, and compares the
// two histories' nemesis ops: the same steps asked in the same order, and
// the same seed, versions and options recorded.
func TestReplayRepeatsTheSchedule(t *testing.T) {
	realtest.Require(t)
	store := t.TempDir()
	args := []string{"test", "--store", store, "--time-limit", "24s", "--nemesis", "kill,pause,partition", "--nemesis-interval", "3s",
		"--seed", "77", "--log-level", "warn"}
	var out, errOut bytes.Buffer
	if code := run(args, strings.NewReader(""), &out, &errOut); code > exitUnknown {
		t.Fatalf("the run: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	orig, err := filepath.EvalSymlinks(filepath.Join(store, "latest"))
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	errOut.Reset()
	if code := run([]string{"test", "--replay", orig, "--store", store, "--log-level", "warn"}, strings.NewReader(""), &out, &errOut); code > exitUnknown {
		t.Fatalf("the replay: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	t.Logf("replay output:\n%s", out.String())
	again, err := filepath.EvalSymlinks(filepath.Join(store, "latest"))
	if err != nil || again == orig {
		t.Fatalf("the replay made no run of its own (%s, %v)", again, err)
	}
	a, b := readOps(t, orig), readOps(t, again)
	c, err := runner.CompareReplay(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.StepDiffs) > 0 || c.Calls != c.Replayed || c.Calls < 8 {
		t.Errorf("the replay's nemesis calls differ: %d vs %d calls\n%s", c.Calls, c.Replayed, strings.Join(c.StepDiffs, "\n"))
	}
	if !strings.Contains(out.String(), "the replay repeated the run's") && !strings.Contains(out.String(), "the replay asked for the run's") {
		t.Errorf("the replay did not say how its faults compare:\n%s", out.String())
	}
	ra, err := runner.ReadRecord(orig)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := runner.ReadRecord(again)
	if err != nil {
		t.Fatal(err)
	}
	if ra.Seed != rb.Seed || ra.Versions != rb.Versions || ra.TimeLimit != rb.TimeLimit || len(rb.Schedule) != len(ra.Schedule) {
		t.Errorf("the replay's record differs: seed %d/%d, versions %v/%v, time limit %s/%s, %d/%d steps",
			ra.Seed, rb.Seed, ra.Versions, rb.Versions, ra.TimeLimit, rb.TimeLimit, len(ra.Schedule), len(rb.Schedule))
	}
}

func readOps(t *testing.T, dir string) []history.Op {
	t.Helper()
	ops, err := history.ReadFile(filepath.Join(dir, results.HistoryFile))
	if err != nil {
		t.Fatal(err)
	}
	return ops
}
