package zkregister

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/history"
	"github.com/go-zookeeper/zk"
)

func TestCompleteWithError(t *testing.T) {
	inv := history.Op{Process: 3, Type: history.Invoke, F: "cas", Key: "r1", Value: []byte(`{"expected_version":2,"value":9}`)}
	cases := []struct {
		err  error
		typ  history.Type
		text string
	}{
		{zk.ErrBadVersion, history.Fail, "bad-version"},
		{fmt.Errorf("wrapped: %w", zk.ErrNoNode), history.Fail, "no-node"},
		{context.DeadlineExceeded, history.Info, "timeout"},
		{zk.ErrConnectionClosed, history.Info, zk.ErrConnectionClosed.Error()},
		{zk.ErrNoServer, history.Fail, "no-server"},
		{zk.ErrSessionExpired, history.Info, zk.ErrSessionExpired.Error()},
		{errors.New("anything else"), history.Info, "anything else"},
	}
	for _, c := range cases {
		got := completeWithError(inv, c.err)
		if got.Type != c.typ || got.Error != c.text || got.Value != nil {
			t.Errorf("%v → %s %q %s; want %s %q and no value", c.err, got.Type, got.Error, got.Value, c.typ, c.text)
		}
	}
}

func TestDataCodec(t *testing.T) {
	for _, v := range []int64{0, 1, -7, 1 << 40} {
		got, err := decodeData(encodeData(v))
		if err != nil || got != v {
			t.Errorf("%d → %d, %v", v, got, err)
		}
	}
	if _, err := decodeData([]byte("Hello, app1")); err == nil {
		t.Error("a znode that holds no number decoded")
	}
}

// fakeConn is an in-memory ZooKeeper session: every change gets the next
// zxid. failNext, keyed by "<method> <path>", makes a call fail once.
type fakeConn struct {
	zxid     int64
	nodes    map[string]*fakeNode
	calls    []string // "<method> <path>", in order
	failNext map[string]error
}

type fakeNode struct {
	data      []byte
	stat      zk.Stat
	ephemeral bool
}

func newFakeConn() *fakeConn {
	f := &fakeConn{zxid: 1 << 32, nodes: map[string]*fakeNode{}, failNext: map[string]error{}}
	for _, p := range []string{"/faultline", root} {
		f.nodes[p] = &fakeNode{}
	}
	return f
}

func (f *fakeConn) called(method, p string) error {
	f.calls = append(f.calls, method+" "+p)
	if err, ok := f.failNext[method+" "+p]; ok {
		delete(f.failNext, method+" "+p)
		return err
	}
	return nil
}

func (f *fakeConn) Get(p string) ([]byte, *zk.Stat, error) {
	if err := f.called("get", p); err != nil {
		return nil, nil, err
	}
	n, ok := f.nodes[p]
	if !ok {
		return nil, nil, zk.ErrNoNode
	}
	st := n.stat
	return n.data, &st, nil
}

func (f *fakeConn) Set(p string, data []byte, version int32) (*zk.Stat, error) {
	if err := f.called("set", p); err != nil {
		return nil, err
	}
	n, ok := f.nodes[p]
	switch {
	case !ok:
		return nil, zk.ErrNoNode
	case version >= 0 && version != n.stat.Version:
		return nil, zk.ErrBadVersion
	}
	f.zxid++
	n.data = data
	n.stat.Version++
	n.stat.Mzxid = f.zxid
	st := n.stat
	return &st, nil
}

func (f *fakeConn) Create(p string, data []byte, flags int32, _ []zk.ACL) (string, error) {
	if err := f.called("create", p); err != nil {
		return "", err
	}
	if _, ok := f.nodes[path.Dir(p)]; !ok {
		return "", zk.ErrNoNode
	}
	if _, ok := f.nodes[p]; ok {
		return "", zk.ErrNodeExists
	}
	f.zxid++
	f.nodes[p] = &fakeNode{data: data, stat: zk.Stat{Czxid: f.zxid, Mzxid: f.zxid}, ephemeral: flags&zk.FlagEphemeral != 0}
	return p, nil
}

func (f *fakeConn) Sync(p string) (string, error) { return p, f.called("sync", p) }

