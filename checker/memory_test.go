package checker

import (
	"context"
	"strings"
	"testing"
)

func TestMemoryGuard(t *testing.T) {
	use := uint64(50)
	g := &memoryGuard{limits: []memoryLimit{{what: "a test limit", limit: 1000 << 20, margin: 100 << 20, used: func() uint64 { return use << 20 }}}, afterGC: []uint64{0}}
	where := func() string { return "somewhere" }
	if err := g.check(where); err != nil {
		t.Fatalf("at 5%% of the limit: %v", err)
	}
	use = 950
	err := g.check(where)
	if err == nil || err.Error() != "out of memory: the check stopped after somewhere, using 950 MiB of the 1000 MiB that a test limit allows; check the history where more memory is available" {
		t.Fatalf("at 95%% of the limit: %v", err)
	}
	if n := newMemoryGuard(); n != nil {
		for _, l := range n.limits {
			t.Logf("%s: %s, using %s", l.what, formatMiB(l.limit), formatMiB(l.used()))
		}
	}
}

// TestQueueOutOfMemory runs the queue checker with a guard whose limit is
// passed once the check has looked at it a few times: the check must stop
// with the guard's one-line error and no verdict.
func TestQueueOutOfMemory(t *testing.T) {
	defer func(f func() *memoryGuard) { newGuard = f }(newGuard)
	looks := 0
	newGuard = func() *memoryGuard {
		return &memoryGuard{limits: []memoryLimit{{what: "a test limit", limit: 100, margin: 10,
			used: func() uint64 { looks++; return uint64(min(looks, 3)) * 45 }}}, afterGC: []uint64{0}}
	}
	res := Queue{}.Check(context.Background(), hugePoll(300_000, false), Options{})
	if res.Valid != Unknown || !strings.HasPrefix(res.Error, "out of memory: the check stopped after reading ") ||
		!strings.Contains(res.Error, "a test limit") || strings.Contains(res.Error, "\n") {
		t.Fatalf("valid %v, error %q, notes %q", res.Valid, res.Error, res.Notes)
	}
	if len(res.Anomalies) > 0 || res.Details != nil {
		t.Errorf("a check out of memory gave %d anomalies, details %v", len(res.Anomalies), res.Details)
	}
}
