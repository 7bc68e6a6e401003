package zkregister

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path"
	"time"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/history"
	"github.com/go-zookeeper/zk"
)

// barriers is the persistent znode under which quorum reads keep their
// barriers.
const barriers = "/faultline/barriers"

// zkConn is what a client uses of a go-zookeeper session (*zk.Conn); tests
// give it a fake.
type zkConn interface {
	Get(path string) ([]byte, *zk.Stat, error)
	Set(path string, data []byte, version int32) (*zk.Stat, error)
	Create(path string, data []byte, flags int32, acl []zk.ACL) (string, error)
	Sync(path string) (string, error)
	Close()
}

// client is one process's ZooKeeper session on one server.
type client struct {
	conn    zkConn
	node    string
	reads   ReadMode
	timeout time.Duration

	// barrier is this session's barrier znode for quorum reads, named
	// on first use; barrierMade says it is known to exist.
	barrier     string
	barrierMade bool
}

// Invoke performs a read, write or cas. Only ZooKeeper's own answers that
// the op did not apply (bad version, no node) make it fail; connection
// loss, session expiry and timeouts leave it unknown (info).
func (c *client) Invoke(ctx context.Context, op history.Op) history.Op {
	done := op
	done.Node = c.node
	p := path.Join(root, op.Key)
	var err error
	switch op.F {
	case "read":
		err = c.read(ctx, p, &done)
	case "write":
		var v writeValue
		if err = jsonUnmarshal(op.Value, &v); err != nil {
			return fail(done, "bad-op: "+err.Error())
		}
		var stat *zk.Stat
		if stat, err = call(ctx, c.timeout, func() (*zk.Stat, error) { return c.conn.Set(p, encodeData(v.Value), -1) }); err == nil {
			done.Type, done.Value = history.OK, mustJSON(writeResult{Value: v.Value, Version: stat.Version, Zxid: stat.Mzxid})
		}
	case "cas":
		var v casValue
		if err = jsonUnmarshal(op.Value, &v); err != nil {
			return fail(done, "bad-op: "+err.Error())
		}
		var stat *zk.Stat
		if stat, err = call(ctx, c.timeout, func() (*zk.Stat, error) { return c.conn.Set(p, encodeData(v.Value), v.ExpectedVersion) }); err == nil {
			done.Type, done.Value = history.OK, mustJSON(casResult{ExpectedVersion: v.ExpectedVersion, Value: v.Value, Version: stat.Version, Zxid: stat.Mzxid})
		}
	default:
		return fail(done, "bad-op: unknown f "+op.F)
	}
	var b *barrierError
	switch {
	case errors.As(err, &b):
		done = completeWithError(done, b.err)
		done.Error = "barrier: " + done.Error
	case err != nil:
		done = completeWithError(done, err)
	}
	return done
}

// barrierError is the error of a quorum read's barrier: the read itself was
// never sent.
type barrierError struct{ err error }

func (e *barrierError) Error() string { return "barrier: " + e.err.Error() }
func (e *barrierError) Unwrap() error { return e.err }

// read gets the znode at p the read mode's way. In quorum mode a write to
// the session's barrier znode comes first (see quorumBarrier).
func (c *client) read(ctx context.Context, p string, done *history.Op) error {
	switch c.reads {
	case ReadSync:
		if _, err := call(ctx, c.timeout, func() (string, error) { return c.conn.Sync(p) }); err != nil {
			return err
		}
	case ReadQuorum:
		if err := c.quorumBarrier(ctx); err != nil {
			return &barrierError{err}
		}
	}
	type got struct {
		data []byte
		stat *zk.Stat
	}
	g, err := call(ctx, c.timeout, func() (got, error) {
		data, stat, err := c.conn.Get(p)
		return got{data, stat}, err
	})
	if errors.Is(err, zk.ErrNoNode) {
		// The workload made the znode (acknowledged) before handing out
		// any op on its key, and never deletes it: the server read a
		// state without it. That is a read like any other, of version
		// -1, which no state after the create has; the checkers judge it
		// (a stale read, or a lost create).
		done.Type, done.Value = history.OK, mustJSON(readResult{Value: 0, Version: -1, Zxid: 0})
		return nil
	}
	if err != nil {
		return err
	}
	v, err := decodeData(g.data)
	if err != nil {
		done.Type, done.Error = history.Fail, "bad-data: "+err.Error()
		return nil
	}
	done.Type, done.Value = history.OK, mustJSON(readResult{Value: v, Version: g.stat.Version, Zxid: g.stat.Mzxid})
	return nil
}

