// Package nsutil runs code inside Linux network namespaces without letting
// a namespace leak onto threads the Go runtime reuses.
package nsutil

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/vishvananda/netns"
)

// Go switches network namespaces per OS thread. These helpers keep that
// contained: a thread that leaves its namespace is locked to its goroutine,
// and goes back to the runtime's pool only once it is home again; otherwise
// it ends with its goroutine.

// RunInNamespace runs fn on a thread switched into ns. Sockets fn opens and
// processes it starts belong to ns. Do not start long-lived processes with
// a parent-death signal here: use a Worker, whose thread lives as long as
// the process should.
func RunInNamespace(ns netns.NsHandle, fn func() error) error {
	return onLockedThread(func() error {
		if err := netns.Set(ns); err != nil {
			return fmt.Errorf("enter network namespace: %w", err)
		}
		return fn()
	})
}

// onLockedThread runs fn on a locked thread that fn may move to another
// namespace (netns.NewNamed does); the thread is put back, or retired.
func onLockedThread(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		home, err := netns.Get()
		if err != nil {
			errc <- fmt.Errorf("read the thread's network namespace: %w", err)
			return // the thread ends with this goroutine
		}
		defer home.Close()
		err = fn()
		if netns.Set(home) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

// The main goroutine must be locked to the main thread (see
// LockMainThread): a worker that ran on the main thread would, when it
// ends, leave the whole process's main thread parked in a node's namespace.

// Worker is a goroutine locked for life to a thread inside one network
// namespace. Node processes are started from it, so their parent-death signal
// (which Linux ties to the thread that forked them) fires only when the worker
// stops or the harness dies, never because the Go runtime retired a thread.
type Worker struct {
	reqs     chan func()
	quit     chan struct{} // closed by stop
	done     chan struct{} // closed when the worker's goroutine ends
	stopOnce sync.Once
}

// StartWorker starts a worker whose thread lives in ns until Stop.
func StartWorker(ns netns.NsHandle) (*Worker, error) {
	w := &Worker{reqs: make(chan func()), quit: make(chan struct{}), done: make(chan struct{})}
	ready := make(chan error, 1)
	go func() {
		defer close(w.done)
		runtime.LockOSThread() // never unlocked: the thread ends with the worker
		if err := netns.Set(ns); err != nil {
			ready <- fmt.Errorf("enter network namespace: %w", err)
			return
		}
		ready <- nil
		for {
			select {
			case fn := <-w.reqs:
				fn()
			case <-w.quit:
				return
			}
		}
	}()
	if err := <-ready; err != nil {
		return nil, err
	}
	return w, nil
}

// Do runs fn on the worker's thread and waits for it.
func (w *Worker) Do(fn func() error) error {
	errc := make(chan error, 1)
	select {
	case w.reqs <- func() { errc <- fn() }:
		return <-errc
	case <-w.done:
		return fmt.Errorf("the cluster is closed")
	}
}

// Stop ends the worker; processes it started get their parent-death signal.
func (w *Worker) Stop() {
	w.stopOnce.Do(func() { close(w.quit) })
	<-w.done
}

// LockMainThread keeps the main goroutine on the process's main thread, so
// that no namespace worker ever runs there. Call it from an init function of
// every main package (and test binary) that starts clusters.
func LockMainThread() { runtime.LockOSThread() }

// NewNamedNamespace makes a network namespace bind-mounted under /run/netns.
func NewNamedNamespace(name string) (netns.NsHandle, error) {
	ns := netns.None()
	err := onLockedThread(func() error {
		var err error
		ns, err = netns.NewNamed(name)
		return err
	})
	if err != nil {
		return netns.None(), fmt.Errorf("make network namespace %s: %w", name, err)
	}
	return ns, nil
}
