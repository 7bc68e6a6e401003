package zklock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sync"
	"time"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/history"
	"github.com/go-zookeeper/zk"
)

// The znodes: lock l1 is /faultline/locks/l1, its lock nodes
// /faultline/locks/l1/lock-<sequence>, and the resource it protects
// /faultline/resources/l1.
const (
	locksRoot     = "/faultline/locks"
	resourcesRoot = "/faultline/resources"
	lockPrefix    = "lock-"
)

// giveUpTimeout bounds the delete of a lock node whose acquire gave up.
const giveUpTimeout = 2 * time.Second

// zkConn is what the workload uses of a go-zookeeper session (*zk.Conn);
// tests give it a fake.
type zkConn interface {
	Create(path string, data []byte, flags int32, acl []zk.ACL) (string, error)
	Exists(path string) (bool, *zk.Stat, error)
	ExistsW(path string) (bool, *zk.Stat, <-chan zk.Event, error)
	Children(path string) ([]string, *zk.Stat, error)
	Get(path string) ([]byte, *zk.Stat, error)
	Set(path string, data []byte, version int32) (*zk.Stat, error)
	Delete(path string, version int32) error
	SessionID() int64
	Close()
}

// client is one worker process: its ZooKeeper session on one server, and
// what it believes about the lock it holds. The workload's Next asks it
// for the process's next op (see next), Invoke performs it, and the
// session's events (sessionEvent) tell a careful client when to stop
// believing.
type client struct {
	conn          zkConn
	node          string // the server the session is on
	kind          ClientKind
	timeout       time.Duration
	pause         time.Duration // after each write
	writesPerHold int
	// stop is done when the workload stops: no lock is granted after it
	// (see acquire).
	stop    context.Context
	onClose func()

	mu sync.Mutex
	// changed is closed, and replaced, at every session event that
	// matters (see sessionEvent); next waits on it.
	changed    chan struct{}
	hasSession bool
	drops      int    // the Disconnected and Expired events so far
	dropWhy    string // the last one's: whyDisconnected or whyExpired
	hold       *hold  // the lock node the process has, nil if none
	lastDone   time.Time
	busy       bool // a call is in flight
}

// hold is a lock node a process was granted.
type hold struct {
	lock  string
	token int64 // the node's Czxid
	node  string
	// believed says the process believes it holds the lock: from the
	// grant to the invocation of its release or lose.
	believed bool
	// lost says why a careful client stopped believing (set by a session
	// event; next then hands out lose).
	lost   string
	writes int  // writes handed out
	fenced bool // the resource refused the token: release at once
}

func newClient(kind ClientKind, o Options, stop context.Context) *client {
	return &client{kind: kind, timeout: o.OpTimeout, pause: o.Hold, writesPerHold: o.WritesPerHold,
		stop: stop, changed: make(chan struct{})}
}

// sessionEvent takes an event of the client's session. go-zookeeper calls
// it from its own goroutines and waits: it only takes the client's mutex.
// A Disconnected or Expired event ends a careful client's belief at once
// (the lose op is handed out next), as ZooKeeper's programmer's guide asks
// of a lock holder: once disconnected it cannot know whether its session,
// and its lock node with it, still exists. A naive client ignores it.
func (c *client) sessionEvent(ev zk.Event) {
	if ev.Type != zk.EventSession {
		return // a watch's event (EventNotWatching also comes this way)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch ev.State {
	case zk.StateDisconnected, zk.StateExpired:
		why := whyDisconnected
		if ev.State == zk.StateExpired {
			why = whyExpired
		}
		c.hasSession = false
		c.drops++
		c.dropWhy = why
		if h := c.hold; h != nil && h.believed && c.kind.watchesSession() && (h.lost == "" || why == whyExpired) {
			h.lost = why
		}
	case zk.StateHasSession:
		c.hasSession = true
	default:
		return
	}
	close(c.changed)
	c.changed = make(chan struct{})
}

