package local

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

// TestDialAfterCloseIsAnError: dials racing with close either connect or
// fail with errNetworkClosed, never with a stale namespace handle.
func TestDialAfterCloseIsAnError(t *testing.T) {
	self, err := netns.Get() // the test's own namespace stands in for the run's
	if err != nil {
		t.Skipf("no network namespace handle: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	n := &network{runID: "t", runNS: self, nodes: map[string]netns.NsHandle{}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if c, err := n.dial(ctx, "tcp", ln.Addr().String()); err != nil {
		t.Fatalf("dial before close: %v", err)
	} else {
		c.Close()
	}

	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := n.dial(ctx, "tcp", ln.Addr().String())
			if err == nil {
				c.Close()
				return
			}
			errs <- err
		}()
	}
	n.close()
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, errNetworkClosed) {
			t.Errorf("a dial racing close failed with %v, want errNetworkClosed", err)
		}
	}
	if _, err := n.dial(ctx, "tcp", ln.Addr().String()); !errors.Is(err, errNetworkClosed) {
		t.Errorf("dial after close: %v, want errNetworkClosed", err)
	}
}
