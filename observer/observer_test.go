package observer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/history"
)

func TestTargets(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    cluster.Options
		want []string
	}{
		{"zookeeper mode", cluster.Options{ZooKeeperNodes: 3, KafkaNodes: 2}, []string{
			"zk-mode zk1 10.213.0.11:2181 0", "zk-mode zk2 10.213.0.12:2181 0", "zk-mode zk3 10.213.0.13:2181 0",
			"kafka-view kafka1 10.213.0.21:9092 1", "kafka-view kafka2 10.213.0.22:9092 2"}},
		{"zk-register", cluster.Options{ZooKeeperNodes: 3}, []string{
			"zk-mode zk1 10.213.0.11:2181 0", "zk-mode zk2 10.213.0.12:2181 0", "zk-mode zk3 10.213.0.13:2181 0"}},
		{"kraft", cluster.Options{KafkaMode: cluster.ModeKRaft, KafkaNodes: 2, Controllers: 2}, []string{
			"kraft-quorum ctrl1 10.213.0.31:9093 101", "kraft-quorum ctrl2 10.213.0.32:9093 102",
			"kafka-view kafka1 10.213.0.21:9092 1", "kafka-view kafka2 10.213.0.22:9092 2"}},
		{"kraft combined", cluster.Options{KafkaMode: cluster.ModeKRaft, KafkaNodes: 2}, []string{
			"kraft-quorum kafka1 10.213.0.21:9093 1", "kraft-quorum kafka2 10.213.0.22:9093 2",
			"kafka-view kafka1 10.213.0.21:9092 1", "kafka-view kafka2 10.213.0.22:9092 2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, tg := range Targets(fakeNodes(tc.o)) {
				got = append(got, fmt.Sprintf("%s %s %s %d", tg.F, tg.Node, tg.Addr, tg.ID))
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("targets:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// mixedNodes are ZooKeeper nodes, KRaft controllers and brokers at once:
// the observer asks each what its kind is asked.
func mixedNodes(zks, controllers, brokers int) []cluster.Node {
	var nodes []cluster.Node
	add := func(name string, role cluster.Role, id, host int) {
		nodes = append(nodes, fakeNode{spec: cluster.NodeSpec{Name: name, Role: role, ID: id, Addr: netip.AddrFrom4([4]byte{10, 213, 0, byte(host)})}})
	}
	for i := 1; i <= zks; i++ {
		add(fmt.Sprintf("zk%d", i), cluster.RoleZooKeeper, i, 10+i)
	}
	for i := 1; i <= brokers; i++ {
		add(fmt.Sprintf("kafka%d", i), cluster.RoleKafka, i, 20+i)
	}
	for i := 1; i <= controllers; i++ {
		add(fmt.Sprintf("ctrl%d", i), cluster.RoleController, i, 30+i)
	}
	return nodes
}

// stamp matches a history line's index and time, which vary.
var stamp = regexp.MustCompile(`^\{"index":\d+,"time":\d+,`)

// observerLines are the history's lines without their index and time.
func observerLines(h *memHistory) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(h.buf.String()), "\n") {
		out = append(out, stamp.ReplaceAllString(l, "{"))
	}
	return out
}

// TestOpsFormat: one round's ops are exactly as docs/history.md gives
// them, answered or not, and checker.Leadership reads them.
func TestOpsFormat(t *testing.T) {
	p := newFakeProber()
	p.zk = func(_ context.Context, node string, _ int) (cluster.Srvr, error) {
		switch node {
		case "zk1":
			return cluster.Srvr{Mode: "leader", Zxid: 0x500000053}, nil
		case "zk2":
			return cluster.Srvr{}, Failed(fmt.Errorf("dial tcp 10.213.0.12:2181: %w", syscall.ECONNREFUSED))
		}
		return cluster.Srvr{}, cluster.ErrNotServing
	}
	p.controller = func(context.Context, string, int) (QuorumView, error) { return QuorumView{Leader: 102, Epoch: 4}, nil }
	p.broker = func(_ context.Context, node string, _ int) (BrokerView, error) {
		if node == "kafka3" {
			return BrokerView{}, errors.New("connection reset by peer")
		}
		return BrokerView{Controller: 1, Partitions: map[int32]PartitionLeader{0: {2, 7}, 1: {3, 4}}}, nil
	}
	h := newMemHistory()
	nodes := mixedNodes(3, 1, 3)
	nodes = append(nodes[:3], nodes[4:]...) // no kafka1: kafka2 as docs/history.md has it
	ob := New(nodes, h.w, p, Options{Topic: "t", Interval: time.Hour})
	runFor(t, ob, p, "kafka3", 1)
	want := []string{
		`{"process":"observer","type":"invoke","f":"zk-mode","value":{"node":"zk1"}}`,
		`{"process":"observer","type":"ok","f":"zk-mode","value":{"node":"zk1","mode":"leader","epoch":5,"zxid":21474836563}}`,
		`{"process":"observer","type":"invoke","f":"zk-mode","value":{"node":"zk2"}}`,
		`{"process":"observer","type":"fail","f":"zk-mode","value":{"node":"zk2"},"error":"dial tcp 10.213.0.12:2181: connection refused"}`,
		`{"process":"observer","type":"invoke","f":"zk-mode","value":{"node":"zk3"}}`,
		`{"process":"observer","type":"ok","f":"zk-mode","value":{"node":"zk3","mode":"not-serving"}}`,
		`{"process":"observer","type":"invoke","f":"kraft-quorum","value":{"node":"ctrl1"}}`,
		`{"process":"observer","type":"ok","f":"kraft-quorum","value":{"node":"ctrl1","id":101,"leader":102,"epoch":4}}`,
		`{"process":"observer","type":"invoke","f":"kafka-view","value":{"node":"kafka2"}}`,
		`{"process":"observer","type":"ok","f":"kafka-view","value":{"node":"kafka2","id":2,"controller":1,"leaders":{"0":2,"1":3},"leader_epochs":{"0":7,"1":4}}}`,
		`{"process":"observer","type":"invoke","f":"kafka-view","value":{"node":"kafka3"}}`,
		`{"process":"observer","type":"info","f":"kafka-view","value":{"node":"kafka3"},"error":"connection reset by peer"}`,
	}
	if got := observerLines(h); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("history:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !p.topics["t"] || len(p.topics) != 1 {
		t.Errorf("brokers were asked about topics %v, want t", p.topics)
	}
	ops := h.ops(t)
	if _, err := history.Pair(ops); err != nil {
		t.Fatal(err)
	}
	res := checker.Leadership{}.Check(context.Background(), ops, checker.Options{})
	d, _ := res.Details.(*checker.LeadershipDetails)
	if res.Valid != checker.Valid || res.Error != "" || d == nil || d.Observations != 6 || d.Unanswered != 2 || len(d.Nodes) != 6 {
		t.Fatalf("leadership: valid %v, error %q, notes %q, details %+v", res.Valid, res.Error, res.Notes, d)
	}
	for _, n := range d.Nodes {
		if n.Node != "kafka3" && (n.Source == FZKMode) != (n.ID == nil) { // kafka3 never answered
			t.Errorf("lane %s (%s) has id %v", n.Node, n.Source, n.ID)
		}
	}
}

// TestNoTopic: without a topic a broker is asked for its controller
// alone, and its view names no partitions.
func TestNoTopic(t *testing.T) {
	p := newFakeProber()
	p.broker = func(context.Context, string, int) (BrokerView, error) { return BrokerView{Controller: -1}, nil }
	h := newMemHistory()
	ob := New(mixedNodes(0, 0, 1), h.w, p, Options{Interval: time.Hour})
	runFor(t, ob, p, "kafka1", 1)
	got := observerLines(h)
	if len(got) != 2 || got[1] != `{"process":"observer","type":"ok","f":"kafka-view","value":{"node":"kafka1","id":1,"controller":-1}}` {
		t.Errorf("history %q", got)
	}
	if !p.topics[""] || len(p.topics) != 1 {
		t.Errorf("topics asked %v, want none", p.topics)
	}
}

// TestLeadershipOverlapsFound: the leadership checker finds overlaps the
// observer saw, of every kind.
func TestLeadershipOverlapsFound(t *testing.T) {
	p := newFakeProber()
	// zk1, ctrl1 and kafka1 lead throughout; zk2, ctrl2 and kafka2 come
	// to believe they lead too from their third answer on.
	p.zk = func(_ context.Context, node string, call int) (cluster.Srvr, error) {
		switch {
		case node == "zk1":
			return cluster.Srvr{Mode: "leader", Zxid: 5 << 32}, nil
		case node == "zk2" && call >= 2:
			return cluster.Srvr{Mode: "leader", Zxid: 6 << 32}, nil
		}
		return cluster.Srvr{Mode: "follower", Zxid: 5 << 32}, nil
	}
	p.controller = func(_ context.Context, node string, call int) (QuorumView, error) {
		if node == "ctrl2" && call >= 2 {
			return QuorumView{Leader: 102, Epoch: 8}, nil
		}
		return QuorumView{Leader: 101, Epoch: 7}, nil
	}
	p.broker = func(_ context.Context, node string, call int) (BrokerView, error) {
		if node == "kafka2" && call >= 2 {
			return BrokerView{Controller: 2, Partitions: map[int32]PartitionLeader{0: {2, 3}}}, nil
		}
		return BrokerView{Controller: 1, Partitions: map[int32]PartitionLeader{0: {1, 2}}}, nil
	}
	h := newMemHistory()
	ob := New(mixedNodes(3, 2, 2), h.w, p, Options{Topic: "t", Interval: 2 * time.Millisecond})
	runFor(t, ob, p, "kafka2", 5)
	ops := h.ops(t)
	res := checker.Leadership{}.Check(context.Background(), ops, checker.Options{})
	if res.Valid != checker.Invalid || res.Error != "" {
		t.Fatalf("leadership: valid %v, error %q, notes %q", res.Valid, res.Error, res.Notes)
	}
	// With KRaft controllers observed, a broker's view of the controller
	// is no claim (KRaft brokers name a broker of their choosing).
	for kind, want := range map[string]int{"zk-leader-overlap": 1, "kraft-leader-overlap": 1, "controller-overlap": 0, "partition-leader-overlap": 1} {
		if res.AnomalyCounts[kind] != want {
			t.Errorf("%s: %d, want %d (counts %v)", kind, res.AnomalyCounts[kind], want, res.AnomalyCounts)
		}
	}
	// Without them (ZooKeeper mode), kafka2 naming itself while kafka1
	// does is two controllers.
	h2 := newMemHistory()
	ob2 := New(mixedNodes(3, 0, 2), h2.w, p, Options{Topic: "t", Interval: 2 * time.Millisecond})
	runFor(t, ob2, p, "kafka2", 10)
	if res2 := (checker.Leadership{}).Check(context.Background(), h2.ops(t), checker.Options{}); res2.AnomalyCounts["controller-overlap"] != 1 {
		t.Errorf("zookeeper mode: counts %v", res2.AnomalyCounts)
	}
	d := res.Details.(*checker.LeadershipDetails)
	if o := d.Longest["zk-leader"]; o == nil || o.Nodes != [2]string{"zk1", "zk2"} || o.Epochs != [2]int64{5, 6} {
		t.Errorf("longest zk-leader overlap %+v", o)
	}
	if len(d.Nodes) != 7 || d.Unanswered != 0 {
		t.Errorf("details: %d nodes, %d unanswered", len(d.Nodes), d.Unanswered)
	}
}

// observerCalls pairs the observer's ops, checking that they alternate:
// an invocation, then its completion of the same f and node.
func observerCalls(t *testing.T, ops []history.Op) []history.Call {
	t.Helper()
	var calls []history.Call
	for i := range ops {
		op := ops[i]
		if op.Process != history.Observer {
			continue
		}
		n := len(calls)
		if op.Type == history.Invoke {
			if n > 0 && calls[n-1].Completion == nil {
				t.Fatalf("op %d invokes while op %d is pending", op.Index, calls[n-1].Invoke.Index)
			}
			calls = append(calls, history.Call{Invoke: op})
			continue
		}
		if n == 0 || calls[n-1].Completion != nil {
			t.Fatalf("op %d completes nothing pending", op.Index)
		}
		if inv := calls[n-1].Invoke; inv.F != op.F || valueNode(t, inv) != valueNode(t, op) {
			t.Fatalf("op %d completes %s %s, invoked %s %s", op.Index, op.F, op.Value, inv.F, inv.Value)
		}
		calls[n-1].Completion = &op
	}
	return calls
}

// valueNode is the node an observer op's value names.
func valueNode(t *testing.T, op history.Op) string {
	t.Helper()
	var v nodeOnly
	if err := json.Unmarshal(op.Value, &v); err != nil || v.Node == "" {
		t.Fatalf("op %d names no node: %s (%v)", op.Index, op.Value, err)
	}
	return v.Node
}

// TestCallsNeverOverlap: the observer's calls never overlap in the
// history, nor at the nodes, while clients and the nemesis write to the
// same history.
func TestCallsNeverOverlap(t *testing.T) {
	p := newFakeProber()
	pause := func(call int) { time.Sleep(time.Duration(call%3) * time.Millisecond) }
	p.zk = func(_ context.Context, _ string, call int) (cluster.Srvr, error) {
		pause(call)
		return cluster.Srvr{Mode: "follower", Zxid: 1 << 32}, nil
	}
	p.broker = func(_ context.Context, _ string, call int) (BrokerView, error) {
		pause(call)
		return BrokerView{Controller: 1}, nil
	}
	h := newMemHistory()
	ob := New(mixedNodes(3, 0, 3), h.w, p, Options{Interval: time.Millisecond})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, proc := range []history.Process{0, 1, history.Nemesis} {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := h.w.Append(history.Op{Process: proc, Type: history.Invoke, F: "read", Key: "r1"}); err != nil {
					t.Error(err)
					return
				}
				if _, err := h.w.Append(history.Op{Process: proc, Type: history.Fail, F: "read", Key: "r1"}); err != nil {
					t.Error(err)
					return
				}
				time.Sleep(50 * time.Microsecond)
			}
		})
	}
	runFor(t, ob, p, "kafka3", 20)
	close(stop)
	wg.Wait()
	ops := h.ops(t)
	if _, err := history.Pair(ops); err != nil {
		t.Fatal(err)
	}
	calls := observerCalls(t, ops)
	if len(calls) < 6*20 {
		t.Errorf("%d observer calls, want at least 120", len(calls))
	}
	if calls[len(calls)-1].Completion == nil {
		t.Errorf("the observer stopped with a call pending")
	}
	if p.mostActive != 1 {
		t.Errorf("%d calls to nodes ran at once", p.mostActive)
	}
	if others := len(ops) - 2*len(calls); others < 100 {
		t.Errorf("only %d other ops were written meanwhile", others)
	}
}

