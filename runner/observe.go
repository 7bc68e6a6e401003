package runner

import (
	"context"
	"log/slog"
	"slices"
	"sync"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/observer"
)

// observing is a run's leadership observer, running beside the workload.
//
// It starts with the workload and stops when the final reads begin: it
// covers the time limit, the final heal, and the wait for the cluster and
// the quiet period after it. The leadership checker needs only the fault
// windows covered, but the moments after a heal are where a deposed
// leader shows (a resumed paused ZooKeeper leader that still believes it
// leads, a restarted broker catching up), and the heal ends the windows
// before those moments; the final reads, on a cluster healthy and quiet by
// then, would add only length to the timeline.
type observing struct {
	cancel context.CancelFunc
	done   chan struct{}
	prober observer.Prober
	once   sync.Once
}

// startObserver starts the leadership observer of c's nodes, recording
// into hist, unless spec turns it off (then it returns nil, which stops as
// one that ran). topic is the workload's Kafka topic.
func startObserver(ctx context.Context, spec Spec, c cluster.Cluster, topic string, hist recorder, log *slog.Logger) *observing {
	if !spec.Observing() {
		return nil
	}
	p := observer.NewProber(c.Dial)
	ob := observer.New(c.Nodes(), hist, p, observer.Options{Topic: topic, Log: log})
	octx, cancel := context.WithCancel(ctx)
	o := &observing{cancel: cancel, done: make(chan struct{}), prober: p}
	go func() {
		defer close(o.done)
		_ = ob.Run(octx) // it logs why when it stops early
	}()
	log.Debug("leadership observer started", "questions_per_round", len(ob.Targets()))
	return o
}

// stop stops the observer and waits until its last call is recorded
// (within its timeout); it may be called again, and on nil.
func (o *observing) stop() {
	if o == nil {
		return
	}
	o.once.Do(func() {
		o.cancel()
		<-o.done
		o.prober.Close()
	})
}

// observed says whether a run's leadership is judged: its record says the
// observer ran (one from before the observer says nothing), or its history
// holds observer ops.
func observed(rec Record, ops []history.Op) bool {
	if rec.Observe != nil && *rec.Observe {
		return true
	}
	return slices.ContainsFunc(ops, func(op history.Op) bool { return op.Process == history.Observer })
}
