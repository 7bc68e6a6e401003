package runner

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/workloads"
	"golang.org/x/time/rate"
)

// recorder appends ops to the history; a discarding one records nothing.
type recorder interface {
	Append(op history.Op) (history.Op, error)
}

type discard struct{}

func (discard) Append(op history.Op) (history.Op, error) { return op, nil }

// interpreter drives a workload from concurrent client processes, as
// Jepsen's interpreter does: each worker invokes an op, waits for its
// completion, records both, and after an info op continues as a new process
// with a new client.
type interpreter struct {
	w           workloads.Workload
	hist        recorder
	concurrency int
	limiter     *rate.Limiter // nil: no cap
	maxProcess  atomic.Int64  // the highest process id handed out
	ok, fail    atomic.Int64
	info        atomic.Int64
	okByF       sync.Map // f → *atomic.Int64: ok completions per f
	began       time.Time
}

func newInterpreter(w workloads.Workload, hist recorder, concurrency int, opsPerSecond float64) *interpreter {
	in := &interpreter{w: w, hist: hist, concurrency: concurrency}
	if opsPerSecond > 0 {
		in.limiter = rate.NewLimiter(rate.Limit(opsPerSecond), 1)
	}
	in.maxProcess.Store(int64(concurrency) - 1)
	return in
}

// NewProcess returns a process id never used before, above every id the
// workers have used (it is for the final reads).
func (in *interpreter) NewProcess() history.Process {
	return history.Process(in.maxProcess.Add(1))
}

// successor returns the id that takes over from retired process p: p plus
// the concurrency, as in Jepsen, so a worker's processes keep p modulo the
// concurrency and a workload can give each worker a fixed role.
func (in *interpreter) successor(p history.Process) history.Process {
	next := int64(p) + int64(in.concurrency)
	for {
		hi := in.maxProcess.Load()
		if next <= hi || in.maxProcess.CompareAndSwap(hi, next) {
			return history.Process(next)
		}
	}
}

// Record invokes op as process p through c and records both ends.
func (in *interpreter) Record(ctx context.Context, p history.Process, c workloads.Client, op history.Op) (history.Op, error) {
	op.Process, op.Type = p, history.Invoke
	inv, err := in.hist.Append(op)
	if err != nil {
		return op, err
	}
	done := c.Invoke(ctx, inv)
	done.Process, done.F, done.Key = p, inv.F, inv.Key
	switch done.Type {
	case history.OK:
		in.ok.Add(1)
		n, _ := in.okByF.LoadOrStore(inv.F, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
	case history.Fail:
		in.fail.Add(1)
	default:
		done.Type = history.Info
		in.info.Add(1)
	}
	done, err = in.hist.Append(done)
	if err != nil {
		return done, err
	}
	in.w.Completed(done)
	return done, nil
}

// run drives the workload until stop is done. Ops already invoked then
// complete (each within the workload's op timeout) before run returns.
// An error is a harness failure, such as a history that can't be written.
// run's caller sets in.began before starting anything that reads progress.
func (in *interpreter) run(stop context.Context) error {
	var wg sync.WaitGroup
	errs := make(chan error, in.concurrency)
	for i := range in.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := in.worker(stop, history.Process(i)); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

func (in *interpreter) worker(stop context.Context, p history.Process) error {
	// Ops run on their own context: the time limit ends the invoking, not
	// the ops in flight, which end by the workload's op timeout.
	opCtx := context.WithoutCancel(stop)
	var c workloads.Client
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	for stop.Err() == nil {
		if c == nil {
			var err error
			if c, err = in.w.Client(stop, p); err != nil {
				if stop.Err() != nil {
					return nil
				}
				return fmt.Errorf("open client for process %d: %w", p, err)
			}
		}
		if in.limiter != nil {
			if err := in.limiter.Wait(stop); err != nil {
				return nil // the time limit ended the wait
			}
		}
		op, err := in.w.Next(stop, p)
		if err != nil {
			if stop.Err() != nil {
				return nil
			}
			return fmt.Errorf("generate an op for process %d: %w", p, err)
		}
		done, err := in.Record(opCtx, p, c, op)
		if err != nil {
			return err
		}
		if done.Type == history.Info {
			// The process may still have an op in flight: it is retired,
			// and its client with it.
			c.Close()
			c = nil
			p = in.successor(p)
		}
	}
	return nil
}

// okCounts returns the ok completions so far per f.
func (in *interpreter) okCounts() map[string]int64 {
	counts := map[string]int64{}
	in.okByF.Range(func(f, n any) bool {
		counts[f.(string)] = n.(*atomic.Int64).Load()
		return true
	})
	return counts
}

func (in *interpreter) progress(phase string, limit time.Duration) Progress {
	return Progress{Phase: phase, Elapsed: time.Since(in.began), Limit: limit,
		OK: in.ok.Load(), Fail: in.fail.Load(), Info: in.info.Load()}
}

// completed returns the ops completed so far and their rate since the
// workload began.
func (in *interpreter) completed() (int64, float64) {
	n := in.ok.Load() + in.fail.Load() + in.info.Load()
	el := time.Since(in.began).Seconds()
	if el <= 0 {
		return n, 0
	}
	return n, float64(n) / el
}
