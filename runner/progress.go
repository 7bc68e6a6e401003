package runner

import (
	"fmt"
	"sync"
	"time"
)

// Progress is the state of a running test, reported about once a second.
type Progress struct {
	Phase   string        // "run" while the workload runs, then "healing", "final reads", "checking", ..., "done"
	Elapsed time.Duration // since the workload started
	Limit   time.Duration
	OK      int64
	Fail    int64
	Info    int64
}

// OpsPerSecond is the completion rate so far.
func (p Progress) OpsPerSecond() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.OK+p.Fail+p.Info) / p.Elapsed.Seconds()
}

// String renders the one-line progress.
func (p Progress) String() string {
	return fmt.Sprintf("[%5.1fs/%.0fs] %-23s ok %d  fail %d  info %d  %.0f ops/s",
		p.Elapsed.Seconds(), p.Limit.Seconds(), p.Phase, p.OK, p.Fail, p.Info, p.OpsPerSecond())
}

// ProgressSink receives progress reports.
type ProgressSink func(Progress)

// progressTracker reports progress about once a second, in the phase the
// run is in, until stop reports the last state as "done".
type progressTracker struct {
	sink  ProgressSink
	in    *interpreter
	limit time.Duration

	mu      sync.Mutex
	current string
	stopped bool
	quit    chan struct{}
	done    chan struct{}
}

// startProgress starts reporting to sink; a nil sink reports nothing.
func startProgress(sink ProgressSink, in *interpreter, limit time.Duration) *progressTracker {
	p := &progressTracker{sink: sink, in: in, limit: limit, current: "run", quit: make(chan struct{}), done: make(chan struct{})}
	if sink == nil {
		p.stopped = true
		close(p.done)
		return p
	}
	go func() {
		defer close(p.done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-p.quit:
				return
			case <-t.C:
				p.report()
			}
		}
	}()
	return p
}

func (p *progressTracker) report() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.stopped {
		p.sink(p.in.progress(p.current, p.limit))
	}
}

// phase names what the run does now, and reports it at once.
func (p *progressTracker) phase(name string) {
	p.mu.Lock()
	p.current = name
	p.mu.Unlock()
	p.report()
}

// stop reports the last state, as "done", once.
func (p *progressTracker) stop() {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	p.stopped = true
	p.mu.Unlock()
	close(p.quit)
	<-p.done
	p.sink(p.in.progress("done", p.limit))
}