// next returns the process's next op: acquire a lock; with a lock, the
// writes (each after a pause but the first) and the release; lose as soon
// as a careful client's session was disconnected or expired; and after a
// lose, or a release that did not reach ZooKeeper, a release once the
// session is back, to delete the lock node if it still exists. It blocks
// for the pauses, waking early for a session event, until ctx ends.
func (c *client) next(ctx context.Context, g *generator) (history.Op, error) {
	for {
		c.mu.Lock()
		op, wait, changed := c.nextLocked(g)
		c.mu.Unlock()
		if wait == 0 {
			return op, nil
		}
		var timer <-chan time.Time
		var t *time.Timer
		if wait > 0 {
			t = time.NewTimer(wait)
			timer = t.C
		}
		select {
		case <-ctx.Done():
		case <-changed:
		case <-timer:
		}
		if t != nil {
			t.Stop()
		}
		if err := ctx.Err(); err != nil {
			return history.Op{}, err
		}
	}
}

// nextLocked is next's choice under the mutex: an op, or how long to wait
// (-1: until a session event) before choosing again.
func (c *client) nextLocked(g *generator) (history.Op, time.Duration, chan struct{}) {
	h := c.hold
	if h == nil {
		v := acquireValue{Client: c.kind}
		if id := c.conn.SessionID(); id != 0 {
			v.Session = sessionHex(id)
		}
		return history.Op{Type: history.Invoke, F: "acquire", Key: g.lock(), Value: mustJSON(v)}, 0, nil
	}
	release := history.Op{Type: history.Invoke, F: "release", Key: h.lock, Value: mustJSON(tokenValue{Token: h.token})}
	switch {
	case h.believed && h.lost != "":
		h.believed = false
		return history.Op{Type: history.Invoke, F: "lose", Key: h.lock, Value: mustJSON(loseValue{Token: h.token, Why: h.lost})}, 0, nil
	case !h.believed:
		if !c.hasSession {
			return history.Op{}, -1, c.changed
		}
		return release, 0, nil
	}
	if h.writes > 0 {
		if rest := c.pause - time.Since(c.lastDone); rest > 0 {
			return history.Op{}, rest, c.changed
		}
	}
	if h.fenced || h.writes >= c.writesPerHold {
		h.believed = false
		return release, 0, nil
	}
	h.writes++
	return history.Op{Type: history.Invoke, F: "write", Key: h.lock, Value: mustJSON(writeValue{Token: h.token, Value: g.value()})}, 0, nil
}

// Invoke performs an acquire, write, release or lose.
func (c *client) Invoke(ctx context.Context, op history.Op) history.Op {
	done := op
	done.Node = c.node
	c.mu.Lock()
	c.busy = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.lastDone = time.Now()
		c.busy = false
		c.mu.Unlock()
	}()
	switch op.F {
	case "acquire":
		return c.acquire(ctx, done)
	case "write":
		return c.write(ctx, done)
	case "release":
		return c.release(ctx, done)
	case "lose":
		// The belief ended when next handed it out; the op says so.
		done.Type = history.OK
		return done
	}
	return fail(done, "bad-op: unknown f "+op.F)
}

