package checker

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path"
	"time"

	"github.com/faultline/faultline/history"
)

// lockCheck is one run of the lock checker.
type lockCheck struct {
	ctx            context.Context
	deadline       time.Time
	sessionTimeout time.Duration
	work           int

	ops     []history.Op
	calls   []lockCall     // the client calls, in invocation order
	nemesis []history.Call // the nemesis's calls
	end     int64          // the history's end: its latest time
	faults  []FaultWindow
	counts  Counts
	byF     map[string]Counts

	lockID map[string]int32
	locks  []string
	procs  byID[history.Process, lockProc]

	beliefs  []lockBelief
	acquires []lockAcquire
	writes   []lockWrite
	byClient map[string]int
	fenced   int
	deposed  int
	byInfo   int
	final    int32 // the last ok final locks read, a call; -1 if none

	found          lockFindings
	splitBrains    int
	fencedOverlaps int
	overlaps       []LockOverlap // for the picture, at most MaxLockOverlaps
	overlapsLeft   int
	longest        *LockOverlap
	longestFenced  *LockOverlap
	finalRead      *LockFinalRead
	notes          []string
}

// lockBelief is a time in which a process believed it held a lock.
type lockBelief struct {
	proc       history.Process
	lock       int32
	token      int64
	client     string
	acquire    int32 // the acquire's call
	start, end int64
	endCall    int32 // the call that ended it; -1 for the history's end
}

// lockAcquire is an ok acquire.
type lockAcquire struct {
	proc     history.Process
	lock     int32
	token    int64
	call     int32
	inv, ok  int64
	released int64 // the invocation of its ok release; -1 if none
	relCall  int32
	node     string
	session  string
}

// lockWrite is an ok write.
type lockWrite struct {
	proc   history.Process
	lock   int32
	token  int64
	zxid   int64
	call   int32
	client string // the client kind its process's last acquire named
}

// lockProc is what the checker knows of a client process.
type lockProc struct {
	id      history.Process
	open    []int32 // its open beliefs
	held    []int32 // its ok acquires it has not tried to release
	client  string  // the client kind its last acquire named
	session string
	ended   int64 // when its session is known to have ended; -1 if not known
	last    int64 // when its last op was recorded
	pending int32 // its pending call; -1 if none
	retired int32 // the position of the info that retired it; -1 if none
}

// lockValue is what the checker reads of a zk-lock op's value.
type lockValue struct {
	client, node, session, why string
	token, zxid, timeoutMS     int64
	hasToken, hasZxid          bool
	hasTimeout                 bool
}

// lockValueJSON is a lockValue as encoding/json decodes it.
type lockValueJSON struct {
	Client           string `json:"client"`
	Token            *int64 `json:"token"`
	Node             string `json:"node"`
	Session          string `json:"session"`
	Why              string `json:"why"`
	Zxid             *int64 `json:"zxid"`
	SessionTimeoutMS *int64 `json:"session_timeout_ms"`
}

// stopped reports whether the check must stop, looking at the clock every
// so often.
func (c *lockCheck) stopped() bool {
	c.work++
	if c.work&(1<<12-1) != 0 {
		return false
	}
	return c.ctx.Err() != nil || (!c.deadline.IsZero() && time.Now().After(c.deadline))
}

// lockMalformed makes the error of a malformed zk-lock history.
func lockMalformed(op *history.Op, format string, args ...any) error {
	return fmt.Errorf("malformed zk-lock history: op index %d: %s", op.Index, fmt.Sprintf(format, args...))
}

// lockCall is a client call: the positions of its invocation and
// completion in the history (-1 if it never completed).
type lockCall struct {
	inv, done int32
}

// run reads the history and judges it.
func (c *lockCheck) run(ops []history.Op) error {
	c.ops = ops
	if err := c.pair(); err != nil {
		return err
	}
	c.faults = historyFaults(c.nemesis, c.end)
	c.lockID = map[string]int32{}
	c.byClient = map[string]int{}
	c.byF = map[string]Counts{}
	c.final = -1
	if err := c.read(); err != nil {
		return err
	}
	for _, step := range []func() error{c.splitBrain, c.fencing, c.mutex, c.deposedWrites, c.leaked} {
		if err := step(); err != nil {
			return err
		}
	}
	if c.byInfo > 0 {
		c.notes = append(c.notes, fmt.Sprintf("%d beliefs ended at an info op: the process was retired not knowing whether it still held the lock, and its lock node lived on until its session ended; the checker takes the belief to end at the info", c.byInfo))
	}
	return nil
}