// TestStuckNode: a node that does not answer is given up on at its
// timeout, the others are asked as usual, and while its call has not
// returned it is not asked again.
func TestStuckNode(t *testing.T) {
	const timeout = 60 * time.Millisecond
	release := make(chan struct{})
	p := newFakeProber()
	p.zk = func(_ context.Context, node string, call int) (cluster.Srvr, error) {
		if node == "zk2" && call == 0 {
			<-release // paused, and deaf to ctx
		}
		return cluster.Srvr{Mode: "follower", Zxid: 1 << 32}, nil
	}
	h := newMemHistory()
	ob := New(mixedNodes(3, 0, 0), h.w, p, Options{Interval: 10 * time.Millisecond, Timeout: timeout})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ob.Run(ctx) }()
	for p.callsTo("zk3") < 4 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	for p.callsTo("zk2") < 3 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var zk2 []history.Call
	for _, c := range observerCalls(t, h.ops(t)) {
		took := time.Duration(c.Completion.Time - c.Invoke.Time)
		if strings.Contains(string(c.Invoke.Value), "zk2") {
			zk2 = append(zk2, c)
			continue
		}
		if c.Completion.Type != history.OK || took > timeout {
			t.Errorf("%s: %s after %v", c.Invoke.Value, c.Completion.Type, took)
		}
	}
	first := zk2[0].Completion
	if took := time.Duration(first.Time - zk2[0].Invoke.Time); first.Type != history.Info || first.Error != "timeout" || took < timeout || took > timeout+time.Second {
		t.Errorf("the stuck call: %s %q after %v, want info timeout after %v", first.Type, first.Error, took, timeout)
	}
	second := zk2[1].Completion
	if second.Type != history.Info || second.Error != "timeout: its previous call has not returned" {
		t.Errorf("the call after: %s %q", second.Type, second.Error)
	}
	if last := zk2[len(zk2)-1].Completion; last.Type != history.OK {
		t.Errorf("once it returned, zk2 was not asked again: last %s %q", last.Type, last.Error)
	}
}

