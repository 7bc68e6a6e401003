package zklock

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/workloads"
	"github.com/go-zookeeper/zk"
)

// fakeZK is an in-memory ZooKeeper of one server for the workload's
// sessions: znodes with zxids and versions, sequential and ephemeral
// nodes, exists watches, and sessions a test can disconnect, reconnect
// and expire, each telling its client through the client's event
// callback, as go-zookeeper does.
type fakeZK struct {
	mu          sync.Mutex
	zxid        int64
	nodes       map[string]*fakeNode
	seq         map[string]int // the next sequence number under each parent
	nextSession int64
	watches     map[string][]fakeWatch // exists watches, by path
	failNext    map[string]error       // "<method> <path>": fail that call once
	calls       []string               // "<method> <path>", in order
}

type fakeNode struct {
	data []byte
	stat zk.Stat
}

type fakeWatch struct {
	s  *fakeSession
	ch chan zk.Event
}

func newFakeZK() *fakeZK {
	return &fakeZK{zxid: 1 << 32, nodes: map[string]*fakeNode{"/": {}}, seq: map[string]int{},
		nextSession: 0x100, watches: map[string][]fakeWatch{}, failNext: map[string]error{}}
}

// fakeSession is one client's session on the fake: a zkConn.
type fakeSession struct {
	z       *fakeZK
	onEvent func(zk.Event)
	id      int64 // the session's id; a new one after an expiry, as go-zookeeper makes
	down    bool  // disconnected: calls are never sent (no-server)
}

// connect opens a session, which tells its client it has one.
func (z *fakeZK) connect(onEvent func(zk.Event)) *fakeSession {
	z.mu.Lock()
	s := &fakeSession{z: z, onEvent: onEvent, id: z.nextSession}
	z.nextSession++
	z.mu.Unlock()
	s.event(zk.StateHasSession)
	return s
}

func (s *fakeSession) event(states ...zk.State) {
	for _, st := range states {
		if s.onEvent != nil {
			s.onEvent(zk.Event{Type: zk.EventSession, State: st})
		}
	}
}

// disconnect cuts the session off: its client hears Disconnected, and its
// calls fail unsent until reconnect.
func (s *fakeSession) disconnect() {
	s.z.mu.Lock()
	s.down = true
	s.z.mu.Unlock()
	s.event(zk.StateDisconnected)
}

func (s *fakeSession) reconnect() {
	s.z.mu.Lock()
	s.down = false
	s.z.mu.Unlock()
	s.event(zk.StateHasSession)
}

// expire ends the session in ZooKeeper: its ephemeral nodes go, its
// watches end, and the client's next connection gets a new session.
// With notify, the client hears it as go-zookeeper tells it (Disconnected
// unless it was already, Expired, then HasSession for the new session);
// without, the client has not noticed yet (a paused client, say).
func (s *fakeSession) expire(notify bool) {
	z := s.z
	z.mu.Lock()
	fire := z.endSession(s)
	wasDown := s.down
	s.id, s.down = z.nextSession, false
	z.nextSession++
	z.mu.Unlock()
	fire()
	if !notify {
		return
	}
	if !wasDown {
		s.event(zk.StateDisconnected)
	}
	s.event(zk.StateExpired, zk.StateHasSession)
}

// endSession deletes s's ephemeral nodes and drops its watches; the
// returned func sends the watch events (call it without the lock).
func (z *fakeZK) endSession(s *fakeSession) (fire func()) {
	var fires []func()
	for p, n := range z.nodes {
		if n.stat.EphemeralOwner == s.id {
			fires = append(fires, z.remove(p))
		}
	}
	for p, ws := range z.watches {
		for _, w := range ws {
			if w.s == s {
				fires = append(fires, func() {
					w.ch <- zk.Event{Type: zk.EventNotWatching, State: zk.StateDisconnected, Path: p, Err: zk.ErrSessionExpired}
				})
			}
		}
		z.watches[p] = slices.DeleteFunc(ws, func(w fakeWatch) bool { return w.s == s })
	}
	return func() {
		for _, f := range fires {
			f()
		}
	}
}

// remove deletes node p; the returned func fires its watches.
func (z *fakeZK) remove(p string) (fire func()) {
	delete(z.nodes, p)
	ws := z.watches[p]
	delete(z.watches, p)
	return func() {
		for _, w := range ws {
			w.ch <- zk.Event{Type: zk.EventNodeDeleted, Path: p}
		}
	}
}

// called logs a call and returns the error it must fail with, if any.
func (s *fakeSession) called(method, p string) error {
	z := s.z
	z.calls = append(z.calls, method+" "+p)
	if s.down {
		return zk.ErrNoServer
	}
	if err, ok := z.failNext[method+" "+p]; ok {
		delete(z.failNext, method+" "+p)
		return err
	}
	return nil
}