// pair matches each client invocation with its completion, as
// history.Pair does (and with its words for what is wrong), without
// copying the ops; it gathers the nemesis's calls for their faults.
func (c *lockCheck) pair() error {
	c.calls = make([]lockCall, 0, len(c.ops)/2+1)
	nemesis := int32(-1) // the nemesis's pending invocation
	for i := range c.ops {
		if c.stopped() {
			return errLockStopped
		}
		op := &c.ops[i]
		c.end = max(c.end, op.Time)
		pos := int32(i)
		if !plainValid(op) {
			if err := validateFields(op); err != nil {
				return c.pairingError(fmt.Errorf("op index %d: %w", op.Index, err))
			}
		}
		if !op.Process.IsClient() {
			switch {
			case op.Process != history.Nemesis: // the observer's ops are not the lock's
			case op.Type == history.Invoke:
				if nemesis >= 0 {
					return c.pairingError(fmt.Errorf("op index %d: the nemesis invokes %q while its invocation at index %d is still pending", op.Index, op.F, c.ops[nemesis].Index))
				}
				nemesis = pos
				c.nemesis = append(c.nemesis, history.Call{Invoke: *op})
			case nemesis < 0:
				return c.pairingError(fmt.Errorf("op index %d: the nemesis completes %q with no pending invocation", op.Index, op.F))
			default:
				done := *op
				c.nemesis[len(c.nemesis)-1].Completion = &done
				nemesis = -1
			}
			continue
		}
		p := c.proc(op.Process)
		if op.Type == history.Invoke {
			switch {
			case p.pending >= 0:
				return c.pairingError(fmt.Errorf("op index %d: process %s invokes %q while its invocation at index %d is still pending", op.Index, op.Process, op.F, c.ops[c.calls[p.pending].inv].Index))
			case p.retired >= 0:
				return c.pairingError(fmt.Errorf("op index %d: process %s invokes %q but was retired by its info completion at index %d", op.Index, op.Process, op.F, c.ops[p.retired].Index))
			}
			p.pending = int32(len(c.calls))
			c.calls = append(c.calls, lockCall{inv: pos, done: -1})
			continue
		}
		if p.pending < 0 {
			return c.pairingError(fmt.Errorf("op index %d: process %s completes %q (%s) with no pending invocation", op.Index, op.Process, op.F, op.Type))
		}
		inv := &c.ops[c.calls[p.pending].inv]
		if op.F != inv.F || op.Key != inv.Key || op.Time < inv.Time {
			return c.pairingError(fmt.Errorf("op index %d: process %s completes %s %q but invoked %s %q at index %d (time %d)", op.Index, op.Process, op.F, op.Key, inv.F, inv.Key, inv.Index, inv.Time))
		}
		c.calls[p.pending].done = pos
		p.pending = -1
		if op.Type == history.Info {
			p.retired = pos
		}
	}
	return nil
}

// pairingError reports a history whose ops do not pair up into calls, in
// history.Pair's words unless Pair finds nothing wrong.
func (c *lockCheck) pairingError(mine error) error {
	if _, err := history.Pair(c.ops); err != nil {
		mine = err
	}
	return fmt.Errorf("malformed history: %w", mine)
}

// invOp returns call i's invocation, doneOp its completion (nil if it
// never completed).
func (c *lockCheck) invOp(i int32) *history.Op { return &c.ops[c.calls[i].inv] }

func (c *lockCheck) doneOp(i int32) *history.Op {
	if d := c.calls[i].done; d >= 0 {
		return &c.ops[d]
	}
	return nil
}

// outcome returns call i's completion's type, Info if it never completed.
func (c *lockCheck) outcome(i int32) history.Type {
	if d := c.doneOp(i); d != nil {
		return d.Type
	}
	return history.Info
}

// count counts call i in c.counts and c.byF.
func (c *lockCheck) count(i int32) {
	n := c.byF[c.invOp(i).F]
	for _, k := range []*Counts{&c.counts, &n} {
		k.Calls++
		switch d := c.doneOp(i); {
		case d == nil:
			k.Incomplete++
		case d.Type == history.OK:
			k.OK++
		case d.Type == history.Fail:
			k.Fail++
		default:
			k.Info++
		}
	}
	c.byF[c.invOp(i).F] = n
}

// lock returns the id of the lock named key.
func (c *lockCheck) lock(key string) int32 {
	id, ok := c.lockID[key]
	if !ok {
		id = int32(len(c.locks))
		c.lockID[key] = id
		c.locks = append(c.locks, key)
	}
	return id
}

func (c *lockCheck) proc(p history.Process) *lockProc {
	return c.procs.get(p, 1<<16, func() *lockProc {
		return &lockProc{id: p, ended: -1, pending: -1, retired: -1}
	})
}

