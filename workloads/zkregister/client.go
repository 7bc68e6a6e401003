package zkregister

import (
	"context"
	"encoding/json"
	"errors"
	"path"
	"time"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/history"
	"github.com/go-zookeeper/zk"
)

// client is one process's ZooKeeper session on one server.
type client struct {
	conn    *zk.Conn
	node    string
	reads   ReadMode
	timeout time.Duration
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
			done.Type, done.Value = history.OK, mustJSON(writeResult{Value: v.Value, Version: stat.Version})
		}
	case "cas":
		var v casValue
		if err = jsonUnmarshal(op.Value, &v); err != nil {
			return fail(done, "bad-op: "+err.Error())
		}
		var stat *zk.Stat
		if stat, err = call(ctx, c.timeout, func() (*zk.Stat, error) { return c.conn.Set(p, encodeData(v.Value), v.ExpectedVersion) }); err == nil {
			done.Type, done.Value = history.OK, mustJSON(casResult{ExpectedVersion: v.ExpectedVersion, Value: v.Value, Version: stat.Version})
		}
	default:
		return fail(done, "bad-op: unknown f "+op.F)
	}
	if err != nil {
		return completeWithError(done, err)
	}
	return done
}

func (c *client) read(ctx context.Context, p string, done *history.Op) error {
	if c.reads == ReadSync {
		if _, err := call(ctx, c.timeout, func() (string, error) { return c.conn.Sync(p) }); err != nil {
			return err
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
	if err != nil {
		return err
	}
	v, err := decodeData(g.data)
	if err != nil {
		done.Type, done.Error = history.Fail, "bad-data: "+err.Error()
		return nil
	}
	done.Type, done.Value = history.OK, mustJSON(readResult{Value: v, Version: g.stat.Version})
	return nil
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

func closeInBackground(conn *zk.Conn) { go conn.Close() }

// call runs a go-zookeeper call with a deadline.
func call[T any](ctx context.Context, timeout time.Duration, fn func() (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return cluster.CallZK(ctx, fn)
}

func jsonUnmarshal(b json.RawMessage, v any) error { return json.Unmarshal(b, v) }