func (s *fakeSession) Create(p string, data []byte, flags int32, _ []zk.ACL) (string, error) {
	z := s.z
	z.mu.Lock()
	defer z.mu.Unlock()
	if err := s.called("create", p); err != nil {
		return "", err
	}
	parent := path.Dir(p)
	if _, ok := z.nodes[parent]; !ok {
		return "", zk.ErrNoNode
	}
	if flags&zk.FlagSequence != 0 {
		p += fmt.Sprintf("%010d", z.seq[parent])
		z.seq[parent]++
	}
	if _, ok := z.nodes[p]; ok {
		return "", zk.ErrNodeExists
	}
	z.zxid++
	n := &fakeNode{data: data, stat: zk.Stat{Czxid: z.zxid, Mzxid: z.zxid}}
	if flags&zk.FlagEphemeral != 0 {
		n.stat.EphemeralOwner = s.id
	}
	z.nodes[p] = n
	return p, nil
}

func (s *fakeSession) Exists(p string) (bool, *zk.Stat, error) {
	z := s.z
	z.mu.Lock()
	defer z.mu.Unlock()
	if err := s.called("exists", p); err != nil {
		return false, nil, err
	}
	n, ok := z.nodes[p]
	if !ok {
		return false, &zk.Stat{}, nil
	}
	st := n.stat
	return true, &st, nil
}

func (s *fakeSession) ExistsW(p string) (bool, *zk.Stat, <-chan zk.Event, error) {
	z := s.z
	z.mu.Lock()
	defer z.mu.Unlock()
	if err := s.called("existsw", p); err != nil {
		return false, nil, nil, err
	}
	ch := make(chan zk.Event, 1)
	n, ok := z.nodes[p]
	if !ok {
		return false, &zk.Stat{}, ch, nil // a creation watch: the recipe never waits on one
	}
	z.watches[p] = append(z.watches[p], fakeWatch{s, ch})
	st := n.stat
	return true, &st, ch, nil
}

func (s *fakeSession) Children(p string) ([]string, *zk.Stat, error) {
	z := s.z
	z.mu.Lock()
	defer z.mu.Unlock()
	if err := s.called("children", p); err != nil {
		return nil, nil, err
	}
	if _, ok := z.nodes[p]; !ok {
		return nil, nil, zk.ErrNoNode
	}
	var names []string
	for q := range z.nodes { // map order: the recipe must sort
		if q != "/" && path.Dir(q) == p {
			names = append(names, path.Base(q))
		}
	}
	return names, &zk.Stat{}, nil
}

func (s *fakeSession) Get(p string) ([]byte, *zk.Stat, error) {
	z := s.z
	z.mu.Lock()
	defer z.mu.Unlock()
	if err := s.called("get", p); err != nil {
		return nil, nil, err
	}
	n, ok := z.nodes[p]
	if !ok {
		return nil, nil, zk.ErrNoNode
	}
	st := n.stat
	return n.data, &st, nil
}

func (s *fakeSession) Set(p string, data []byte, version int32) (*zk.Stat, error) {
	z := s.z
	z.mu.Lock()
	defer z.mu.Unlock()
	if err := s.called("set", p); err != nil {
		return nil, err
	}
	n, ok := z.nodes[p]
	switch {
	case !ok:
		return nil, zk.ErrNoNode
	case version >= 0 && version != n.stat.Version:
		return nil, zk.ErrBadVersion
	}
	z.zxid++
	n.data = data
	n.stat.Version++
	n.stat.Mzxid = z.zxid
	st := n.stat
	return &st, nil
}

func (s *fakeSession) Delete(p string, version int32) error {
	z := s.z
	z.mu.Lock()
	if err := s.called("delete", p); err != nil {
		z.mu.Unlock()
		return err
	}
	n, ok := z.nodes[p]
	switch {
	case !ok:
		z.mu.Unlock()
		return zk.ErrNoNode
	case version >= 0 && version != n.stat.Version:
		z.mu.Unlock()
		return zk.ErrBadVersion
	}
	z.zxid++
	fire := z.remove(p)
	z.mu.Unlock()
	fire()
	return nil
}

func (s *fakeSession) SessionID() int64 {
	s.z.mu.Lock()
	defer s.z.mu.Unlock()
	return s.id
}

// Close ends the session, as a client's close does.
func (s *fakeSession) Close() {
	s.z.mu.Lock()
	fire := s.z.endSession(s)
	s.z.mu.Unlock()
	fire()
}

// node returns a copy of znode p, and whether it exists.
func (z *fakeZK) node(p string) (fakeNode, bool) {
	z.mu.Lock()
	defer z.mu.Unlock()
	n, ok := z.nodes[p]
	if !ok {
		return fakeNode{}, false
	}
	return *n, true
}

// children lists p's children, sorted.
func (z *fakeZK) children(p string) []string {
	z.mu.Lock()
	defer z.mu.Unlock()
	var names []string
	for q := range z.nodes {
		if q != "/" && path.Dir(q) == p {
			names = append(names, path.Base(q))
		}
	}
	slices.Sort(names)
	return names
}

// watched reports whether some session watches p.
func (z *fakeZK) watched(p string) bool {
	z.mu.Lock()
	defer z.mu.Unlock()
	return len(z.watches[p]) > 0
}