// TestTimeouts: a node that does not answer in time completes info with
// error timeout, however the prober says so.
func TestTimeouts(t *testing.T) {
	p := newFakeProber()
	p.zk = func(ctx context.Context, node string, _ int) (cluster.Srvr, error) {
		switch node {
		case "zk1":
			<-ctx.Done() // paused: the prober gives up with ctx
			return cluster.Srvr{}, ctx.Err()
		case "zk2":
			return cluster.Srvr{}, fmt.Errorf("read tcp: %w", os.ErrDeadlineExceeded)
		}
		return cluster.Srvr{}, Failed(fmt.Errorf("dial: %w", context.DeadlineExceeded))
	}
	h := newMemHistory()
	ob := New(mixedNodes(3, 0, 0), h.w, p, Options{Interval: time.Hour, Timeout: 20 * time.Millisecond})
	runFor(t, ob, p, "zk3", 1)
	for _, c := range observerCalls(t, h.ops(t)) {
		if c.Completion.Type != history.Info || c.Completion.Error != "timeout" {
			t.Errorf("%s: %s %q, want info timeout", c.Invoke.Value, c.Completion.Type, c.Completion.Error)
		}
	}
}

// TestStops: asked to stop, the observer returns at once between rounds,
// and within the timeout during a call, which it completes first.
func TestStops(t *testing.T) {
	const timeout = 50 * time.Millisecond
	p := newFakeProber()
	p.zk = func(ctx context.Context, _ string, _ int) (cluster.Srvr, error) {
		return cluster.Srvr{Mode: "follower", Zxid: 1 << 32}, nil
	}
	h := newMemHistory()
	ob := New(mixedNodes(1, 0, 0), h.w, p, Options{Interval: time.Hour, Timeout: timeout})
	if took := runFor(t, ob, p, "zk1", 1); took > 100*time.Millisecond {
		t.Errorf("stopped between rounds after %v", took)
	}
	if n := len(h.ops(t)); n != 2 {
		t.Errorf("%d ops, want one call", n)
	}

	asked := make(chan struct{})
	p = newFakeProber()
	p.zk = func(ctx context.Context, _ string, _ int) (cluster.Srvr, error) {
		close(asked)
		<-ctx.Done()
		return cluster.Srvr{}, ctx.Err()
	}
	h = newMemHistory()
	ob = New(mixedNodes(1, 0, 0), h.w, p, Options{Interval: time.Hour, Timeout: timeout})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ob.Run(ctx) }()
	<-asked
	stopped := time.Now()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if took := time.Since(stopped); took > timeout+time.Second {
		t.Errorf("stopped during a call after %v", took)
	}
	ops := h.ops(t)
	if len(ops) != 2 || ops[1].Type != history.Info || ops[1].Error != "timeout" {
		t.Errorf("ops %v, want the call completed", ops)
	}
}

// failingRecorder fails every append after the first n.
type failingRecorder struct {
	mu sync.Mutex
	n  int
}

func (r *failingRecorder) Append(op history.Op) (history.Op, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == 0 {
		return op, errors.New("disk full")
	}
	r.n--
	return op, nil
}

// TestRecordingFails: the observer stops when the history cannot be
// written.
func TestRecordingFails(t *testing.T) {
	p := newFakeProber()
	p.zk = func(context.Context, string, int) (cluster.Srvr, error) { return cluster.Srvr{Mode: "leader"}, nil }
	ob := New(mixedNodes(3, 0, 0), &failingRecorder{n: 3}, p, Options{Interval: time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ob.Run(ctx); err == nil || !strings.Contains(err.Error(), "disk full") || ctx.Err() != nil {
		t.Errorf("Run: %v", err)
	}
	if n := p.callsTo("zk2"); n != 1 {
		t.Errorf("zk2 was asked %d times, want once: its completion could not be recorded", n)
	}
}
