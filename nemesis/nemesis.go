package nemesis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/history"
)

// Recorder appends ops to the test's history.
type Recorder interface {
	Append(op history.Op) (history.Op, error)
}

// Nemesis runs a schedule of faults against a cluster, recording each
// start and stop as a pair of ops of the nemesis process ("start-<kind>",
// "stop-<kind>"; the completion's value says what was done, its error what
// failed), and heals everything at the end ("heal"). Each step runs on its
// own: a drawn schedule's steps at their times, a scripted one's after the
// events and conditions they wait for (see Step); the nemesis's ops are
// recorded one call at a time, so the nemesis process's calls never
// overlap in the history.
type Nemesis struct {
	env    *Env
	faults []Fault
	rec    Recorder
	log    *slog.Logger
	steps  []Step
	events map[string]*stepEvents // by step key

	recMu sync.Mutex // one nemesis call at a time in the history

	mu    sync.Mutex
	open  []Step            // steps whose fault is in place, in start order
	vars  map[string]string // bind names → node names
	fails []string          // what went wrong with the schedule, for Failures
}

// stepEvents are a step's events, for the steps that wait on them.
type stepEvents struct {
	started, stopped chan struct{} // closed when the event happened
	startedAt        time.Time
	stoppedAt        time.Time
	failed           string // why the step did not apply; set before started closes
}

// New makes a nemesis for a schedule. faults are the run's fresh
// instances (Builtin()); every step's kind must be among them, or bind.
func New(env *Env, faults []Fault, rec Recorder, steps []Step) *Nemesis {
	log := env.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := &Nemesis{env: env, faults: faults, rec: rec, log: log, events: map[string]*stepEvents{}, vars: map[string]string{}}
	for i, s := range steps {
		s.key = s.ID
		if s.key == "" {
			s.key = "#" + strconv.Itoa(i+1)
		}
		n.steps = append(n.steps, s)
		n.events[s.key] = &stepEvents{started: make(chan struct{}), stopped: make(chan struct{})}
	}
	return n
}

// Run runs the schedule until every step is done or ctx is done (a fault
// still in place is HealAll's). began is when the workload started: step
// times count from it. A fault that fails is recorded with its error and
// the others go on; a scripted step waiting on it is recorded as failed.
func (n *Nemesis) Run(ctx context.Context, began time.Time) {
	var wg sync.WaitGroup
	for _, s := range n.steps {
		wg.Go(func() { n.runStep(ctx, began, s) })
	}
	wg.Wait()
}

// runStep runs one step: waits for its start, starts it, waits for its
// stop, stops it.
func (n *Nemesis) runStep(ctx context.Context, began time.Time, s Step) {
	ev := n.events[s.key]
	failStart := func(why string) {
		_ = n.record(opF(s), n.invocation(s), func() (any, error) { return nil, errors.New(why) })
		n.failed(s, why)
		ev.failed = why
		ev.startedAt = time.Now()
		close(ev.started)
	}
	from := began
	if s.After != "" {
		id, what, _ := strings.Cut(s.After, ".")
		dep, ok := n.events[id]
		if !ok {
			failStart(fmt.Sprintf("\"after\" %s names no step", s.After))
			return
		}
		ch := dep.started
		if what == "stopped" {
			ch = dep.stopped
		}
		select {
		case <-ctx.Done():
			failStart(fmt.Sprintf("the workload ended before step %s %s", id, what))
			return
		case <-ch:
		}
		if dep.failed != "" {
			failStart(fmt.Sprintf("not run: step %s did not apply (%s)", id, dep.failed))
			return
		}
		from = dep.startedAt
		if what == "stopped" {
			from = dep.stoppedAt
		}
	}
	if !sleepUntil(ctx, from.Add(s.Start)) {
		if s.scripted() {
			failStart("the workload ended before the step's time came")
		}
		return
	}
	if len(s.When) > 0 {
		if err := n.await(ctx, s, s.When); err != nil {
			failStart("when: " + err.Error())
			return
		}
	}
	if notFault(s.Kind) {
		var err error
		if s.Kind == KindBind {
			err = n.bind(ctx, s)
		} else {
			_ = n.record(string(KindWait), n.invocation(s), func() (any, error) { return "held", nil })
		}
		if err != nil {
			ev.failed = err.Error()
			n.failed(s, err.Error())
		}
		ev.startedAt, ev.stoppedAt = time.Now(), time.Now()
		close(ev.started)
		close(ev.stopped)
		return
	}
	s, err := n.start(ctx, s)
	if err != nil {
		ev.failed = err.Error()
	}
	ev.startedAt = time.Now()
	close(ev.started)
	var note string
	switch {
	case s.Stop > 0:
		if !sleepUntil(ctx, began.Add(s.Stop)) {
			return // HealAll stops it
		}
	case s.For > 0 || len(s.Until) > 0:
		if !sleepUntil(ctx, ev.startedAt.Add(s.For)) {
			return
		}
		if len(s.Until) > 0 {
			if err := n.await(ctx, s, s.Until); err != nil {
				if ctx.Err() != nil {
					return
				}
				note = "until: " + err.Error() + "; stopped anyway"
				n.failed(s, note)
			}
		}
	default:
		return // in place until the end of the workload
	}
	n.stop(context.WithoutCancel(ctx), s, note)
	ev.stoppedAt = time.Now()
	close(ev.stopped)
}