// acquire takes the lock op.Key with ZooKeeper's lock recipe: an
// ephemeral sequential node under the lock's znode, held once it is the
// lowest; until then the client watches the node just below its own (an
// exists watch: only that node's end concerns it) and looks again when the
// watch fires. It waits up to the op timeout; then, or when the workload
// stops, it gives up and deletes its node.
//
// No lock is granted once the workload has stopped: the runner closes the
// sessions of the processes that stop, deleting their lock nodes, and a
// holder that stopped still believes it holds its lock until the history
// ends (nothing records its release), so a grant that its node's deletion
// allowed would be a split brain the harness made.
func (c *client) acquire(ctx context.Context, done history.Op) history.Op {
	if c.stop.Err() != nil {
		return fail(done, "stopped")
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	dir := path.Join(locksRoot, done.Key)
	node, err := cluster.CallZK(ctx, func() (string, error) {
		return c.conn.Create(dir+"/"+lockPrefix, nil, zk.FlagEphemeral|zk.FlagSequence, zk.WorldACL(zk.PermAll))
	})
	switch {
	case errors.Is(err, zk.ErrNoServer), errors.Is(err, zk.ErrNoNode), errors.Is(err, zk.ErrSessionExpired):
		// Never sent; or no lock znode to make it under; or made by a
		// session that has ended, which took its ephemeral node with it.
		return fail(done, errName(err))
	case err != nil:
		return unknown(done, errName(err)) // the node may exist
	}
	// The token is the node's Czxid. Create answers with the path alone
	// (go-zookeeper 1.0.4 sends ZooKeeper's create, not create2, which
	// would return the stat), so Exists on the node reads it: the node is
	// ours and ephemeral, nothing else makes or changes it, and a znode's
	// Czxid never changes, so that is the create's own zxid.
	// CreateProtectedEphemeralSequential would find the node after a lost
	// connection, but returns no stat either and prefixes the name with a
	// GUID, which the history's lock-<sequence> names do not have.
	st, err := cluster.CallZK(ctx, func() (stat, error) {
		ok, s, err := c.conn.Exists(node)
		return stat{ok, s}, err
	})
	switch {
	case errors.Is(err, zk.ErrSessionExpired) || (err == nil && !st.exists):
		return fail(done, "session-expired") // only the session's end deletes our node
	case err != nil:
		return c.giveUp(ctx, done, node, errName(err))
	}
	token, session := st.stat.Czxid, st.stat.EphemeralOwner
	drops, why := c.awaitTurn(ctx, dir, path.Base(node))
	switch {
	case why == "session-expired":
		return fail(done, why) // our node is gone
	case why == "" && c.stop.Err() != nil:
		why = "stopped"
	}
	if why != "" {
		return c.giveUp(ctx, done, node, why)
	}
	c.grant(&hold{lock: done.Key, token: token, node: node, believed: true}, drops)
	done.Type, done.Value = history.OK, mustJSON(heldValue{Token: token, Node: node, Session: sessionHex(session)})
	return done
}

// stat is an Exists call's answer.
type stat struct {
	exists bool
	stat   *zk.Stat
}

// watch is an ExistsW call's answer.
type watch struct {
	exists bool
	ch     <-chan zk.Event
}

// awaitTurn waits until node mine is the lowest of lock dir's nodes and
// returns "" and the client's count of session drops when it listed them
// (see grant). Otherwise it returns why it stopped waiting: session-expired
// (mine is gone), timeout (ctx ended) or stopped (the workload did). A call
// that fails otherwise (no server, a lost connection) is tried again a
// moment later.
func (c *client) awaitTurn(ctx context.Context, dir, mine string) (drops int, why string) {
	for {
		c.mu.Lock()
		drops = c.drops
		c.mu.Unlock()
		children, err := cluster.CallZK(ctx, func() ([]string, error) {
			ch, _, err := c.conn.Children(dir)
			return ch, err
		})
		var w watch
		if err == nil {
			pred, found := predecessor(children, mine)
			switch {
			case !found:
				return 0, "session-expired" // only the session's end deletes it
			case pred == "":
				return drops, ""
			}
			w, err = cluster.CallZK(ctx, func() (watch, error) {
				ok, _, ch, err := c.conn.ExistsW(path.Join(dir, pred))
				return watch{ok, ch}, err
			})
		}
		var wake <-chan zk.Event
		var retry <-chan time.Time
		switch {
		case errors.Is(err, zk.ErrSessionExpired):
			return 0, "session-expired"
		case err != nil:
			retry = time.After(100 * time.Millisecond)
		case !w.exists:
			continue // gone already: look again
		default:
			wake = w.ch
		}
		select {
		case <-wake:
		case <-retry:
		case <-ctx.Done():
			return 0, "timeout"
		case <-c.stop.Done():
			return 0, "stopped"
		}
	}
}

// grant makes h the client's hold. A careful client whose session was
// disconnected or expired since it listed the lock's nodes (drops then)
// may have had the answer before the event: it holds the lock, but loses
// it at once.
func (c *client) grant(h *hold, drops int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.kind.watchesSession() && c.drops != drops {
		h.lost = c.dropWhy
	}
	c.hold = h
}

// giveUp ends an acquire that will not take its lock: it deletes the lock
// node, and fails (the lock was certainly not taken: the node is gone) if
// that worked, or is info (the node may live on) if not.
func (c *client) giveUp(ctx context.Context, done history.Op, node, why string) history.Op {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), min(c.timeout, giveUpTimeout))
	defer cancel()
	_, err := cluster.CallZK(ctx, func() (struct{}, error) { return struct{}{}, c.conn.Delete(node, -1) })
	if err == nil || errors.Is(err, zk.ErrNoNode) || errors.Is(err, zk.ErrSessionExpired) {
		return fail(done, why)
	}
	return unknown(done, why+"; the lock node was not deleted: "+errName(err))
}

