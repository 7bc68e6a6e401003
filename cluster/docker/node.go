package docker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/netfault"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// nodeContainer is a node's or client host's container and its namespace.
type nodeContainer struct {
	name string // the node's name
	d    *daemon
	c    *testcontainers.DockerContainer
	ns   *containerNetns
}

// state asks the daemon what the container is doing.
func (c *nodeContainer) state(ctx context.Context) (running, paused bool, pid int, err error) {
	res, err := c.d.api.ContainerInspect(ctx, c.c.GetContainerID(), client.ContainerInspectOptions{})
	if err != nil {
		return false, false, 0, fmt.Errorf("inspect %s: %w", c.name, err)
	}
	st := res.Container.State
	if st == nil {
		return false, false, 0, nil
	}
	return st.Running, st.Paused, st.Pid, nil
}

// isPid says whether pid is the container's process now.
func (c *nodeContainer) isPid(ctx context.Context, pid int) bool {
	running, _, now, err := c.state(ctx)
	return err == nil && running && now == pid
}

// refresh follows the container's namespace: when it runs with a process
// other than the one the namespace was taken from, the faults move to its
// new namespace (see containerNetns). It runs after every start and
// before every fault.
func (c *nodeContainer) refresh(ctx context.Context) error {
	running, _, pid, err := c.state(ctx)
	if err != nil {
		return err
	}
	if !running {
		return nil // the namespace held keeps the faults until it starts
	}
	return c.ns.follow(ctx, pid, c.isPid)
}

// nodeNetwork is a node's Network: it follows the container's namespace
// before each change (a container started by anyone has a new one).
type nodeNetwork struct {
	c      *nodeContainer
	faults *netfault.HostFaults
}

func (n nodeNetwork) Drop(ctx context.Context, from []netip.Addr) error {
	if err := n.c.refresh(ctx); err != nil {
		return err
	}
	return n.faults.Drop(ctx, from)
}

func (n nodeNetwork) ShapePackets(ctx context.Context, p netfault.Packet, seed uint64) (string, error) {
	if err := n.c.refresh(ctx); err != nil {
		return "", err
	}
	return n.faults.ShapePackets(ctx, p, seed)
}

func (n nodeNetwork) ClearPackets(ctx context.Context) error {
	if err := n.c.refresh(ctx); err != nil {
		return err
	}
	return n.faults.ClearPackets(ctx)
}

// node is a server in its container.
type node struct {
	nodeContainer
	spec    cluster.NodeSpec
	files   cluster.NodeFiles
	network nodeNetwork
}

func (n *node) Name() string             { return n.spec.Name }
func (n *node) Role() cluster.Role       { return n.spec.Role }
func (n *node) ID() int                  { return n.spec.ID }
func (n *node) Addr() netip.Addr         { return n.spec.Addr }
func (n *node) ClientAddr() string       { return n.spec.ClientAddr() }
func (n *node) Spec() cluster.NodeSpec   { return n.spec }
func (n *node) LogFile() string          { return n.files.LogFile }
func (n *node) Network() cluster.Network { return n.network }

// Start starts the container (same address, same data) and puts the
// node's faults in place in its new namespace.
func (n *node) Start(ctx context.Context) error {
	running, _, _, err := n.state(ctx)
	if err != nil {
		return err
	}
	if !running {
		if err := n.c.Start(ctx); err != nil {
			return fmt.Errorf("start %s: %w", n.spec.Name, err)
		}
	}
	if err := n.refresh(ctx); err != nil {
		return fmt.Errorf("start %s: put its network faults back: %w", n.spec.Name, err)
	}
	return nil
}

// Stop stops the container: SIGTERM, then SIGKILL when ctx's deadline (or
// cluster.DefaultStopGrace) passes.
func (n *node) Stop(ctx context.Context) error {
	grace := cluster.DefaultStopGrace
	if d, ok := ctx.Deadline(); ok {
		grace = max(time.Until(d)-time.Second, 0)
	}
	if err := n.c.Stop(context.WithoutCancel(ctx), &grace); err != nil {
		return fmt.Errorf("stop %s: %w", n.spec.Name, err)
	}
	return nil
}

