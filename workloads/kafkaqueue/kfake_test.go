package kafkaqueue

import (
	"context"
	"encoding/json"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/workloads"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// fakeCluster is just enough of a cluster.Cluster for the workload: the
// brokers of a kfake cluster, dialed directly.
type fakeCluster struct {
	cluster.Cluster // unused methods panic
	brokers         []cluster.Node
}

func (f fakeCluster) ID() string                        { return "kfake" }
func (f fakeCluster) Brokers() []cluster.Node           { return f.brokers }
func (f fakeCluster) ZooKeepers() []cluster.Node        { return nil }
func (f fakeCluster) ClientHosts() []cluster.ClientHost { return nil }
func (f fakeCluster) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

type fakeBroker struct {
	cluster.Node
	id   int
	addr string
}

func (b fakeBroker) Name() string       { return "kafka" + string(rune('0'+b.id)) }
func (b fakeBroker) ID() int            { return b.id }
func (b fakeBroker) ClientAddr() string { return b.addr }

// memRecorder records ops in memory as the runner's interpreter does.
type memRecorder struct {
	mu    sync.Mutex
	ops   []history.Op
	next  history.Process
	start time.Time
}

func (r *memRecorder) append(op history.Op) history.Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	op.Index, op.Time = int64(len(r.ops)), int64(time.Since(r.start))
	r.ops = append(r.ops, op)
	return op
}

func (r *memRecorder) NewProcess() history.Process {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next++
	return r.next - 1
}

func (r *memRecorder) Record(ctx context.Context, p history.Process, c workloads.Client, op history.Op) (history.Op, error) {
	op.Process, op.Type = p, history.Invoke
	inv := r.append(op)
	done := c.Invoke(ctx, inv)
	done.Process, done.F, done.Key = p, inv.F, inv.Key
	if done.Type != history.OK && done.Type != history.Fail {
		done.Type = history.Info
	}
	return r.append(done), nil
}

// newKfakeWorkload starts a kfake cluster and the workload on it.
func newKfakeWorkload(t *testing.T, o Options) (*Workload, *kfake.Cluster) {
	t.Helper()
	kc, err := kfake.NewCluster(kfake.NumBrokers(3))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	var brokers []cluster.Node
	for i, a := range kc.ListenAddrs() {
		brokers = append(brokers, fakeBroker{id: i, addr: a})
	}
	// kfake does not know unclean.leader.election.enable: drop it from
	// the topic's creation and let kfake create the topic as asked.
	kc.ControlKey(int16(kmsg.CreateTopics), func(req kmsg.Request) (kmsg.Response, error, bool) {
		kc.KeepControl()
		for i := range req.(*kmsg.CreateTopicsRequest).Topics {
			t := &req.(*kmsg.CreateTopicsRequest).Topics[i]
			t.Configs = slices.DeleteFunc(t.Configs, func(c kmsg.CreateTopicsRequestTopicConfig) bool {
				return c.Name == "unclean.leader.election.enable"
			})
		}
		return nil, nil, false
	})
	w, err := New(fakeCluster{brokers: brokers}, o, 1, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	return w, kc
}

// failNext makes kfake answer every produce to the partition of op with
// err until the returned func is called. With REQUEST_TIMED_OUT and
// NOT_ENOUGH_REPLICAS_AFTER_APPEND kfake appends the records first, as a
// real broker may; with other errors it does not.
func failNext(t *testing.T, kc *kfake.Cluster, w *Workload, op history.Op, err *kerr.Error) func() {
	_, part := sentValue(t, op)
	h := kc.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: w.Topic(), Partitions: []int32{part}, Err: err, Count: -1})
	return h.Remove
}

// producerProc sends as a run's producer process would, and after an info
// continues as a new producer process, with a new client.
type producerProc struct {
	t   *testing.T
	w   *Workload
	rec *memRecorder
	p   history.Process
	c   workloads.Client
}

