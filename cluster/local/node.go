package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/internal/nsutil"
	"github.com/faultline/faultline/netfault"
)

// localNode is a server JVM in its own network namespace.
type localNode struct {
	runID      string
	spec       cluster.NodeSpec
	dir        string // the node's folder: config, data, log
	dataDir    string
	logFile    string
	configFile string
	log4jFile  string
	java       string
	args       []string
	// archives gives each start its class archive (nil: none);
	// archiveKind is the node's kind of JVM for it.
	archives    *cluster.ClassArchives
	archiveKind string
	log         *slog.Logger
	worker      *nsutil.Worker
	net         *netfault.HostFaults
	onChange    func() // called after the process changed, to record it

	mu   sync.Mutex
	proc *process
}

// process is one run of a node's server.
type process struct {
	cmd   *exec.Cmd
	start uint64        // start time from /proc, with the pid names the process
	done  chan struct{} // closed when the process has exited
	err   error         // how it exited, set before done closes
	// making says the process writes its kind's class archive as it
	// exits (see cluster.ClassArchives).
	making bool
	// stopping is set when the harness asked it to stop (SIGTERM).
	stopping atomic.Bool
	// served is set once the cluster was seen healthy while the process
	// ran (localCluster.markServed): one that stops before, such as a server the
	// nemesis restarted that is still starting, has not run what its
	// class archive is to hold.
	served atomic.Bool
}

func (n *localNode) Name() string           { return n.spec.Name }
func (n *localNode) Role() cluster.Role     { return n.spec.Role }
func (n *localNode) ID() int                { return n.spec.ID }
func (n *localNode) Addr() netip.Addr       { return n.spec.Addr }
func (n *localNode) ClientAddr() string     { return n.spec.ClientAddr() }
func (n *localNode) Spec() cluster.NodeSpec { return n.spec }
func (n *localNode) LogFile() string        { return n.logFile }

// Network is the node's namespace, faulted with nftables and netem (or
// the packet queue).
func (n *localNode) Network() cluster.Network { return n.net }

// netNSPath is the node's network namespace.
func (n *localNode) netNSPath() string { return nsPath(nodeNSName(n.runID, n.spec.Name)) }

func (n *localNode) current() *process {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.proc == nil {
		return nil
	}
	select {
	case <-n.proc.done:
		return nil
	default:
		return n.proc
	}
}

// PID is the server's process id, 0 when it is not running.
func (n *localNode) PID() int {
	if p := n.current(); p != nil {
		return p.cmd.Process.Pid
	}
	return 0
}

func (n *localNode) Running() bool { return n.current() != nil }

// exited returns a channel closed when the current process exits, and how
// it exited; nil when no process was started.
func (n *localNode) exited() (<-chan struct{}, func() error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.proc == nil {
		return nil, nil
	}
	p := n.proc
	return p.done, func() error { return p.err }
}

func (n *localNode) Start(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.proc != nil {
		select {
		case <-n.proc.done:
		default:
			return nil // already running
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("start %s: %w", n.spec.Name, err)
	}
	log, err := os.OpenFile(n.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("start %s: open log: %w", n.spec.Name, err)
	}
	defer log.Close() // the child keeps its own copy
	use := n.archives.Use(n.archiveKind, n.args)
	cmd := exec.Command(n.java, append(slices.Clone(use.Flags), n.args...)...)
	cmd.Dir = n.dir
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Pdeathsig: syscall.SIGKILL, // the server dies with the harness
		Setpgid:   true,            // and a terminal's Ctrl-C reaches only the harness
	}
	if err := n.worker.Do(cmd.Start); err != nil {
		_ = use.Exited(false)
		return fmt.Errorf("start %s: %w", n.spec.Name, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{}), making: use.Making != ""}
	if st, err := readProcStat(cmd.Process.Pid); err == nil {
		p.start = st.StartTime
	}
	go func() {
		p.err = cmd.Wait()
		worth := p.served.Load() && p.stopping.Load() && cluster.ExitedNormally(cmd.ProcessState)
		if err := use.Exited(worth); err != nil && n.log != nil {
			n.log.Info("no class archive made", "node", n.spec.Name, "why", err)
		}
		close(p.done)
	}()
	n.proc = p
	if n.onChange != nil {
		go n.onChange()
	}
	return nil
}