// failed notes what went wrong with a step of the schedule.
func (n *Nemesis) failed(s Step, why string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.fails = append(n.fails, fmt.Sprintf("step %s (%s): %s", s.key, s.Kind, why))
}

// Failures say what went wrong with the schedule's steps: faults that
// failed to apply, conditions that never held, names that could not be
// bound.
func (n *Nemesis) Failures() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.fails)
}

func startF(s Step) string { return "start-" + string(s.Kind) }

// opF is the op a step's start is recorded as: "start-<kind>" for a
// fault, "bind" or "wait" for the steps that inject nothing.
func opF(s Step) string {
	if notFault(s.Kind) {
		return string(s.Kind)
	}
	return startF(s)
}

// invocation is what a start's invocation records: the step as written,
// with its id, without its times.
func (n *Nemesis) invocation(s Step) Step {
	inv := s
	inv.Start, inv.Stop = 0, 0
	inv.ID = s.key
	return inv
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// record appends the invocation, runs fn and appends its completion, an
// info op whose value says what was done, or whose error says what failed.
func (n *Nemesis) record(f string, invoke any, fn func() (any, error)) error {
	n.recMu.Lock()
	defer n.recMu.Unlock()
	inv := history.Op{Process: history.Nemesis, Type: history.Invoke, F: f, Value: mustJSON(invoke)}
	if _, err := n.rec.Append(inv); err != nil {
		n.log.Error("record nemesis op", "f", f, "err", err)
	}
	did, err := fn()
	done := history.Op{Process: history.Nemesis, Type: history.Info, F: f, Value: mustJSON(did)}
	if err != nil {
		done.Error = err.Error()
		n.log.Error("nemesis fault failed", "f", f, "err", err)
	} else {
		n.log.Info("nemesis", "f", f, "did", string(done.Value))
	}
	if _, aerr := n.rec.Append(done); aerr != nil {
		n.log.Error("record nemesis op", "f", f, "err", aerr)
	}
	return err
}

func mustJSON(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(strconv.Quote(fmt.Sprint(v)))
	}
	return b
}