// send sends the next value, calling before (if any) first and the func
// it returns once the send has completed; it returns the completion.
func (pr *producerProc) send(before func(op history.Op) (after func())) history.Op {
	t := pr.t
	t.Helper()
	ctx := context.Background()
	if pr.c == nil {
		var err error
		if pr.c, err = pr.w.Client(ctx, pr.p); err != nil {
			t.Fatal(err)
		}
	}
	op, err := pr.w.Next(ctx, pr.p)
	if err != nil {
		t.Fatal(err)
	}
	after := func() {}
	if before != nil {
		after = before(op)
	}
	done, err := pr.rec.Record(ctx, pr.p, pr.c, op)
	after()
	if err != nil {
		t.Fatal(err)
	}
	if done.Type == history.Info {
		pr.close()
		for pr.p = pr.rec.NewProcess(); pr.w.isConsumer(pr.p); pr.p = pr.rec.NewProcess() {
		}
	}
	return done
}

func (pr *producerProc) close() {
	if pr.c != nil {
		pr.c.Close()
		pr.c = nil
	}
}

func sentValue(t *testing.T, op history.Op) (string, int32) {
	t.Helper()
	var v sendValue
	if err := json.Unmarshal(op.Value, &v); err != nil {
		t.Fatal(err)
	}
	part, err := parsePartition(op.Key)
	if err != nil {
		t.Fatal(err)
	}
	return v.Value, part
}

// TestKfakeAmbiguousSends drives the workload's real producer, consumer
// and final reads against kfake, which answers one send with
// REQUEST_TIMED_OUT and another with NOT_ENOUGH_REPLICAS_AFTER_APPEND after
// appending it (until the op gives up), and a third with NOT_ENOUGH_REPLICAS
// without appending. The first two must end as info and be found exactly
// once by the final reads (recovered, not unexpected, not duplicated); the
// third as fail and never read. The checker must call the history valid.
func TestKfakeAmbiguousSends(t *testing.T) {
	w, kc := newKfakeWorkload(t, Options{OpTimeout: 2 * time.Second})
	rec := &memRecorder{start: time.Now(), next: 100}
	pr := &producerProc{t: t, w: w, rec: rec}
	defer pr.close()
	inject := map[int]*kerr.Error{10: kerr.RequestTimedOut, 15: kerr.NotEnoughReplicasAfterAppend, 20: kerr.NotEnoughReplicas}
	want := map[int]history.Type{10: history.Info, 15: history.Info, 20: history.Fail}
	values := map[int]string{}
	for i := range 30 {
		var before func(history.Op) func()
		if err, ok := inject[i]; ok {
			before = func(op history.Op) func() {
				values[i], _ = sentValue(t, op)
				return failNext(t, kc, w, op, err)
			}
		}
		done := pr.send(before)
		wantType, special := want[i]
		if !special {
			wantType = history.OK
		}
		if done.Type != wantType {
			t.Errorf("send %d (%v): %s, want %s", i, inject[i], done, wantType)
		}
	}

	// A consumer in assign mode polls a while, then the final reads.
	cp := history.Process(3)
	cc, err := w.Client(context.Background(), cp)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		op, _ := w.Next(context.Background(), cp)
		if done, _ := rec.Record(context.Background(), cp, cc, op); done.Type != history.OK {
			t.Errorf("poll: %s", done)
		}
	}
	cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := w.FinalReads(ctx, rec); err != nil {
		t.Fatal(err)
	}

	read := map[string]int{}
	finals := 0
	for _, op := range rec.ops {
		if op.F != "poll" || op.Type != history.OK {
			continue
		}
		var v struct {
			Mode    string                          `json:"mode"`
			Records map[string][][2]json.RawMessage `json:"records"`
			End     *int64                          `json:"end_offset"`
		}
		if err := json.Unmarshal(op.Value, &v); err != nil {
			t.Fatalf("poll value %s: %v", op.Value, err)
		}
		if v.Mode == modeFinal {
			if v.End != nil {
				finals++
			}
			for _, rs := range v.Records {
				for _, r := range rs {
					read[string(r[1])]++
				}
			}
		}
	}
	if finals != w.opts.Partitions {
		t.Errorf("%d partitions' final reads completed, want %d", finals, w.opts.Partitions)
	}
	for _, i := range []int{10, 15} {
		if n := read[`"`+values[i]+`"`]; n != 1 {
			t.Errorf("the value %s, appended but answered %v, was read %d times in the final reads, want once", values[i], inject[i], n)
		}
	}
	if n := read[`"`+values[20]+`"`]; n != 0 {
		t.Errorf("the rejected value %s was read %d times, want never", values[20], n)
	}

	res := checker.Queue{}.Check(context.Background(), rec.ops, checker.Options{})
	if res.Valid != checker.Valid {
		t.Fatalf("checker: %s, want valid: %+v", res.Valid, res)
	}
	if got := res.Details.(*checker.QueueDetails).Recovered; got != 2 {
		t.Errorf("recovered = %v, want 2", got)
	}
}

