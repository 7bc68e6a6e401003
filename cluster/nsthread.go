package cluster

import (
	"fmt"
	"runtime"

	"github.com/vishvananda/netns"
)

// Go switches network namespaces per OS thread. These helpers keep that
// contained: a thread that leaves its namespace is locked to its goroutine,
// and goes back to the runtime's pool only once it is home again; otherwise
// it ends with its goroutine.

// inNamespace runs fn on a thread switched into ns. Sockets fn opens and
// processes it starts belong to ns. Do not start long-lived processes with
// a parent-death signal here: use a nsWorker, whose thread lives as long as
// the process should.
func inNamespace(ns netns.NsHandle, fn func() error) error {
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

// nsWorker is a goroutine locked for life to a thread inside one network
// namespace. Node processes are started from it, so their parent-death signal
// (which Linux ties to the thread that forked them) fires only when the worker
// stops or the harness dies, never because the Go runtime retired a thread.
type nsWorker struct {
	reqs chan func()
	done chan struct{}
}

func startWorker(ns netns.NsHandle) (*nsWorker, error) {
	w := &nsWorker{reqs: make(chan func()), done: make(chan struct{})}
	ready := make(chan error, 1)
	go func() {
		defer close(w.done)
		runtime.LockOSThread() // never unlocked: the thread ends with the worker
		if err := netns.Set(ns); err != nil {
			ready <- fmt.Errorf("enter network namespace: %w", err)
			return
		}
		ready <- nil
		for fn := range w.reqs {
			fn()
		}
	}()
	if err := <-ready; err != nil {
		return nil, err
	}
	return w, nil
}

// do runs fn on the worker's thread and waits for it.
func (w *nsWorker) do(fn func() error) error {
	errc := make(chan error, 1)
	select {
	case w.reqs <- func() { errc <- fn() }:
		return <-errc
	case <-w.done:
		return fmt.Errorf("namespace worker has stopped")
	}
}

// stop ends the worker; processes it started get their parent-death signal.
func (w *nsWorker) stop() {
	close(w.reqs)
	<-w.done
}