// fakeDialer gives the workload sessions on a fakeZK and remembers each
// process's.
type fakeDialer struct {
	z        *fakeZK
	mu       sync.Mutex
	sessions map[history.Process]*fakeSession
}

func (d *fakeDialer) worker(p history.Process, onEvent func(zk.Event)) (zkConn, string, error) {
	s := d.z.connect(onEvent)
	d.mu.Lock()
	d.sessions[p] = s
	d.mu.Unlock()
	return s, "zk1", nil
}

func (d *fakeDialer) ensemble() (zkConn, error) { return d.z.connect(nil), nil }

func (d *fakeDialer) session(p history.Process) *fakeSession {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sessions[p]
}

// testRecorder records a history as the runner's interpreter does, through
// a real history.Writer (so every op must encode), and reads it back.
type testRecorder struct {
	w    *Workload
	buf  bytes.Buffer
	hist *history.Writer
	mu   sync.Mutex
	next history.Process
}

func newTestRecorder(w *Workload) *testRecorder {
	r := &testRecorder{w: w, next: 1000}
	r.hist = history.NewWriter(&r.buf, history.ClockSince(time.Now()))
	return r
}

func (r *testRecorder) NewProcess() history.Process {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next++
	return r.next
}

func (r *testRecorder) Record(ctx context.Context, p history.Process, c workloads.Client, op history.Op) (history.Op, error) {
	op.Process, op.Type = p, history.Invoke
	inv, err := r.hist.Append(op)
	if err != nil {
		return op, err
	}
	done := c.Invoke(ctx, inv)
	done.Process, done.F, done.Key = p, inv.F, inv.Key
	if done, err = r.hist.Append(done); err != nil {
		return done, err
	}
	r.w.Completed(done)
	return done, nil
}

// ops reads the history back.
func (r *testRecorder) ops(t *testing.T) []history.Op {
	t.Helper()
	ops, err := history.Read(bytes.NewReader(r.buf.Bytes()))
	if err != nil {
		t.Fatalf("the history does not read back: %v\n%s", err, r.buf.String())
	}
	return ops
}

// testRun is a workload on a fakeZK, with a recorder and its workers.
type testRun struct {
	t     *testing.T
	z     *fakeZK
	d     *fakeDialer
	w     *Workload
	rec   *testRecorder
	procs map[history.Process]*testProc
}

// testProc is a worker: its client, and its stop (the runner's time
// limit, as the worker's context).
type testProc struct {
	c    workloads.Client
	stop context.CancelFunc
	ctx  context.Context
}

func newTestRun(t *testing.T, o Options) *testRun {
	t.Helper()
	o.Defaults()
	if err := o.Validate(workloads.ClusterShape{ZooKeepers: 1}); err != nil {
		t.Fatal(err)
	}
	z := newFakeZK()
	d := &fakeDialer{z: z, sessions: map[history.Process]*fakeSession{}}
	w := newWorkload(o, 1, d, nil)
	w.finalWait = 0
	r := &testRun{t: t, z: z, d: d, w: w, rec: newTestRecorder(w), procs: map[history.Process]*testProc{}}
	if err := w.Setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, p := range r.procs {
			p.stop()
		}
		_ = w.Close()
	})
	return r
}

// proc returns process p's worker, opening its client on first use.
func (r *testRun) proc(p history.Process) *testProc {
	r.t.Helper()
	if tp, ok := r.procs[p]; ok {
		return tp
	}
	ctx, stop := context.WithCancel(context.Background())
	c, err := r.w.Client(ctx, p)
	if err != nil {
		r.t.Fatal(err)
	}
	tp := &testProc{c: c, stop: stop, ctx: ctx}
	r.procs[p] = tp
	return tp
}

// nextOp is process p's next op, which must come within a second.
func (r *testRun) nextOp(p history.Process) history.Op {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(r.proc(p).ctx, time.Second)
	defer cancel()
	op, err := r.w.Next(ctx, p)
	if err != nil {
		r.t.Fatalf("process %d has no next op: %v", p, err)
	}
	return op
}

// step makes process p's next op, which must be f, and records it.
func (r *testRun) step(p history.Process, f string) history.Op {
	r.t.Helper()
	op := r.nextOp(p)
	if op.F != f {
		r.t.Fatalf("process %d's next op is %s %s, want %s", p, op.F, op.Value, f)
	}
	done, err := r.rec.Record(context.Background(), p, r.proc(p).c, op)
	if err != nil {
		r.t.Fatal(err)
	}
	return done
}

// want checks an op's outcome, value and error.
func want(t *testing.T, done history.Op, typ history.Type, value, errText string) {
	t.Helper()
	if done.Type != typ || string(done.Value) != value || done.Error != errText {
		t.Errorf("%s → %s %s %q, want %s %s %q", done.F, done.Type, done.Value, done.Error, typ, value, errText)
	}
}

// eventually waits up to a second for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within a second", what)
		}
	}
}

// lockNodes lists lock l's nodes on the fake, joined.
func (r *testRun) lockNodes(l string) string {
	return strings.Join(r.z.children(path.Join(locksRoot, l)), ",")
}