// Kill kills the container's process and waits until it is gone.
func (n *node) Kill(ctx context.Context) error {
	running, _, _, err := n.state(ctx)
	if err != nil || !running {
		return err
	}
	if _, err := n.d.api.ContainerKill(ctx, n.c.GetContainerID(), client.ContainerKillOptions{Signal: "KILL"}); err != nil {
		return fmt.Errorf("kill %s: %w", n.spec.Name, err)
	}
	return n.waitState(ctx, "kill", func(running, _ bool) bool { return !running })
}

var _ cluster.Freezer = (*node)(nil)

// Freezes says that Pause freezes the container's cgroup, with no SIGSTOP.
func (n *node) Freezes() bool { return true }

// Pause freezes the container (docker pause) and returns once it is.
func (n *node) Pause(ctx context.Context) error {
	if _, err := n.d.api.ContainerPause(ctx, n.c.GetContainerID(), client.ContainerPauseOptions{}); err != nil {
		return fmt.Errorf("pause %s: %w", n.spec.Name, err)
	}
	return n.waitState(ctx, "pause", func(running, paused bool) bool { return paused || !running })
}

// Resume thaws a paused container. One that is not paused (running, or
// stopped) is left as it is, as SIGCONT leaves a process that is not
// stopped: the nemesis's final heal resumes every node.
func (n *node) Resume(ctx context.Context) error {
	if _, paused, _, err := n.state(ctx); err != nil {
		return fmt.Errorf("resume %s: %w", n.spec.Name, err)
	} else if !paused {
		return nil
	}
	if _, err := n.d.api.ContainerUnpause(ctx, n.c.GetContainerID(), client.ContainerUnpauseOptions{}); err != nil {
		return fmt.Errorf("resume %s: %w", n.spec.Name, err)
	}
	return n.waitState(ctx, "resume", func(_, paused bool) bool { return !paused })
}

func (n *node) Restart(ctx context.Context) error {
	if err := n.Stop(ctx); err != nil {
		return err
	}
	return n.Start(ctx)
}

// Running says whether the container runs (paused counts).
func (n *node) Running() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	running, _, _, err := n.state(ctx)
	return err == nil && running
}

// Process says what the container's process is doing now.
func (n *node) Process(ctx context.Context) cluster.NodeProcess {
	p := cluster.NodeProcess{NodeSpec: n.spec, Process: cluster.ProcessDown}
	running, paused, pid, err := n.state(ctx)
	switch {
	case err != nil || !running:
	case paused:
		p.PID, p.Process = pid, cluster.ProcessPaused
	default:
		p.PID, p.Process = pid, cluster.ProcessRunning
	}
	return p
}

// ExitedOnStart says the container stopped when it does not run.
func (n *node) ExitedOnStart(ctx context.Context) error {
	if running, _, _, err := n.state(ctx); err == nil && !running {
		return errors.New("its container exited on start")
	}
	return nil
}

// waitState polls until ok holds of the container's state (5 s at most).
func (n *node) waitState(ctx context.Context, what string, ok func(running, paused bool) bool) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		running, paused, _, err := n.state(ctx)
		if err == nil && ok(running, paused) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s %s: the container does not get there: %w", what, n.spec.Name, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// clientHost is a client host: a container that sleeps, whose namespace
// the workload's clients dial from.
type clientHost struct {
	nodeContainer
	spec    cluster.HostSpec
	network nodeNetwork
}

func (h *clientHost) Name() string             { return h.spec.Name }
func (h *clientHost) Addr() netip.Addr         { return h.spec.Addr }
func (h *clientHost) Network() cluster.Network { return h.network }

// Dial connects from inside the host's container.
func (h *clientHost) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	return h.ns.dial(ctx, network, address)
}