// predecessor finds node mine among a lock's children and returns the
// node just below it in sequence order, "" if mine is the lowest; found
// is false if mine is not there.
func predecessor(children []string, mine string) (pred string, found bool) {
	seq := sequence(mine)
	for _, ch := range children {
		if ch == mine {
			found = true
			continue
		}
		if s := sequence(ch); s < seq && (pred == "" || s > sequence(pred)) {
			pred = ch
		}
	}
	return pred, found
}

// sequence is a lock node's sequence number: ZooKeeper appends it to the
// name as 10 digits (wrapping to negative past 2^31-1; no run makes that
// many). A name without one sorts last.
func sequence(name string) int64 {
	if len(name) < 10 {
		return 1 << 62
	}
	var n int64
	for _, r := range name[len(name)-10:] {
		if r < '0' || r > '9' {
			return 1 << 62
		}
		n = n*10 + int64(r-'0')
	}
	return n
}

// write writes {"token":T,"value":V} to the lock's resource: naive and
// careful clients unconditionally, fenced clients only over a token no
// newer than theirs (see fencedWrite). An ok write records the zxid of the
// resource's write.
func (c *client) write(ctx context.Context, done history.Op) history.Op {
	var v writeValue
	if err := json.Unmarshal(done.Value, &v); err != nil {
		return fail(done, "bad-op: "+err.Error())
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	res := path.Join(resourcesRoot, done.Key)
	if c.kind == Fenced {
		return c.fencedWrite(ctx, done, res, v)
	}
	s, err := cluster.CallZK(ctx, func() (*zk.Stat, error) { return c.conn.Set(res, mustJSON(v), -1) })
	if err != nil {
		return completeWithError(done, err)
	}
	done.Type, done.Value = history.OK, mustJSON(writtenValue{Token: v.Token, Value: v.Value, Zxid: s.Mzxid})
	return done
}

// fencedWrite is a fenced client's write: read the resource, refuse
// (fail, "fenced") if it holds a newer token than v's, else set it
// conditioned on the version read, and read again if another write came
// between. A failed read leaves nothing written (every set before it was
// refused for its version), so it fails the write.
func (c *client) fencedWrite(ctx context.Context, done history.Op, res string, v writeValue) history.Op {
	for {
		type got struct {
			data []byte
			stat *zk.Stat
		}
		g, err := cluster.CallZK(ctx, func() (got, error) {
			data, s, err := c.conn.Get(res)
			return got{data, s}, err
		})
		if err != nil {
			return fail(done, "read: "+errName(err))
		}
		var stored writeValue
		if err := json.Unmarshal(g.data, &stored); err != nil {
			return fail(done, "bad-data: the resource holds "+string(g.data))
		}
		if stored.Token > v.Token {
			c.mu.Lock()
			if c.hold != nil && c.hold.token == v.Token {
				c.hold.fenced = true
			}
			c.mu.Unlock()
			return fail(done, "fenced")
		}
		s, err := cluster.CallZK(ctx, func() (*zk.Stat, error) { return c.conn.Set(res, mustJSON(v), g.stat.Version) })
		switch {
		case errors.Is(err, zk.ErrBadVersion):
			continue
		case err != nil:
			return completeWithError(done, err)
		}
		done.Type, done.Value = history.OK, mustJSON(writtenValue{Token: v.Token, Value: v.Value, Zxid: s.Mzxid})
		return done
	}
}

// release deletes the lock node of op's token. It is ok when it deleted
// the node and fails with no-node when the node was gone (the session had
// ended: the client lost the lock, knowing it or not); a release that was
// never sent fails with no-server and is handed out again.
func (c *client) release(ctx context.Context, done history.Op) history.Op {
	var v tokenValue
	if err := json.Unmarshal(done.Value, &v); err != nil {
		return fail(done, "bad-op: "+err.Error())
	}
	c.mu.Lock()
	h := c.hold
	c.mu.Unlock()
	if h == nil || h.token != v.Token {
		return fail(done, "bad-op: no lock node of that token")
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	_, err := cluster.CallZK(ctx, func() (struct{}, error) { return struct{}{}, c.conn.Delete(h.node, -1) })
	if errors.Is(err, zk.ErrSessionExpired) {
		err = zk.ErrNoNode // the session ended, and its ephemeral node with it
	}
	if err == nil || errors.Is(err, zk.ErrNoNode) {
		c.mu.Lock()
		c.hold = nil
		c.mu.Unlock()
	}
	if err != nil {
		return completeWithError(done, err)
	}
	done.Type = history.OK
	return done
}

// completeWithError sorts the error of a write or release: fail when the
// op certainly did not apply (refused for the version or a missing node,
// or never sent), info otherwise. The completion keeps the invocation's
// value.
func completeWithError(done history.Op, err error) history.Op {
	if errors.Is(err, zk.ErrBadVersion) || errors.Is(err, zk.ErrNoNode) || errors.Is(err, zk.ErrNoServer) {
		return fail(done, errName(err))
	}
	return unknown(done, errName(err))
}

// errName names an error in the history: ZooKeeper's own in a word,
// "timeout" for the op timeout.
func errName(err error) string {
	switch {
	case errors.Is(err, zk.ErrBadVersion):
		return "bad-version"
	case errors.Is(err, zk.ErrNoNode):
		return "no-node"
	case errors.Is(err, zk.ErrNoServer):
		// go-zookeeper gives it only to requests still waiting to be
		// sent when no server could be reached: never sent.
		return "no-server"
	case errors.Is(err, zk.ErrSessionExpired):
		return "session-expired"
	case errors.Is(err, zk.ErrConnectionClosed):
		return "connection-loss"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return err.Error()
}

func fail(done history.Op, why string) history.Op {
	done.Type, done.Error = history.Fail, why
	return done
}

func unknown(done history.Op, why string) history.Op {
	done.Type, done.Error = history.Info, why
	return done
}

// Close ends the session without waiting on a server that may not answer.
func (c *client) Close() {
	if c.onClose != nil {
		c.onClose()
	}
	go c.conn.Close()
}

// holdingIdle says whether the process believes it holds a lock, is in the
// first half of the pause after a write, no call in flight, and has at
// least two writes of the hold left: a cut that starts now finds it idle
// for at least half a pause more, and, if the cut is shorter than a pause
// and a half, one write falls in the cut and one after it. It also says
// what the process is doing.
func (c *client) holdingIdle() (bool, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := c.hold
	switch {
	case h == nil:
		return false, "holds no lock"
	case !h.believed || h.lost != "":
		return false, "gives up " + h.lock
	case c.busy:
		return false, "has a call in flight on " + h.lock
	case h.writes == 0:
		return false, "has just been granted " + h.lock
	case c.writesPerHold-h.writes < 2:
		return false, fmt.Sprintf("holds %s with %d of its %d writes made", h.lock, h.writes, c.writesPerHold)
	}
	since := time.Since(c.lastDone)
	what := fmt.Sprintf("holds %s (token %d), idle for %s of its %s pause", h.lock, h.token, since.Round(time.Millisecond), c.pause)
	return since <= c.pause/2, what
}