// decodeLockValue reads op's value into v (reset first); a missing value
// leaves v empty.
func decodeLockValue(op *history.Op, v *lockValue) error {
	*v = lockValue{}
	if len(op.Value) == 0 || string(op.Value) == "null" || scanLockValue(op.Value, v) {
		return nil
	}
	*v = lockValue{}
	var j lockValueJSON
	if err := json.Unmarshal(op.Value, &j); err != nil {
		return lockMalformed(op, "%s value %s: %v", op.F, clip(op.Value), err)
	}
	v.client, v.node, v.session, v.why = j.Client, j.Node, j.Session, j.Why
	if j.Token != nil {
		v.token, v.hasToken = *j.Token, true
	}
	if j.Zxid != nil {
		v.zxid, v.hasZxid = *j.Zxid, true
	}
	if j.SessionTimeoutMS != nil {
		v.timeoutMS, v.hasTimeout = *j.SessionTimeoutMS, true
	}
	return nil
}

// scanLockValue is decodeLockValue's fast path: a flat object of distinct
// fields, plain strings and non-negative integers, as the workload writes
// them. It reports false for anything else, leaving it to encoding/json.
func scanLockValue(b []byte, v *lockValue) bool {
	s := jsonScanner{b: b}
	if !s.consume('{') {
		return false
	}
	if s.consume('}') {
		return s.atEnd()
	}
	var seen uint8
	for {
		key, ok := s.plainString()
		if !ok || !s.consume(':') {
			return false
		}
		var bit uint8
		var str *string
		var num *int64
		var has *bool
		switch string(key) {
		case "client":
			bit, str = 1, &v.client
		case "node":
			bit, str = 2, &v.node
		case "session":
			bit, str = 4, &v.session
		case "why":
			bit, str = 8, &v.why
		case "token":
			bit, num, has = 16, &v.token, &v.hasToken
		case "zxid":
			bit, num, has = 32, &v.zxid, &v.hasZxid
		case "session_timeout_ms":
			bit, num, has = 64, &v.timeoutMS, &v.hasTimeout
		case "value": // a write's value: the checker does not read it
			bit = 128
		default:
			return false
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		switch {
		case str != nil:
			sb, ok := s.plainString()
			if !ok {
				return false
			}
			*str = internLockString(sb)
		case num != nil:
			if *num, ok = s.natural(math.MaxInt64); !ok {
				return false
			}
			*has = true
		default:
			if _, ok := s.natural(math.MaxInt64); !ok {
				if _, ok := s.plainString(); !ok {
					return false
				}
			}
		}
		if !s.consume(',') {
			return s.consume('}') && s.atEnd()
		}
	}
}

// internLockString returns b as a string, without allocating for the
// words every op repeats.
func internLockString(b []byte) string {
	switch string(b) {
	case "naive":
		return "naive"
	case "careful":
		return "careful"
	case "fenced":
		return "fenced"
	case "expired":
		return "expired"
	case "disconnected":
		return "disconnected"
	}
	return string(b)
}

// read makes the pass over the calls: beliefs, acquires, writes.
func (c *lockCheck) read() error {
	var iv, cv lockValue
	for i := range c.calls {
		if c.stopped() {
			return errLockStopped
		}
		id := int32(i)
		inv, done := c.invOp(id), c.doneOp(id)
		c.count(id)
		p := c.proc(inv.Process)
		p.last = max(p.last, inv.Time)
		if done != nil {
			p.last = max(p.last, done.Time)
		}
		if err := decodeLockValue(inv, &iv); err != nil && inv.F != "locks" {
			return err
		}
		cv = lockValue{}
		if done != nil && (inv.F == "acquire" || inv.F == "write") {
			if err := decodeLockValue(done, &cv); err != nil {
				return err
			}
		}
		needKey := func() (int32, error) {
			if inv.Key == "" {
				return 0, lockMalformed(inv, "%s has no key; its key is the lock's name, e.g. \"l1\"", inv.F)
			}
			return c.lock(inv.Key), nil
		}
		needToken := func(op *history.Op, v *lockValue) (int64, error) {
			if !v.hasToken {
				return 0, lockMalformed(op, "%s %s value has no \"token\" (the lock node's creation zxid)", op.F, op.Type)
			}
			return v.token, nil
		}
		switch inv.F {
		case "acquire":
			lock, err := needKey()
			if err != nil {
				return err
			}
			if iv.session != "" {
				p.session = iv.session
			}
			p.client = iv.client
			if b := c.openBelief(p, lock, nil); b >= 0 {
				c.endBelief(p, b, inv.Time, id) // acquired again: the old belief ends
			}
			if c.outcome(id) != history.OK {
				break
			}
			token, err := needToken(done, &cv)
			if err != nil {
				return err
			}
			if cv.node == "" || cv.session == "" {
				return lockMalformed(done, "ok acquire value needs \"node\" (the lock node's path) and \"session\" (its session id), e.g. {\"token\":4294967312,\"node\":\"/faultline/locks/l1/lock-0000000012\",\"session\":\"0x1a2b\"}")
			}
			p.session = cv.session
			c.byClient[iv.client]++
			a := int32(len(c.acquires))
			c.acquires = append(c.acquires, lockAcquire{proc: inv.Process, lock: lock, token: token, call: id,
				inv: inv.Time, ok: done.Time, released: -1, relCall: -1, node: cv.node, session: cv.session})
			p.held = append(p.held, a)
			b := int32(len(c.beliefs))
			c.beliefs = append(c.beliefs, lockBelief{proc: inv.Process, lock: lock, token: token, client: iv.client,
				acquire: id, start: done.Time, end: c.end, endCall: -1})
			p.open = append(p.open, b)
		case "release":
			lock, err := needKey()
			if err != nil {
				return err
			}
			token, err := needToken(inv, &iv)
			if err != nil {
				return err
			}
			if b := c.openBelief(p, lock, &token); b >= 0 {
				c.endBelief(p, b, inv.Time, id)
			}
			for j, a := range p.held {
				if ac := &c.acquires[a]; ac.lock == lock && ac.token == token {
					if c.outcome(id) == history.OK { // it deleted the node
						ac.released, ac.relCall = inv.Time, id
					}
					p.held = append(p.held[:j], p.held[j+1:]...)
					break
				}
			}
			if c.outcome(id) == history.Fail && done.Error == "no-node" {
				p.ended = done.Time // the node was gone: the session had expired
			}
		case "lose":
			lock, err := needKey()
			if err != nil {
				return err
			}
			token, err := needToken(inv, &iv)
			if err != nil {
				return err
			}
			if b := c.openBelief(p, lock, &token); b >= 0 {
				c.endBelief(p, b, inv.Time, id)
			}
			if iv.why == "expired" {
				p.ended = inv.Time
			}
		case "write":
			lock, err := needKey()
			if err != nil {
				return err
			}
			token, err := needToken(inv, &iv)
			if err != nil {
				return err
			}
			switch c.outcome(id) {
			case history.OK:
				if !cv.hasZxid {
					return lockMalformed(done, "ok write value has no \"zxid\" (the resource's write's zxid, which orders the writes)")
				}
				if cv.hasToken && cv.token != token {
					return lockMalformed(done, "ok write's token %d is not its invocation's %d", cv.token, token)
				}
				c.writes = append(c.writes, lockWrite{proc: inv.Process, lock: lock, token: token, zxid: cv.zxid, call: id, client: p.client})
				if c.openBelief(p, lock, &token) < 0 {
					c.staleWrite(id, lock, token)
				}
			case history.Fail:
				if done.Error == "fenced" {
					c.fenced++
				}
			}
		case "locks":
			if c.outcome(id) == history.OK {
				c.final = id
				if iv.hasTimeout && c.sessionTimeout == 0 {
					c.sessionTimeout = time.Duration(iv.timeoutMS) * time.Millisecond
				}
			}
		default:
			return lockMalformed(inv, "unknown f %q; the zk-lock workload has acquire, release, lose, write and locks", inv.F)
		}
		if done != nil && done.Type == history.Info {
			// Retired: what it believed ends here, unknown.
			for len(p.open) > 0 {
				c.byInfo++
				c.endBelief(p, p.open[0], done.Time, id)
			}
			p.ended = done.Time
		}
	}
	return nil
}

// openBelief returns p's open belief on lock (with token, if given), or
// -1.
func (c *lockCheck) openBelief(p *lockProc, lock int32, token *int64) int32 {
	for _, b := range p.open {
		if bl := &c.beliefs[b]; bl.lock == lock && (token == nil || bl.token == *token) {
			return b
		}
	}
	return -1
}

// endBelief ends belief b of p at time at, by call by.
func (c *lockCheck) endBelief(p *lockProc, b int32, at int64, by int32) {
	bl := &c.beliefs[b]
	bl.end, bl.endCall = max(at, bl.start), by
	for j, o := range p.open {
		if o == b {
			p.open = append(p.open[:j], p.open[j+1:]...)
			break
		}
	}
}

// callOps returns a call's ops: its invocation and its completion, if any.
func (c *lockCheck) callOps(i int32) []history.Op {
	if d := c.doneOp(i); d != nil {
		return []history.Op{*c.invOp(i), *d}
	}
	return []history.Op{*c.invOp(i)}
}

// at returns the op a call shows at: its completion, or its invocation if
// it never completed.
func (c *lockCheck) at(i int32) *history.Op {
	op := *c.invOp(i)
	if d := c.doneOp(i); d != nil {
		op = *d
	}
	return &op
}

// nodeName is the last element of a lock node's path.
func nodeName(node string) string { return path.Base(node) }