// start applies a step's fault and records it, and returns the step as
// it ran (its $NAMEs resolved). A fault that is not available on this
// cluster is recorded as failed, with the reason.
func (n *Nemesis) start(ctx context.Context, s Step) (Step, error) {
	asked := n.invocation(s) // as written: what it resolves to is in what it did
	s, rerr := n.resolveNames(s)
	n.mu.Lock()
	n.open = append(n.open, s)
	n.mu.Unlock()
	err := n.record(startF(s), asked, func() (any, error) {
		if rerr != nil {
			return nil, rerr
		}
		f, ok := faultOf(n.faults, s.Kind)
		if !ok {
			return nil, fmt.Errorf("no fault %q", s.Kind)
		}
		if err := f.Available(n.env); err != nil {
			return nil, fmt.Errorf("%s is not available on this cluster: %w", s.Kind, err)
		}
		did, err := f.Start(ctx, n.env, s)
		n.markWorkload(did)
		return did, err
	})
	if err != nil {
		n.failed(s, err.Error())
	}
	return s, err
}

// markWorkload adds to what a start did whether it touched a node the
// workload exercises: a node it hit ("nodes"), or one that drops or is
// dropped ("drops").
func (n *Nemesis) markWorkload(did any) {
	m, ok := did.(map[string]any)
	if !ok || len(n.env.WorkloadRoles) == 0 {
		return
	}
	var touched []string
	if nodes, ok := m["nodes"].([]string); ok {
		touched = append(touched, nodes...)
	}
	if g, ok := m["drops"].(Grudge); ok {
		for name, peers := range g {
			if len(peers) > 0 {
				touched = append(touched, name)
				touched = append(touched, peers...)
			}
		}
	}
	on := false
	hosts := n.env.Cluster.ClientHosts()
	for _, name := range touched {
		node, ok := n.env.Cluster.Node(name)
		isHost := slices.ContainsFunc(hosts, func(h cluster.ClientHost) bool { return h.Name() == name })
		if (ok && slices.Contains(n.env.WorkloadRoles, node.Role())) || isHost {
			on = true // a client host carries the workload's own clients
			break
		}
	}
	m["on_workload"] = on
}

// stop ends a step's fault and records it; note, if any, is recorded as
// the stop's error (the fault was stopped, but not as the step asked).
func (n *Nemesis) stop(ctx context.Context, s Step, note string) {
	n.mu.Lock()
	n.open = slices.DeleteFunc(n.open, func(o Step) bool { return o.key == s.key })
	n.mu.Unlock()
	_ = n.record("stop-"+string(s.Kind), map[string]string{"id": s.key}, func() (any, error) {
		f, ok := faultOf(n.faults, s.Kind)
		if !ok {
			return nil, fmt.Errorf("no fault %q", s.Kind)
		}
		did, err := f.Stop(ctx, n.env, s)
		if note != "" {
			err = errors.Join(err, errors.New(note))
		}
		return did, err
	})
}

// HealAll ends the faults in place, if any, latest first, then heals
// every kind of fault on every node, whatever the nemesis believes:
// partitions removed, packet faults cleared, paused nodes resumed, killed
// nodes restarted. It is recorded as "heal", whose error (and HealAll's)
// says what could not be healed.
func (n *Nemesis) HealAll(ctx context.Context) error {
	n.mu.Lock()
	open := slices.Clone(n.open)
	n.mu.Unlock()
	for i := len(open) - 1; i >= 0; i-- {
		n.stop(ctx, open[i], "")
	}
	return n.record("heal", nil, func() (any, error) {
		did := map[string]any{}
		var errs []error
		// Packets first: removing a partition's hooks would make the
		// kernel drop the packets a packet queue holds.
		for _, f := range healOrder(n.faults) {
			what, err := f.Heal(ctx, n.env)
			did[string(f.Kind())] = what
			if err != nil {
				errs = append(errs, fmt.Errorf("heal %s: %w", f.Kind(), err))
			}
		}
		return did, errors.Join(errs...)
	})
}

// healOrder puts packet faults first (see HealAll), the rest as given.
func healOrder(faults []Fault) []Fault {
	out := make([]Fault, 0, len(faults))
	for _, f := range faults {
		if f.Kind() == KindPacket {
			out = append(out, f)
		}
	}
	for _, f := range faults {
		if f.Kind() != KindPacket {
			out = append(out, f)
		}
	}
	return out
}
