// Package teardown keeps what this process has brought up and must take
// down if a signal stops it before its own teardown runs: the backends
// track each cluster from the moment it leaves something behind until it
// is closed. Nothing here installs a signal handler; the real tests'
// (internal/realtest) does, and calls All.
package teardown

import "sync"

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
