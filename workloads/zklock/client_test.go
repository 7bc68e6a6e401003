package zklock

import (
	"context"
	"fmt"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/nemesis"
	"github.com/go-zookeeper/zk"
)

const (
	node0 = "/faultline/locks/l1/lock-0000000000"
	node1 = "/faultline/locks/l1/lock-0000000001"
	node2 = "/faultline/locks/l1/lock-0000000002"
)

// start hands process p its next op, which must be f, and records it in
// the background (an acquire that waits); the completion comes on the
// channel.
func (r *testRun) start(p history.Process, f string) <-chan history.Op {
	r.t.Helper()
	op := r.nextOp(p)
	if op.F != f {
		r.t.Fatalf("process %d's next op is %s, want %s", p, op.F, f)
	}
	c := r.proc(p).c
	ch := make(chan history.Op, 1)
	go func() {
		done, _ := r.rec.Record(context.Background(), p, c, op)
		ch <- done
	}()
	return ch
}

// waitOp waits up to a second for a background op's completion.
func waitOp(t *testing.T, ch <-chan history.Op) history.Op {
	t.Helper()
	select {
	case done := <-ch:
		return done
	case <-time.After(time.Second):
		t.Fatal("the op did not complete within a second")
		return history.Op{}
	}
}

// notYet checks that a background op has not completed.
func notYet(t *testing.T, ch <-chan history.Op, what string) {
	t.Helper()
	select {
	case done := <-ch:
		t.Fatalf("%s completed: %s %s %q", what, done.Type, done.Value, done.Error)
	case <-time.After(20 * time.Millisecond):
	}
}

func (r *testRun) czxid(p string) int64 {
	r.t.Helper()
	n, ok := r.z.node(p)
	if !ok {
		r.t.Fatalf("no znode %s", p)
	}
	return n.stat.Czxid
}

func heldJSON(token int64, node string, session int64) string {
	return fmt.Sprintf(`{"token":%d,"node":%q,"session":"0x%x"}`, token, node, session)
}

// TestRecipe: the lowest node holds the lock; each waiter watches the
// node just below its own, not the holder's; a release deletes the node
// and hands the lock to the next, whose token is higher.
func TestRecipe(t *testing.T) {
	r := newTestRun(t, Options{Locks: 1, WritesPerHold: 1, Hold: time.Millisecond})
	a := r.step(0, "acquire")
	tok0 := r.czxid(node0)
	want(t, a, history.OK, heldJSON(tok0, node0, r.d.session(0).id), "")

	r.proc(1)
	r.proc(2)
	ch1 := r.start(1, "acquire")
	eventually(t, "process 1 watches the holder's node", func() bool { return r.z.watched(node0) })
	ch2 := r.start(2, "acquire")
	eventually(t, "process 2 watches process 1's node", func() bool { return r.z.watched(node1) })
	r.z.mu.Lock()
	calls := strings.Join(r.z.calls, "\n")
	r.z.mu.Unlock()
	if n := strings.Count(calls, "existsw "+node0); n != 1 {
		t.Errorf("%d exists watches on the holder's node, want 1 (process 2 watches its predecessor only):\n%s", n, calls)
	}
	notYet(t, ch1, "process 1's acquire")

	w := r.step(0, "write")
	res, _ := r.z.node(path.Join(resourcesRoot, "l1"))
	want(t, w, history.OK, fmt.Sprintf(`{"token":%d,"value":1,"zxid":%d}`, tok0, res.stat.Mzxid), "")
	want(t, r.step(0, "release"), history.OK, fmt.Sprintf(`{"token":%d}`, tok0), "")
	if _, ok := r.z.node(node0); ok {
		t.Error("the release left the lock node")
	}
	a1 := waitOp(t, ch1)
	tok1 := r.czxid(node1)
	want(t, a1, history.OK, heldJSON(tok1, node1, r.d.session(1).id), "")
	if tok1 <= tok0 {
		t.Errorf("tokens %d then %d: not rising", tok0, tok1)
	}
	notYet(t, ch2, "process 2's acquire")
	r.step(1, "write")
	r.step(1, "release")
	want(t, waitOp(t, ch2), history.OK, heldJSON(r.czxid(node2), node2, r.d.session(2).id), "")

	// The invocations name the client and the session.
	ops := r.rec.ops(t)
	if got, w := string(ops[0].Value), fmt.Sprintf(`{"client":"careful","session":"0x%x"}`, r.d.session(0).id); got != w {
		t.Errorf("acquire invocation %s, want %s", got, w)
	}
}

