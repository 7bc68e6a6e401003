package teardown

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
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

// TestBringingEndsTheBringUpFirst: All cancels a bring-up, waits for it
// to return, and only then closes the cluster; once closed and untracked,
// nothing is left to do.
func TestBringingEndsTheBringUpFirst(t *testing.T) {
	var upReturned, closedAfter atomic.Bool
	var closes atomic.Int32
	upCtx, ended, untrack := Bringing(context.Background(), func(context.Context) error {
		closes.Add(1)
		closedAfter.Store(upReturned.Load())
		return nil
	})
	go func() { // the bring-up: it notices the cancel, then takes a while to return
		<-upCtx.Done()
		time.Sleep(20 * time.Millisecond)
		upReturned.Store(true)
		ended()
	}()
	if n := All(); n != 1 || closes.Load() != 1 || !closedAfter.Load() {
		t.Errorf("All ran %d, closed %d times, after the bring-up returned: %v; want 1, 1, true", n, closes.Load(), closedAfter.Load())
	}
	ended() // twice is harmless
	untrack()
	if n := All(); n != 0 {
		t.Errorf("All again ran %d", n)
	}
}
