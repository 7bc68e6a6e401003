package teardown

import (
	"sync/atomic"
	"testing"
)

// TestTrackAndAll: All runs what is tracked, once, and not what was
// untracked.
func TestTrackAndAll(t *testing.T) {
	var a, b atomic.Int32
	Track(func() { a.Add(1) })
	untrack := Track(func() { b.Add(1) })
	untrack()
	untrack()
	if n := All(); n != 1 || a.Load() != 1 || b.Load() != 0 {
		t.Errorf("All ran %d: a %d, b %d; want 1: a 1, b 0", n, a.Load(), b.Load())
	}
	if n := All(); n != 0 || a.Load() != 1 {
		t.Errorf("All again ran %d (a %d): want nothing", n, a.Load())
	}
}
