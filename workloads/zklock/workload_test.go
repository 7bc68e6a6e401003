package zklock

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/workloads"
)

// TestCheckedScenarios runs a small scenario on the fake for each kind of
// client and has checker.Lock judge the history: process 0 holds l1 and
// writes; its session expires; process 1 is granted l1 and writes; process
// 0 goes on as its kind does; then process 1 writes again and releases,
// and the final read lists the lock nodes. A naive client goes on writing
// as if it held the lock: a split brain, and its older token lands after
// the newer one. A careful client is disconnected before its session
// expires (ZooKeeper's client notices at two thirds of the timeout, the
// leader expires the session at the timeout) and records lose at once:
// valid. A fenced client that has not heard of the expiry (a paused
// client, say) writes, and the resource refuses it: the two fenced
// beliefs overlap harmlessly, valid.
func TestCheckedScenarios(t *testing.T) {
	for _, tc := range []struct {
		kind ClientKind
		// expire expires process 0's session, and says what process 0
		// does before process 1 acquires.
		expire func(r *testRun)
		then   []string // process 0's ops after process 1's first write
		valid  checker.Validity
		counts map[string]int
	}{
		{Naive, func(r *testRun) { r.d.session(0).expire(true) }, []string{"write", "release"},
			checker.Invalid, map[string]int{"split-brain": 1, "fencing-violation": 1}},
		{Careful, func(r *testRun) {
			r.d.session(0).disconnect()
			r.step(0, "lose")
			r.d.session(0).expire(true)
		}, []string{"release"}, checker.Valid, nil},
		{Fenced, func(r *testRun) { r.d.session(0).expire(false) }, []string{"write", "release"}, checker.Valid, nil},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			o := Options{Locks: 1, Client: tc.kind, WritesPerHold: 2, Hold: time.Millisecond}
			r := newTestRun(t, o)
			r.step(0, "acquire")
			r.step(0, "write")
			tc.expire(r)
			if done := r.step(1, "acquire"); done.Type != history.OK {
				t.Fatalf("process 1's acquire after process 0's expiry: %s %q", done.Type, done.Error)
			}
			r.step(1, "write")
			var dones []history.Op
			for _, f := range tc.then {
				dones = append(dones, r.step(0, f))
			}
			last := dones[len(dones)-1]
			want(t, last, history.Fail, string(last.Value), "no-node") // process 0's node went with its session
			if tc.kind == Fenced && dones[0].Error != "fenced" {
				t.Errorf("the deposed fenced write → %s %q, want fail fenced", dones[0].Type, dones[0].Error)
			}
			r.step(1, "write")
			r.step(1, "release")
			if err := r.w.FinalReads(context.Background(), r.rec); err != nil {
				t.Fatal(err)
			}
			ops := r.rec.ops(t)
			res := r.w.opts.Checkers()[0].Check(context.Background(), ops, checker.Options{})
			if res.Valid != tc.valid || res.Error != "" {
				t.Errorf("verdict %v (error %q), want %v; anomalies %+v", res.Valid, res.Error, tc.valid, res.Anomalies)
			}
			for _, k := range []string{"split-brain", "fencing-violation", "stale-write", "mutex-violation", "leaked-lock"} {
				if res.AnomalyCounts[k] != tc.counts[k] {
					t.Errorf("%s: %d, want %d", k, res.AnomalyCounts[k], tc.counts[k])
				}
			}
			d := res.Details.(*checker.LockDetails)
			if d.Acquires != 2 || d.ByClient[string(tc.kind)] != 2 || d.FinalRead == nil {
				t.Errorf("details: %d acquires, by client %v, final read %+v", d.Acquires, d.ByClient, d.FinalRead)
			}
			if tc.kind == Fenced && (d.FencedOverlaps != 1 || d.Fenced != 1) {
				t.Errorf("fenced overlaps %d, fenced writes %d; want 1 and 1", d.FencedOverlaps, d.Fenced)
			}
			if t.Failed() {
				for _, op := range ops {
					t.Log(op)
				}
			}
		})
	}
}

