// Package teardown keeps what this process has brought up and must take
// down if a signal stops it before its own teardown runs: the backends
// track each cluster from the moment it leaves something behind until it
// is closed. Nothing here installs a signal handler; the real tests'
// (internal/realtest) does, and calls All.
package teardown

import (
	"context"
	"sync"
	"time"
)

var (
	mu    sync.Mutex
	next  int
	track = map[int]func(){}
)

// Track adds f, which takes down one thing, and returns the function
// that drops it again (call it once the thing is taken down by other
// means; calling it more than once is harmless).
func Track(f func()) (untrack func()) {
	mu.Lock()
	defer mu.Unlock()
	id := next
	next++
	track[id] = f
	return func() {
		mu.Lock()
		defer mu.Unlock()
		delete(track, id)
	}
}

// All runs every tracked function at once, drops them, and returns when
// all have returned. It returns how many there were.
func All() int {
	mu.Lock()
	fs := make([]func(), 0, len(track))
	for id, f := range track {
		fs = append(fs, f)
		delete(track, id)
	}
	mu.Unlock()
	var wg sync.WaitGroup
	for _, f := range fs {
		wg.Go(f)
	}
	wg.Wait()
	return len(fs)
}

// closeWait bounds how long a tracked cluster's Close may take.
const closeWait = time.Minute

// Bringing tracks a cluster that is being brought up with ctx, to be
// taken down by closeCluster. It returns the context the bring-up is to use, the
// function the bring-up calls when it has returned (ended: call it after
// whatever closes a failed bring-up), and the untrack for Close. All
// cancels the bring-up, waits for it to end (so that it makes nothing
// after the close has looked), then closes the cluster.
func Bringing(ctx context.Context, closeCluster func(context.Context) error) (upCtx context.Context, ended, untrack func()) {
	upCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	var once sync.Once
	untrack = Track(func() {
		cancel()
		<-done
		cctx, ccancel := context.WithTimeout(context.Background(), closeWait)
		defer ccancel()
		_ = closeCluster(cctx)
	})
	return upCtx, func() { once.Do(func() { cancel(); close(done) }) }, untrack
}