// TestResourceWrites: naive and careful clients set the resource
// unconditionally; a fenced client refuses to write over a newer token,
// writes over its own or an older one conditioned on the version it read,
// and reads again when another write came between.
func TestResourceWrites(t *testing.T) {
	res := path.Join(resourcesRoot, "l1")
	for _, kind := range []ClientKind{Naive, Careful, Fenced} {
		t.Run(string(kind), func(t *testing.T) {
			r := newTestRun(t, Options{Locks: 1, Client: kind, WritesPerHold: 3, Hold: time.Millisecond})
			r.step(0, "acquire")
			tok := r.czxid(node0)
			// A newer token's write landed meanwhile.
			newer := fmt.Sprintf(`{"token":%d,"value":99}`, tok+100)
			if _, err := r.z.connect(nil).Set(res, []byte(newer), -1); err != nil {
				t.Fatal(err)
			}
			done := r.step(0, "write")
			n, _ := r.z.node(res)
			if kind == Fenced {
				want(t, done, history.Fail, fmt.Sprintf(`{"token":%d,"value":1}`, tok), "fenced")
				if string(n.data) != newer {
					t.Errorf("the resource holds %s, want %s", n.data, newer)
				}
				// Refused: release at once.
				want(t, r.step(0, "release"), history.OK, fmt.Sprintf(`{"token":%d}`, tok), "")
				return
			}
			want(t, done, history.OK, fmt.Sprintf(`{"token":%d,"value":1,"zxid":%d}`, tok, n.stat.Mzxid), "")
			if w := fmt.Sprintf(`{"token":%d,"value":1}`, tok); string(n.data) != w {
				t.Errorf("the resource holds %s, want %s", n.data, w)
			}
		})
	}
	t.Run("fenced over an older token, after a bad version", func(t *testing.T) {
		r := newTestRun(t, Options{Locks: 1, Client: Fenced, WritesPerHold: 3, Hold: time.Millisecond})
		r.step(0, "acquire")
		tok := r.czxid(node0)
		r.z.mu.Lock()
		r.z.failNext["set "+res] = zk.ErrBadVersion
		r.z.calls = nil
		r.z.mu.Unlock()
		done := r.step(0, "write")
		n, _ := r.z.node(res)
		want(t, done, history.OK, fmt.Sprintf(`{"token":%d,"value":1,"zxid":%d}`, tok, n.stat.Mzxid), "")
		r.z.mu.Lock()
		calls := strings.Join(r.z.calls, ", ")
		r.z.mu.Unlock()
		if w := strings.Repeat("get "+res+", set "+res+", ", 2); calls+", " != w {
			t.Errorf("calls %s, want %s", calls, w)
		}
	})
}

// TestCarefulLosesOnDisconnect: a careful client's next op after its
// session is disconnected is lose, at once (the pause is cut short); then,
// once the session is back, the release of its node. After an expiry the
// lose says so and the release finds no node. A naive client ignores it.
func TestCarefulLosesOnDisconnect(t *testing.T) {
	for _, tc := range []struct {
		kind    ClientKind
		expire  bool
		release history.Type
		errText string
	}{
		{Careful, false, history.OK, ""},
		{Careful, true, history.Fail, "no-node"},
	} {
		t.Run(fmt.Sprintf("%s expire=%v", tc.kind, tc.expire), func(t *testing.T) {
			r := newTestRun(t, Options{Locks: 1, Client: tc.kind, WritesPerHold: 3, Hold: time.Minute})
			r.step(0, "acquire")
			tok := r.czxid(node0)
			r.step(0, "write")
			s := r.d.session(0)
			if tc.expire {
				s.expire(true) // disconnected, expired, a new session: before the next op
			} else {
				go func() {
					time.Sleep(20 * time.Millisecond) // while Next waits out the minute's pause
					s.disconnect()
				}()
			}
			why := map[bool]string{false: "disconnected", true: "expired"}[tc.expire]
			v := fmt.Sprintf(`{"token":%d,"why":%q}`, tok, why)
			want(t, r.step(0, "lose"), history.OK, v, "")
			if !tc.expire {
				// The release waits for the session to come back.
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
				defer cancel()
				if op, err := r.w.Next(ctx, 0); err == nil {
					t.Fatalf("next op %s %s while disconnected, want none", op.F, op.Value)
				}
				s.reconnect()
			}
			want(t, r.step(0, "release"), tc.release, fmt.Sprintf(`{"token":%d}`, tok), tc.errText)
			if got := r.lockNodes("l1"); got != "" {
				t.Errorf("lock nodes left: %s", got)
			}
			ops := r.rec.ops(t)
			var lose []history.Op
			for _, op := range ops {
				if op.F == "lose" {
					lose = append(lose, op)
				}
			}
			if len(lose) != 2 || lose[0].Type != history.Invoke || lose[1].Type != history.OK || lose[1].Index != lose[0].Index+1 {
				t.Errorf("lose ops %+v, want an invocation and its ok completion, one after the other", lose)
			}
		})
	}
	t.Run("naive", func(t *testing.T) {
		r := newTestRun(t, Options{Locks: 1, Client: Naive, WritesPerHold: 3, Hold: time.Millisecond})
		r.step(0, "acquire")
		r.step(0, "write")
		r.d.session(0).disconnect()
		if op := r.nextOp(0); op.F != "write" {
			t.Errorf("a naive client's next op after a disconnect is %s, want write", op.F)
		}
	})
}