// TestFinalReads: after its wait, one fresh process writes the barrier and
// lists every lock's nodes with their sessions, as the locks op.
func TestFinalReads(t *testing.T) {
	r := newTestRun(t, Options{Locks: 3, SessionTimeout: 6 * time.Second})
	if w := 6*time.Second + checker.LockLeakMargin + time.Second; newWorkload(r.w.opts, 1, r.d, nil).finalWait != w {
		t.Errorf("final wait %v, want %v", newWorkload(r.w.opts, 1, r.d, nil).finalWait, w)
	}
	left := r.z.connect(nil)
	node, err := left.Create(path.Join(locksRoot, "l2", lockPrefix), nil, 3, nil) // ephemeral, sequential
	if err != nil {
		t.Fatal(err)
	}
	r.z.mu.Lock()
	r.z.calls = nil
	r.z.mu.Unlock()
	if err := r.w.FinalReads(context.Background(), r.rec); err != nil {
		t.Fatal(err)
	}
	ops := r.rec.ops(t)
	if len(ops) != 2 {
		t.Fatalf("%d ops, want the locks op's invocation and completion: %v", len(ops), ops)
	}
	inv, done := ops[0], ops[1]
	if inv.F != "locks" || inv.Key != "" || string(inv.Value) != `{"session_timeout_ms":6000}` || inv.Process < 1000 {
		t.Errorf("invocation %v", inv)
	}
	w := fmt.Sprintf(`{"l1":[],"l2":[{"node":%q,"session":"0x%x"}],"l3":[]}`, node, left.SessionID())
	if done.Type != history.OK || string(done.Value) != w || done.Node != "ensemble" {
		t.Errorf("completion %v, want ok %s on ensemble", done, w)
	}
	r.z.mu.Lock()
	calls := strings.Join(r.z.calls, ", ")
	r.z.mu.Unlock()
	if !strings.HasPrefix(calls, "set "+locksRoot+", children "+locksRoot+"/l1") {
		t.Errorf("calls %s: want the barrier write first", calls)
	}
}

func TestOptions(t *testing.T) {
	o := DefaultOptions()
	if *o != (Options{Locks: 3, Client: Careful, WritesPerHold: 3, Hold: 200 * time.Millisecond, SessionTimeout: 6 * time.Second, OpTimeout: 10 * time.Second}) {
		t.Errorf("defaults %+v", *o)
	}
	shape := workloads.ClusterShape{ZooKeepers: 3}
	if err := o.Validate(shape); err != nil {
		t.Errorf("defaults: %v", err)
	}
	for _, tc := range []struct {
		change func(*Options)
		shape  workloads.ClusterShape
		flag   string
	}{
		{func(*Options) {}, workloads.ClusterShape{}, "--zk-nodes"},
		{func(o *Options) { o.Locks = 0 }, shape, "--locks 0"},
		{func(o *Options) { o.Client = "paranoid" }, shape, `--lock-client "paranoid"`},
		{func(o *Options) { o.WritesPerHold = 0 }, shape, "--writes-per-hold 0"},
		{func(o *Options) { o.Hold = 0 }, shape, "--hold 0s"},
		{func(o *Options) { o.SessionTimeout = 500 * time.Millisecond }, shape, "--lock-session-timeout 500ms"},
		{func(o *Options) { o.OpTimeout = time.Millisecond }, shape, "--op-timeout 1ms"},
	} {
		o := DefaultOptions()
		tc.change(o)
		err := o.Validate(tc.shape)
		if err == nil || !strings.Contains(err.Error(), tc.flag) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%+v: %v, want a one-line error naming %s", *o, err, tc.flag)
		}
	}
	cs := o.Checkers()
	if len(cs) != 1 || cs[0] != (checker.Lock{SessionTimeout: 6 * time.Second}) {
		t.Errorf("checkers %+v", cs)
	}
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	back := &Options{}
	if err := json.Unmarshal(b, back); err != nil || *back != *o {
		t.Errorf("options %s came back as %+v (%v)", b, *back, err)
	}
	if Definition.KafkaNodes != 0 || len(Definition.Roles) != 1 || o.UsesKafkaTopic() {
		t.Errorf("definition: %d brokers, roles %v", Definition.KafkaNodes, Definition.Roles)
	}
}
