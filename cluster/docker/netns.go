package docker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"

	"github.com/faultline/faultline/internal/nsutil"
	"github.com/faultline/faultline/netfault"
	"github.com/vishvananda/netns"
)

// containerNetns holds a container's network namespace open, so that the
// path faults are applied at names exactly that namespace, never whatever
// process reuses the container's pid: /proc/<harness>/fd/<n>. A started
// container has a new namespace: refresh follows it and moves the faults
// there.
type containerNetns struct {
	mu     sync.Mutex
	file   *os.File // the namespace held open; nil before the first start
	pid    int      // the container's pid it was taken from
	faults *netfault.HostFaults
	host   netfault.Host // NetNSPath set from file
}

// errNoNamespace is the error of a container that never ran.
var errNoNamespace = errors.New("the container has not run yet: no network namespace")

// follow takes the namespace of the container's process pid, when it is
// not the one held, and moves the faults there. verify says whether pid
// is still the container's process after the namespace was opened.
func (c *containerNetns) follow(ctx context.Context, pid int, verify func(ctx context.Context, pid int) bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if pid <= 0 || pid == c.pid && c.file != nil {
		return nil
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		return fmt.Errorf("open the network namespace of %s (pid %d): %w", c.host.Name, pid, err)
	}
	same, err := sameNamespace(f, "/proc/self/ns/net")
	if err != nil || same || !verify(ctx, pid) {
		f.Close()
		if err == nil {
			err = fmt.Errorf("pid %d is no longer %s's container, or shares this machine's network: not faulting it", pid, c.host.Name)
		}
		return err
	}
	old := c.file
	c.file, c.pid = f, pid
	c.host.NetNSPath = fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), f.Fd())
	err = c.faults.Move(ctx, c.host)
	if old != nil {
		old.Close()
	}
	return err
}

// sameNamespace says whether the namespace f holds is the one at path.
func sameNamespace(f *os.File, path string) (bool, error) {
	var a, b syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &a); err != nil {
		return false, err
	}
	if err := syscall.Stat(path, &b); err != nil {
		return false, err
	}
	return a.Dev == b.Dev && a.Ino == b.Ino, nil
}

// dial connects from inside the namespace held.
func (c *containerNetns) dial(ctx context.Context, network, address string) (net.Conn, error) {
	c.mu.Lock()
	if c.file == nil {
		c.mu.Unlock()
		return nil, errNoNamespace
	}
	ns, err := netns.GetFromPath(c.host.NetNSPath)
	c.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("open %s's network namespace: %w", c.host.Name, err)
	}
	defer ns.Close()
	return nsutil.DialIn(ctx, ns, network, address)
}

// close lets the namespace go.
func (c *containerNetns) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.file != nil {
		c.file.Close()
		c.file = nil
	}
}