func (f *fakeConn) Close() {}

func invoke(c *client, f, key, value string) history.Op {
	op := history.Op{Process: 1, Type: history.Invoke, F: f, Key: key}
	if value != "" {
		op.Value = json.RawMessage(value)
	}
	return c.Invoke(context.Background(), op)
}

// TestClientRecordsZxid: every ok op carries the znode's Mzxid.
func TestClientRecordsZxid(t *testing.T) {
	f := newFakeConn()
	if _, err := f.Create(path.Join(root, "r1"), encodeData(0), 0, nil); err != nil {
		t.Fatal(err)
	}
	created := f.zxid
	c := &client{conn: f, node: "zk1", reads: ReadLocal, timeout: time.Second}
	for _, tc := range []struct {
		f, in, want string
	}{
		{"read", "", fmt.Sprintf(`{"value":0,"version":0,"zxid":%d}`, created)},
		{"write", `{"value":7}`, fmt.Sprintf(`{"value":7,"version":1,"zxid":%d}`, created+1)},
		{"cas", `{"expected_version":1,"value":8}`, fmt.Sprintf(`{"expected_version":1,"value":8,"version":2,"zxid":%d}`, created+2)},
		{"read", "", fmt.Sprintf(`{"value":8,"version":2,"zxid":%d}`, created+2)},
	} {
		done := invoke(c, tc.f, "r1", tc.in)
		if done.Type != history.OK || string(done.Value) != tc.want || done.Node != "zk1" {
			t.Errorf("%s %s → %s %s on %q, want ok %s", tc.f, tc.in, done.Type, done.Value, done.Node, tc.want)
		}
	}
	if done := invoke(c, "cas", "r1", `{"expected_version":1,"value":9}`); done.Type != history.Fail || done.Error != "bad-version" {
		t.Errorf("stale cas → %s %q", done.Type, done.Error)
	}
}

// TestClientReadModes: what each read mode sends before its get.
func TestClientReadModes(t *testing.T) {
	for _, tc := range []struct {
		mode ReadMode
		want []string
	}{
		{ReadLocal, []string{"get /faultline/registers/r1"}},
		{ReadSync, []string{"sync /faultline/registers/r1", "get /faultline/registers/r1"}},
		{ReadQuorum, []string{"create /faultline/barriers", "create B", "set B", "get /faultline/registers/r1",
			"set B", "get /faultline/registers/r1"}},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			f := newFakeConn()
			_, _ = f.Create(path.Join(root, "r1"), encodeData(0), 0, nil)
			f.calls = nil
			c := &client{conn: f, node: "zk1", reads: tc.mode, timeout: time.Second}
			n := 1
			if tc.mode == ReadQuorum {
				n = 2
			}
			for range n {
				if done := invoke(c, "read", "r1", ""); done.Type != history.OK {
					t.Fatalf("read → %s %q", done.Type, done.Error)
				}
			}
			got := strings.Join(f.calls, ", ")
			if c.barrier != "" {
				got = strings.ReplaceAll(got, c.barrier, "B")
			}
			if want := strings.Join(tc.want, ", "); got != want {
				t.Errorf("calls %s\nwant %s", got, want)
			}
			if tc.mode == ReadQuorum {
				b := f.nodes[c.barrier]
				if b == nil || !b.ephemeral || !strings.HasPrefix(c.barrier, barriers+"/") {
					t.Errorf("barrier %q is not an ephemeral znode under %s", c.barrier, barriers)
				}
			}
		})
	}
}