// signal sends sig to the running process.
func (n *localNode) signal(sig syscall.Signal) (*process, error) {
	p := n.current()
	if p == nil {
		return nil, fmt.Errorf("%s is not running", n.spec.Name)
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return nil, fmt.Errorf("signal %s to %s: %w", sig, n.spec.Name, err)
	}
	return p, nil
}

func (n *localNode) Stop(ctx context.Context) error {
	p := n.current()
	if p == nil {
		return nil // not running: nothing to stop
	}
	p.stopping.Store(true)
	if _, err := n.signal(syscall.SIGTERM); err != nil {
		return err
	}
	_ = p.cmd.Process.Signal(syscall.SIGCONT) // a paused process must run to act on SIGTERM
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cluster.DefaultStopGrace)
		defer cancel()
	}
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return n.Kill(context.WithoutCancel(ctx))
	}
}

func (n *localNode) Kill(ctx context.Context) error {
	if n.current() == nil {
		return nil
	}
	p, err := n.signal(syscall.SIGKILL)
	if err != nil {
		return err
	}
	// However long the caller would wait: a process that outlives SIGKILL
	// this long is stuck in the kernel, and waiting more will not help.
	ctx, cancel := context.WithTimeout(ctx, killWait)
	defer cancel()
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		st, _ := readProcStat(p.cmd.Process.Pid)
		return fmt.Errorf("kill %s: pid %d still there in state %c after SIGKILL: %w", n.spec.Name, p.cmd.Process.Pid, st.State, ctx.Err())
	}
}

// killWait bounds the wait for a SIGKILLed process to be gone.
const killWait = 30 * time.Second

// Pause sends SIGSTOP and returns once the process is stopped.
func (n *localNode) Pause(ctx context.Context) error {
	p, err := n.signal(syscall.SIGSTOP)
	if err != nil {
		return err
	}
	return waitProcState(ctx, p, func(state byte) bool { return state == 'T' }, "pause "+n.spec.Name)
}

// Resume sends SIGCONT and returns once the process runs again.
func (n *localNode) Resume(ctx context.Context) error {
	p, err := n.signal(syscall.SIGCONT)
	if err != nil {
		return err
	}
	return waitProcState(ctx, p, func(state byte) bool { return state != 'T' }, "resume "+n.spec.Name)
}

// waitProcState waits until the process's state satisfies ok, or it exits.
// Signals are delivered asynchronously; a caller that paused a node may
// rely on it being paused.
func waitProcState(ctx context.Context, p *process, ok func(byte) bool, what string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for {
		st, err := readProcStat(p.cmd.Process.Pid)
		if err != nil || ok(st.State) {
			return nil // gone, or there
		}
		select {
		case <-p.done:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("%s: process state stays %c: %w", what, st.State, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (n *localNode) Restart(ctx context.Context) error {
	if err := n.Stop(ctx); err != nil {
		return err
	}
	return n.Start(ctx)
}

// state is what the run's state file records of the node.
func (n *localNode) state() nodeState {
	st := nodeState{NodeSpec: n.spec, DataDir: n.dataDir, LogFile: n.logFile, NetNSPath: n.netNSPath()}
	if p := n.current(); p != nil {
		st.PID, st.PIDStart = p.cmd.Process.Pid, p.start
	}
	return st
}

// waitExit waits up to d for the node's process to be gone.
func (n *localNode) waitExit(d time.Duration) bool {
	done, _ := n.exited()
	if done == nil {
		return true
	}
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// Process says what the node's server process is doing now.
func (n *localNode) Process(context.Context) cluster.NodeProcess { return n.state().process() }

// ExitedOnStart says how the server exited when its process has ended
// since it was started.
func (n *localNode) ExitedOnStart(context.Context) error {
	done, exitErr := n.exited()
	if done == nil {
		return nil
	}
	select {
	case <-done:
		return fmt.Errorf("exited on start (%v)", exitErr())
	default:
		return nil
	}
}
