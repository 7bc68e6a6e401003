package nemesis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/faultline/faultline/history"
)

// Recorder appends ops to the test's history.
type Recorder interface {
	Append(op history.Op) (history.Op, error)
}

// Nemesis runs a schedule of faults against a cluster, recording each
// start and stop as a pair of ops of the nemesis process ("start-<kind>",
// "stop-<kind>"; the completion's value says what was done, its error what
// failed), and heals everything at the end ("heal").
type Nemesis struct {
	env    *Env
	faults []Fault
	rec    Recorder
	log    *slog.Logger
	steps  []Step

	mu   sync.Mutex
	open *Step // the step whose fault is in place
}

// New makes a nemesis for a schedule. faults are the run's fresh
// instances (Builtin()); every step's kind must be among them.
func New(env *Env, faults []Fault, rec Recorder, steps []Step) *Nemesis {
	log := env.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Nemesis{env: env, faults: faults, rec: rec, log: log, steps: steps}
}

// Run runs the schedule until it ends or ctx is done. began is when the
// workload started: step times count from it. A fault that fails is
// recorded with its error and the schedule goes on.
func (n *Nemesis) Run(ctx context.Context, began time.Time) {
	for _, s := range n.steps {
		if !sleepUntil(ctx, began.Add(s.Start)) {
			return
		}
		n.start(ctx, s)
		if !sleepUntil(ctx, began.Add(s.Stop)) {
			return // HealAll stops it
		}
		n.stop(context.WithoutCancel(ctx), s)
	}
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

// start applies a step's fault and records it. A fault that is not
// available on this cluster is recorded as failed, with the reason.
func (n *Nemesis) start(ctx context.Context, s Step) {
	n.mu.Lock()
	n.open = &s
	n.mu.Unlock()
	invoke := s
	invoke.Start, invoke.Stop = 0, 0
	_ = n.record("start-"+string(s.Kind), invoke, func() (any, error) {
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
	for _, name := range touched {
		if node, ok := n.env.Cluster.Node(name); ok && slices.Contains(n.env.WorkloadRoles, node.Role()) {
			on = true
			break
		}
	}
	m["on_workload"] = on
}

// stop ends a step's fault and records it.
func (n *Nemesis) stop(ctx context.Context, s Step) {
	n.mu.Lock()
	n.open = nil
	n.mu.Unlock()
	_ = n.record("stop-"+string(s.Kind), nil, func() (any, error) {
		f, ok := faultOf(n.faults, s.Kind)
		if !ok {
			return nil, fmt.Errorf("no fault %q", s.Kind)
		}
		return f.Stop(ctx, n.env, s)
	})
}

// HealAll ends the fault in place, if any, then heals every kind of fault
// on every node, whatever the nemesis believes: partitions removed, packet
// faults cleared, paused nodes resumed, killed nodes restarted. It is
// recorded as "heal", whose error (and HealAll's) says what could not be
// healed.
func (n *Nemesis) HealAll(ctx context.Context) error {
	n.mu.Lock()
	open := n.open
	n.mu.Unlock()
	if open != nil {
		n.stop(ctx, *open)
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
