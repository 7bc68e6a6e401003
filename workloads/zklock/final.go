package zklock

import (
	"context"
	"errors"
	"fmt"
	"path"
	"time"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/workloads"
	"github.com/go-zookeeper/zk"
)

// FinalReads lists the lock nodes left, as the locks op: once, through a
// fresh session of a fresh process, retried (by a new process after an
// info) until it completes.
//
// It first waits finalWait (the session timeout and checker.LockLeakMargin,
// and a second): the lock checker judges a node left behind only if the
// read came that long after its session ended and after the last fault
// ended. The runner calls FinalReads after the workers stopped (closing
// their sessions), the nemesis healed and the quiet period passed, but the
// workload is not told when the heal ended, so the wait counts from here.
func (w *Workload) FinalReads(ctx context.Context, rec workloads.Recorder) error {
	w.log.Info("waiting for ended sessions' lock nodes to go before the final read", "for", w.finalWait)
	select {
	case <-ctx.Done():
		return fmt.Errorf("before the final locks read: %w", ctx.Err())
	case <-time.After(w.finalWait):
	}
	invocation := history.Op{Type: history.Invoke, F: "locks", Value: mustJSON(locksValue{SessionTimeoutMS: w.opts.SessionTimeout.Milliseconds()})}
	var r *locksReader
	defer func() {
		if r != nil {
			r.Close()
		}
	}()
	var p history.Process
	for attempt := 0; ; attempt++ {
		if r == nil {
			conn, err := w.dial.ensemble()
			if err != nil {
				return err
			}
			p, r = rec.NewProcess(), &locksReader{conn: conn, locks: w.opts.Locks, timeout: w.opts.OpTimeout}
		}
		done, err := rec.Record(ctx, p, r, invocation)
		if err != nil {
			return err
		}
		if done.Type == history.OK {
			return nil
		}
		if done.Type == history.Info {
			r.Close() // the process is retired with its session
			r = nil
		}
		if attempt >= 10 || ctx.Err() != nil {
			return fmt.Errorf("the final locks read did not complete after %d attempts: %s", attempt+1, done.Error)
		}
	}
}

// locksReader is the final read's client.
type locksReader struct {
	conn    zkConn
	locks   int
	timeout time.Duration
}

// Invoke lists every lock's nodes with their sessions (each node's
// ephemeral owner). A write to /faultline/locks comes first: it is agreed
// by a quorum and applied by the session's server before it answers, so
// the reads that follow on the session see every change acknowledged
// before the read began (a stale server could otherwise show nodes long
// gone, which would count as leaked).
func (r *locksReader) Invoke(ctx context.Context, op history.Op) history.Op {
	done := op
	done.Node = "ensemble"
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	if _, err := cluster.CallZK(ctx, func() (*zk.Stat, error) { return r.conn.Set(locksRoot, nil, -1) }); err != nil {
		return completeWithError(done, err)
	}
	found := map[string][]lockNode{}
	for i := range r.locks {
		lock := lockName(i)
		dir := path.Join(locksRoot, lock)
		children, err := cluster.CallZK(ctx, func() ([]string, error) {
			ch, _, err := r.conn.Children(dir)
			return ch, err
		})
		if err != nil {
			return completeWithError(done, err)
		}
		found[lock] = []lockNode{}
		for _, ch := range children {
			node := path.Join(dir, ch)
			st, err := cluster.CallZK(ctx, func() (stat, error) {
				ok, s, err := r.conn.Exists(node)
				return stat{ok, s}, err
			})
			if err != nil && !errors.Is(err, zk.ErrNoNode) {
				return completeWithError(done, err)
			}
			if err == nil && st.exists { // else gone since the listing
				found[lock] = append(found[lock], lockNode{Node: node, Session: sessionHex(st.stat.EphemeralOwner)})
			}
		}
	}
	done.Type, done.Value, done.Error = history.OK, mustJSON(found), ""
	return done
}

// Close ends the session without waiting on a server that may not answer.
func (r *locksReader) Close() { go r.conn.Close() }
