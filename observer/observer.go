package observer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/history"
)

// Recorder appends ops to the test's history; the runner's history
// writer, which other goroutines (the workload's, the nemesis's) append
// to at the same time.
type Recorder interface {
	Append(op history.Op) (history.Op, error)
}

// Defaults of Options.
const (
	DefaultInterval = time.Second
	DefaultTimeout  = 800 * time.Millisecond
)

// Options shape an observer.
type Options struct {
	// Topic is the workload's Kafka topic: brokers are asked for its
	// partitions' leaders. Empty, they are asked only for the
	// controller.
	Topic string
	// Interval is how often each node is asked (DefaultInterval): a round
	// over every node begins every Interval, or at once when the one
	// before took longer.
	Interval time.Duration
	// Timeout is how long a node has to answer (DefaultTimeout).
	Timeout time.Duration
	// Log receives what went wrong (nil: nothing).
	Log *slog.Logger
}

// Observer asks the nodes, round after round, what they believe, and
// records each question and answer; see the package's doc.
type Observer struct {
	targets []*target
	rec     Recorder
	prober  Prober
	o       Options
}

// target is a Target with the state of its calls.
type target struct {
	Target
	// busy is set while a call to the node runs: one the observer gave
	// up on may not have returned yet.
	busy atomic.Bool
}

// New makes an observer of nodes that records through rec and asks
// through p. Run it with Run; the caller closes p after.
func New(nodes []cluster.Node, rec Recorder, p Prober, o Options) *Observer {
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	ob := &Observer{rec: rec, prober: p, o: o}
	for _, t := range Targets(nodes) {
		ob.targets = append(ob.targets, &target{Target: t})
	}
	return ob
}

// Targets are what the observer asks each round, in order.
func (ob *Observer) Targets() []Target {
	out := make([]Target, len(ob.targets))
	for i, t := range ob.targets {
		out[i] = t.Target
	}
	return out
}

// Run asks every target in turn, one at a time, a round every Interval,
// until ctx ends. The call in flight then completes (within Timeout) and
// is recorded before Run returns, so the history never ends with one of
// its invocations pending. It returns early, with the error, only when
// the history cannot be written.
func (ob *Observer) Run(ctx context.Context) error {
	if len(ob.targets) == 0 {
		return nil
	}
	next := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		for _, t := range ob.targets {
			if ctx.Err() != nil {
				return nil
			}
			if err := ob.observe(t); err != nil {
				ob.o.Log.Error("the leadership observer cannot record", "err", err)
				return fmt.Errorf("observer: %w", err)
			}
		}
		next = next.Add(ob.o.Interval)
		if now := time.Now(); next.Before(now) {
			next = now // late: begin the next round at once, not a burst of them
		}
		timer.Reset(time.Until(next))
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
	}
}

// observe records one call: the invocation, the question, the answer.
func (ob *Observer) observe(t *target) error {
	inv := history.Op{Process: history.Observer, Type: history.Invoke, F: t.F, Value: nodeValue(t.Node)}
	if _, err := ob.rec.Append(inv); err != nil {
		return err
	}
	done := ob.ask(t)
	done.Process, done.F = history.Observer, t.F
	_, err := ob.rec.Append(done)
	return err
}

// answer is what a call to a node returned: an ok value, or an error.
type answer struct {
	value json.RawMessage
	err   error
}

// ask asks t's node, giving up after the timeout, and returns the
// completion (its type, value and error).
func (ob *Observer) ask(t *target) history.Op {
	if t.busy.Load() {
		return unanswered(t, history.Info, "timeout: its previous call has not returned")
	}
	ctx, cancel := context.WithTimeout(context.Background(), ob.o.Timeout)
	defer cancel()
	ch := make(chan answer, 1)
	t.busy.Store(true)
	go func() {
		v, err := ob.call(ctx, t)
		t.busy.Store(false)
		ch <- answer{v, err}
	}()
	var a answer
	select {
	case a = <-ch:
	case <-ctx.Done():
		select {
		case a = <-ch: // it answered just in time
		default:
			return unanswered(t, history.Info, "timeout")
		}
	}
	switch {
	case a.err == nil:
		return history.Op{Type: history.OK, Value: a.value}
	case errors.Is(a.err, context.DeadlineExceeded) || errors.Is(a.err, os.ErrDeadlineExceeded):
		return unanswered(t, history.Info, "timeout")
	case isFailed(a.err):
		return unanswered(t, history.Fail, a.err.Error())
	default:
		return unanswered(t, history.Info, a.err.Error())
	}
}

// unanswered is the completion of a call the node did not answer: the
// invocation's value, and why.
func unanswered(t *target, typ history.Type, why string) history.Op {
	return history.Op{Type: typ, Value: nodeValue(t.Node), Error: why}
}

// call asks t's node through the prober and returns the ok value.
func (ob *Observer) call(ctx context.Context, t *target) (json.RawMessage, error) {
	switch t.F {
	case FZKMode:
		s, err := ob.prober.ZooKeeper(ctx, t.Target)
		if errors.Is(err, cluster.ErrNotServing) {
			return json.Marshal(zkModeValue{Node: t.Node, Mode: NotServing})
		}
		if err != nil {
			return nil, err
		}
		epoch := s.Epoch()
		return json.Marshal(zkModeValue{Node: t.Node, Mode: s.Mode, Epoch: &epoch, Zxid: &s.Zxid})
	case FKafkaView:
		v, err := ob.prober.Broker(ctx, t.Target, ob.o.Topic)
		if err != nil {
			return nil, err
		}
		kv := kafkaViewValue{Node: t.Node, ID: t.ID, Controller: v.Controller}
		if v.Partitions != nil {
			kv.Leaders, kv.LeaderEpochs = map[string]int32{}, map[string]int32{}
			for p, l := range v.Partitions {
				key := strconv.Itoa(int(p))
				kv.Leaders[key], kv.LeaderEpochs[key] = l.Leader, l.Epoch
			}
		}
		return json.Marshal(kv)
	case FKRaftQuorum:
		q, err := ob.prober.Controller(ctx, t.Target)
		if err != nil {
			return nil, err
		}
		return json.Marshal(kraftQuorumValue{Node: t.Node, ID: t.ID, Leader: q.Leader, Epoch: q.Epoch})
	}
	return nil, fmt.Errorf("the observer does not know how to ask %q", t.F)
}

// NotServing is the mode a zk-mode op records for a ZooKeeper node that
// answered srvr that it does not serve requests now.
const NotServing = "not-serving"

// The values of the ops, as docs/history.md gives them.
type (
	nodeOnly struct {
		Node string `json:"node"`
	}
	zkModeValue struct {
		Node  string `json:"node"`
		Mode  string `json:"mode"`
		Epoch *int64 `json:"epoch,omitempty"`
		Zxid  *int64 `json:"zxid,omitempty"`
	}
	kafkaViewValue struct {
		Node         string           `json:"node"`
		ID           int              `json:"id"`
		Controller   int32            `json:"controller"`
		Leaders      map[string]int32 `json:"leaders,omitzero"`
		LeaderEpochs map[string]int32 `json:"leader_epochs,omitzero"`
	}
	kraftQuorumValue struct {
		Node   string `json:"node"`
		ID     int    `json:"id"`
		Leader int32  `json:"leader"`
		Epoch  int32  `json:"epoch"`
	}
)

// nodeValue is an invocation's value: {"node":"zk1"}.
func nodeValue(node string) json.RawMessage {
	b, _ := json.Marshal(nodeOnly{Node: node})
	return b
}