// TestKfakeRetryDuplicates shows why idempotence matters: without it, the
// producer's own retry of a write whose acknowledgement was lost writes the
// value again, and the checker reports the duplicate.
func TestKfakeRetryDuplicates(t *testing.T) {
	w, kc := newKfakeWorkload(t, Options{OpTimeout: 5 * time.Second, Idempotence: "off"})
	rec := &memRecorder{start: time.Now(), next: 100}
	pr := &producerProc{t: t, w: w, rec: rec}
	defer pr.close()
	var dup string
	for i := range 10 {
		var before func(history.Op) func()
		if i == 5 {
			before = func(op history.Op) func() {
				dup, _ = sentValue(t, op)
				_, part := sentValue(t, op)
				// One answer lost after the append; the retry succeeds.
				kc.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: w.Topic(), Partitions: []int32{part}, Err: kerr.RequestTimedOut, Count: 1})
				return func() {}
			}
		}
		if done := pr.send(before); done.Type != history.OK {
			t.Fatalf("send %d: %s, want ok (the retry succeeds)", i, done)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := w.FinalReads(ctx, rec); err != nil {
		t.Fatal(err)
	}
	res := checker.Queue{}.Check(context.Background(), rec.ops, checker.Options{})
	if res.Valid != checker.Invalid {
		t.Fatalf("checker: %s, want invalid (a duplicate)", res.Valid)
	}
	found := false
	for _, a := range res.Anomalies {
		if a.Kind != "duplicate" {
			t.Errorf("unexpected anomaly %s: %s", a.Kind, a.Message)
		}
		if a.Kind == "duplicate" && strings.Contains(a.Message, dup) {
			found = true
		}
	}
	if !found {
		t.Errorf("no duplicate anomaly names %s: %+v", dup, res.Anomalies)
	}
}

// TestKfakeLostAnswerThenRejection: the first try of a send is appended but
// its answer never comes (the broker holds it past the client's timeout);
// the retries are rejected with NOT_ENOUGH_REPLICAS until franz-go gives up.
// franz-go reports a record timeout, as for a record never written, but the
// first try may have been written (and here was), so the send must be info,
// and the final reads must find it: recovered, not unexpected.
func TestKfakeLostAnswerThenRejection(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 10s")
	}
	w, kc := newKfakeWorkload(t, Options{OpTimeout: 10 * time.Second})
	rec := &memRecorder{start: time.Now(), next: 100}
	pr := &producerProc{t: t, w: w, rec: rec}
	defer pr.close()
	if done := pr.send(nil); done.Type != history.OK { // warm up: metadata, producer id
		t.Fatalf("first send: %s", done)
	}
	var value string
	done := pr.send(func(op history.Op) func() {
		value, _ = sentValue(t, op)
		var first atomic.Pointer[kmsg.ProduceRequest]
		kc.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
			if !first.CompareAndSwap(nil, req.(*kmsg.ProduceRequest)) {
				return nil, nil, false // a retry: the fault below answers it
			}
			// Past the client's read timeout (op timeout/2 + 2s), then
			// kfake appends it and answers a connection nobody reads.
			kc.SleepControl(func() { time.Sleep(7500 * time.Millisecond) })
			kc.DropControl()
			return nil, nil, false
		})
		h := kc.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: w.Topic(), Err: kerr.NotEnoughReplicas, Count: -1,
			When: func(req kmsg.Request) bool { return first.Load() != req.(*kmsg.ProduceRequest) }})
		return h.Remove
	})
	if done.Type != history.Info {
		t.Fatalf("a send whose first try was appended unanswered ended %s, want info", done)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := w.FinalReads(ctx, rec); err != nil {
		t.Fatal(err)
	}
	res := checker.Queue{}.Check(context.Background(), rec.ops, checker.Options{})
	if res.Valid != checker.Valid {
		t.Fatalf("checker: %s, want valid: %+v", res.Valid, res.Anomalies)
	}
	if got := res.Details.(*checker.QueueDetails).Recovered; got != 1 {
		t.Errorf("recovered = %v, want 1 (%s read back)", got, value)
	}
}
