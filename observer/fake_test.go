package observer

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/history"
)

// fakeNode is a planned node with no server: the observer needs only its
// name, role and addresses.
type fakeNode struct {
	cluster.Node // the verbs are not used
	spec         cluster.NodeSpec
}

func (n fakeNode) Name() string           { return n.spec.Name }
func (n fakeNode) Role() cluster.Role     { return n.spec.Role }
func (n fakeNode) ClientAddr() string     { return n.spec.ClientAddr() }
func (n fakeNode) Spec() cluster.NodeSpec { return n.spec }

// fakeNodes are the nodes a cluster of o would have.
func fakeNodes(o cluster.Options) []cluster.Node {
	var nodes []cluster.Node
	for _, s := range cluster.PlanNodes(o) {
		nodes = append(nodes, fakeNode{spec: s})
	}
	return nodes
}

// fakeProber answers from functions of the node and of how many times it
// was asked before, and counts the calls in flight at once.
type fakeProber struct {
	zk         func(ctx context.Context, node string, call int) (cluster.Srvr, error)
	broker     func(ctx context.Context, node string, call int) (BrokerView, error)
	controller func(ctx context.Context, node string, call int) (QuorumView, error)

	mu         sync.Mutex
	calls      map[string]int
	topics     map[string]bool // the topics brokers were asked about
	active     int
	mostActive int
	closed     bool
}

func newFakeProber() *fakeProber {
	return &fakeProber{calls: map[string]int{}, topics: map[string]bool{}}
}

// begin counts a call to node and returns how many came before it.
func (p *fakeProber) begin(node string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.active++
	p.mostActive = max(p.mostActive, p.active)
	n := p.calls[node]
	p.calls[node]++
	return n
}

func (p *fakeProber) end() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.active--
}

func (p *fakeProber) ZooKeeper(ctx context.Context, t Target) (cluster.Srvr, error) {
	defer p.end()
	return p.zk(ctx, t.Node, p.begin(t.Node))
}

func (p *fakeProber) Broker(ctx context.Context, t Target, topic string) (BrokerView, error) {
	defer p.end()
	n := p.begin(t.Node)
	p.mu.Lock()
	p.topics[topic] = true
	p.mu.Unlock()
	return p.broker(ctx, t.Node, n)
}

func (p *fakeProber) Controller(ctx context.Context, t Target) (QuorumView, error) {
	defer p.end()
	return p.controller(ctx, t.Node, p.begin(t.Node))
}

func (p *fakeProber) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
}

func (p *fakeProber) callsTo(node string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[node]
}

// memHistory is a history written by a real history.Writer into memory.
type memHistory struct {
	buf bytes.Buffer
	w   *history.Writer
}

func newMemHistory() *memHistory {
	h := &memHistory{}
	h.w = history.NewWriter(&h.buf, history.ClockSince(time.Now()))
	return h
}

// ops closes the writer and reads back what it wrote.
func (h *memHistory) ops(t *testing.T) []history.Op {
	t.Helper()
	if err := h.w.Close(); err != nil {
		t.Fatal(err)
	}
	ops, err := history.Read(bytes.NewReader(h.buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return ops
}

// runFor runs ob until it has made rounds rounds of calls to node (or
// 5 s pass), then stops it, and returns how long Run took to return once
// stopped.
func runFor(t *testing.T, ob *Observer, p *fakeProber, node string, rounds int) time.Duration {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ob.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for p.callsTo(node) < rounds && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	stopped := time.Now()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return time.Since(stopped)
}