// TestQuorumReadBarrierFailures: a barrier that certainly failed makes the
// read fail; one whose outcome is unknown makes it info; either way the get
// is never sent, and the error says it was the barrier.
func TestQuorumReadBarrierFailures(t *testing.T) {
	gone := func(t *testing.T, f *fakeConn, c *client) {
		// Made by a first read, then gone: ZooKeeper ended the session.
		if done := invoke(c, "read", "r1", ""); done.Type != history.OK {
			t.Fatalf("first read → %s %q", done.Type, done.Error)
		}
		delete(f.nodes, c.barrier)
	}
	for _, tc := range []struct {
		name    string
		setup   func(*testing.T, *fakeConn, *client)
		fail    string // the call that fails once, B for the barrier
		err     error
		typ     history.Type
		text    string
		remakes bool // the next read makes the barrier again
	}{
		{"set never sent", nil, "set B", zk.ErrNoServer, history.Fail, "barrier: no-server", false},
		{"barrier gone", gone, "", nil, history.Fail, "barrier: no-node", true},
		{"set lost", nil, "set B", zk.ErrConnectionClosed, history.Info, "barrier: " + zk.ErrConnectionClosed.Error(), false},
		{"set timed out", nil, "set B", context.DeadlineExceeded, history.Info, "barrier: timeout", false},
		{"create lost", nil, "create B", zk.ErrConnectionClosed, history.Info, "barrier: " + zk.ErrConnectionClosed.Error(), true},
		{"parent never sent", nil, "create /faultline/barriers", zk.ErrNoServer, history.Fail, "barrier: no-server", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeConn()
			_, _ = f.Create(path.Join(root, "r1"), encodeData(0), 0, nil)
			c := &client{conn: f, node: "zk1", reads: ReadQuorum, timeout: time.Second, barrier: barriers + "/s-test"}
			if tc.setup != nil {
				tc.setup(t, f, c)
			}
			if tc.fail != "" {
				f.failNext[strings.ReplaceAll(tc.fail, "B", c.barrier)] = tc.err
			}
			f.calls = nil
			done := invoke(c, "read", "r1", "")
			if done.Type != tc.typ || done.Error != tc.text || done.Value != nil {
				t.Errorf("read → %s %q %s; want %s %q and no value", done.Type, done.Error, done.Value, tc.typ, tc.text)
			}
			for _, call := range f.calls {
				if strings.HasPrefix(call, "get ") {
					t.Errorf("the get was sent although the barrier failed: %v", f.calls)
				}
			}
			f.calls = nil
			if done := invoke(c, "read", "r1", ""); done.Type != history.OK {
				t.Fatalf("next read → %s %q", done.Type, done.Error)
			}
			remade := strings.Contains(strings.Join(f.calls, ","), "create "+c.barrier)
			if remade != tc.remakes {
				t.Errorf("next read made the barrier again: %v, want %v (%v)", remade, tc.remakes, f.calls)
			}
		})
	}
}

// TestQuorumReadBarrierExists: a barrier znode that already exists (an
// earlier create whose answer was lost did make it) is used as it is.
func TestQuorumReadBarrierExists(t *testing.T) {
	f := newFakeConn()
	_, _ = f.Create(path.Join(root, "r1"), encodeData(0), 0, nil)
	_, _ = f.Create(barriers, nil, 0, nil)
	_, _ = f.Create(barriers+"/s-test", nil, zk.FlagEphemeral, nil)
	c := &client{conn: f, node: "zk1", reads: ReadQuorum, timeout: time.Second, barrier: barriers + "/s-test"}
	if done := invoke(c, "read", "r1", ""); done.Type != history.OK {
		t.Fatalf("read → %s %q", done.Type, done.Error)
	}
	if b := f.nodes[c.barrier]; b.stat.Version != 1 {
		t.Errorf("barrier written %d times, want once", b.stat.Version)
	}
}

// TestReadOfAMissingZnode: a read that finds no znode is an ok read of
// version -1 (the checkers judge it), while a write there fails.
func TestReadOfAMissingZnode(t *testing.T) {
	f := newFakeConn()
	for _, mode := range []ReadMode{ReadLocal, ReadSync, ReadQuorum} {
		c := &client{conn: f, node: "zk2", reads: mode, timeout: time.Second}
		done := invoke(c, "read", "gone", "")
		if done.Type != history.OK || string(done.Value) != `{"value":0,"version":-1,"zxid":0}` {
			t.Errorf("%s read of a missing znode → %s %s %q", mode, done.Type, done.Value, done.Error)
		}
	}
	c := &client{conn: f, node: "zk2", reads: ReadLocal, timeout: time.Second}
	if done := invoke(c, "write", "gone", `{"value":3}`); done.Type != history.Fail || done.Error != "no-node" {
		t.Errorf("write to a missing znode → %s %q", done.Type, done.Error)
	}
}