// TestSessionEvents: only session events move a client; a watch's
// EventNotWatching (go-zookeeper sends it on the session's channel too,
// with state Disconnected) does not. A careful client granted the lock
// after a disconnect it had not seen when it listed the nodes loses it at
// once.
func TestSessionEvents(t *testing.T) {
	c := newClient(Careful, *DefaultOptions(), context.Background())
	c.hold = &hold{lock: "l1", token: 7, believed: true}
	c.sessionEvent(zk.Event{Type: zk.EventNotWatching, State: zk.StateDisconnected, Err: zk.ErrSessionExpired})
	if c.hold.lost != "" || c.drops != 0 {
		t.Errorf("a watch's event moved the client: lost %q, drops %d", c.hold.lost, c.drops)
	}
	c.sessionEvent(zk.Event{Type: zk.EventSession, State: zk.StateConnecting})
	if c.hold.lost != "" {
		t.Errorf("connecting lost the lock: %q", c.hold.lost)
	}
	c.sessionEvent(zk.Event{Type: zk.EventSession, State: zk.StateDisconnected})
	if c.hold.lost != whyDisconnected || c.hasSession {
		t.Errorf("after a disconnect: lost %q, has session %v", c.hold.lost, c.hasSession)
	}

	g := &client{kind: Careful, drops: 2, dropWhy: whyExpired}
	g.grant(&hold{believed: true}, 1)
	if g.hold.lost != whyExpired {
		t.Errorf("granted after an expiry it had not seen: lost %q, want expired", g.hold.lost)
	}
	n := &client{kind: Naive, drops: 2, dropWhy: whyExpired}
	n.grant(&hold{believed: true}, 1)
	if n.hold.lost != "" {
		t.Errorf("a naive client lost a lock: %q", n.hold.lost)
	}
}

// TestAcquireGivesUp: an acquire still waiting at the op timeout, or when
// the workload stops, deletes its node and fails; one whose session
// expired while it waited fails; one invoked after the stop sends nothing.
func TestAcquireGivesUp(t *testing.T) {
	t.Run("timeout", func(t *testing.T) {
		r := newTestRun(t, Options{Locks: 1, OpTimeout: 50 * time.Millisecond})
		r.step(0, "acquire")
		want(t, r.step(1, "acquire"), history.Fail, fmt.Sprintf(`{"client":"careful","session":"0x%x"}`, r.d.session(1).id), "timeout")
		if got := r.lockNodes("l1"); got != "lock-0000000000" {
			t.Errorf("lock nodes %s, want the holder's alone", got)
		}
	})
	t.Run("stopped", func(t *testing.T) {
		r := newTestRun(t, Options{Locks: 1})
		r.step(0, "acquire")
		r.proc(1)
		ch := r.start(1, "acquire")
		eventually(t, "process 1 waits", func() bool { return r.z.watched(node0) })
		// The workload stops: the runner closes the holder's session,
		// which deletes its node. The waiter must not take the lock.
		r.proc(1).stop()
		r.proc(0).stop()
		r.proc(0).c.Close()
		done := waitOp(t, ch)
		if done.Type != history.Fail || done.Error != "stopped" {
			t.Errorf("waiting acquire → %s %q, want fail stopped", done.Type, done.Error)
		}
		eventually(t, "the waiter's node is deleted", func() bool { return r.lockNodes("l1") == "" })
		r.z.mu.Lock()
		r.z.calls = nil
		r.z.mu.Unlock()
		op := history.Op{Type: history.Invoke, F: "acquire", Key: "l1", Value: []byte(`{"client":"careful"}`)}
		done, _ = r.rec.Record(context.Background(), 1, r.proc(1).c, op)
		if done.Type != history.Fail || done.Error != "stopped" || len(r.z.calls) != 0 {
			t.Errorf("acquire after the stop → %s %q with calls %q, want fail stopped and none", done.Type, done.Error, r.z.calls)
		}
	})
	t.Run("session expired", func(t *testing.T) {
		r := newTestRun(t, Options{Locks: 1})
		r.step(0, "acquire")
		r.proc(1)
		ch := r.start(1, "acquire")
		eventually(t, "process 1 waits", func() bool { return r.z.watched(node0) })
		s := r.d.session(1)
		id := s.SessionID()
		s.expire(true)
		want(t, waitOp(t, ch), history.Fail, fmt.Sprintf(`{"client":"careful","session":"0x%x"}`, id), "session-expired")
	})
}