// quorumBarrier writes (setData) the session's barrier znode and returns
// once ZooKeeper acknowledged it. A write is agreed by a quorum under a
// leader that still has one, and the session's server applies it before
// answering; a get on the same session (ZooKeeper answers a session's
// requests in order) then reads a state that includes every write
// acknowledged before the barrier was sent. That makes the read
// linearizable, which sync followed by get is not: sync is not agreed by a
// quorum, and a deposed leader may answer it (ZOOKEEPER-1675).
//
// The barrier is an ephemeral znode under /faultline/barriers, made on
// first use: it is the session's own, and ZooKeeper deletes it when the
// session ends, so runs leave nothing behind and never share one. (Any
// znode would do as a barrier, even a shared one; a write is a quorum
// operation wherever it goes.) If it vanished (ZooKeeper ended the session
// meanwhile) the set fails with no-node, and the next read makes it again.
//
// An error means the read was not sent: one that says the barrier certainly
// failed (no-server, no-node) makes the read fail; any other (a timeout, a
// lost connection) leaves it unknown, like any op's (see completeWithError).
func (c *client) quorumBarrier(ctx context.Context) error {
	if !c.barrierMade {
		if c.barrier == "" {
			c.barrier = fmt.Sprintf("%s/s-%016x", barriers, rand.Uint64())
		}
		for _, m := range []struct {
			path  string
			flags int32
		}{{barriers, 0}, {c.barrier, zk.FlagEphemeral}} {
			_, err := call(ctx, c.timeout, func() (string, error) {
				return c.conn.Create(m.path, nil, m.flags, zk.WorldACL(zk.PermAll))
			})
			if err != nil && !errors.Is(err, zk.ErrNodeExists) {
				return err
			}
		}
		c.barrierMade = true
	}
	_, err := call(ctx, c.timeout, func() (*zk.Stat, error) { return c.conn.Set(c.barrier, nil, -1) })
	if errors.Is(err, zk.ErrNoNode) {
		c.barrierMade = false
	}
	return err
}

// completeWithError sorts an error into fail (certainly not applied) or
// info (unknown).
func completeWithError(done history.Op, err error) history.Op {
	switch {
	case errors.Is(err, zk.ErrBadVersion):
		return fail(done, "bad-version")
	case errors.Is(err, zk.ErrNoNode):
		return fail(done, "no-node")
	case errors.Is(err, zk.ErrNoServer):
		// go-zookeeper gives it only to requests still waiting to be
		// sent when no server could be reached: never sent.
		return fail(done, "no-server")
	case errors.Is(err, context.DeadlineExceeded):
		done.Type, done.Value, done.Error = history.Info, nil, "timeout"
	default:
		done.Type, done.Value, done.Error = history.Info, nil, err.Error()
	}
	return done
}

func fail(done history.Op, why string) history.Op {
	done.Type, done.Value, done.Error = history.Fail, nil, why
	return done
}

// Close ends the session without waiting on a server that may not answer.
func (c *client) Close() { closeInBackground(c.conn) }

func closeInBackground(conn zkConn) { go conn.Close() }

// call runs a go-zookeeper call with a deadline.
func call[T any](ctx context.Context, timeout time.Duration, fn func() (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return cluster.CallZK(ctx, fn)
}

func jsonUnmarshal(b json.RawMessage, v any) error { return json.Unmarshal(b, v) }