func TestPredecessor(t *testing.T) {
	children := []string{"lock-0000000012", "lock-0000000003", "lock-0000000010", "lock-0000000007"}
	for _, tc := range []struct {
		mine, pred string
		found      bool
	}{
		{"lock-0000000003", "", true},
		{"lock-0000000010", "lock-0000000007", true},
		{"lock-0000000012", "lock-0000000010", true},
		{"lock-0000000011", "lock-0000000010", false},
	} {
		if pred, found := predecessor(children, tc.mine); pred != tc.pred || found != tc.found {
			t.Errorf("predecessor of %s: %q %v, want %q %v", tc.mine, pred, found, tc.pred, tc.found)
		}
	}
}

// TestNaiveAndFencedIgnoreDisconnect: naive and fenced clients keep
// believing through a disconnected session: their next op is the write
// their hold has left, not lose (a fenced client leaves the resource's
// safety to its fencing alone).
func TestNaiveAndFencedIgnoreDisconnect(t *testing.T) {
	for _, kind := range []ClientKind{Naive, Fenced} {
		t.Run(string(kind), func(t *testing.T) {
			r := newTestRun(t, Options{Locks: 1, Client: kind, WritesPerHold: 3, Hold: 20 * time.Millisecond})
			r.step(0, "acquire")
			r.step(0, "write")
			s := r.d.session(0)
			s.disconnect()
			s.reconnect()
			r.step(0, "write")
		})
	}
}

// TestLockHolderCondition: a process is a lock holder for a scripted
// schedule once it has written under its lock and is early in its pause;
// not before it holds, not just granted, not once it gave the lock up.
func TestLockHolderCondition(t *testing.T) {
	r := newTestRun(t, Options{Locks: 1, Client: Careful, WritesPerHold: 3, Hold: time.Minute})
	holds := func() (bool, string) {
		t.Helper()
		ok, seen, err := r.w.Condition(nemesis.IsLockHolder, "")
		if err != nil {
			t.Fatal(err)
		}
		return ok, seen
	}
	if ok, seen := holds(); ok || seen != "no process runs on " {
		t.Errorf("before any client: %v %q", ok, seen)
	}
	r.step(0, "acquire")
	if ok, seen := holds(); ok || !strings.Contains(seen, "process 0 has just been granted l1") {
		t.Errorf("just granted: %v %q", ok, seen)
	}
	r.step(0, "write")
	if ok, seen := holds(); !ok || !strings.Contains(seen, "process 0 on  holds l1 (token ") {
		t.Errorf("after a write: %v %q", ok, seen)
	}
	r.d.session(0).disconnect()
	eventually(t, "the careful client gives up", func() bool { ok, _ := holds(); return !ok })
	if _, _, err := r.w.Condition("leader", ""); err == nil {
		t.Error("zk-lock answered a condition it does not know")
	}
	// With one write left, a cut could not fall between two writes.
	r2 := newTestRun(t, Options{Locks: 1, Client: Naive, WritesPerHold: 2, Hold: time.Minute})
	r2.step(0, "acquire")
	r2.step(0, "write")
	if ok, seen, _ := r2.w.Condition(nemesis.IsLockHolder, ""); ok || !strings.Contains(seen, "holds l1 with 1 of its 2 writes made") {
		t.Errorf("one write left: %v %q", ok, seen)
	}
	// Host by host: a process on another host is not asked.
	r.w.hostOf = func(history.Process) string { return "c2" }
	if ok, seen := holds(); ok || seen != "no process runs on " {
		t.Errorf("other host: %v %q", ok, seen)
	}
}
