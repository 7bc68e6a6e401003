package checker

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/faultline/faultline/history"
)

// describeBelief says what ended a belief, e.g. "until its release (index
// 40)".
func (c *lockCheck) describeBelief(b *lockBelief) string {
	s := fmt.Sprintf("from %.3fs (acquire, index %d→%d)", seconds(b.start), c.invOp(b.acquire).Index, c.at(b.acquire).Index)
	if b.endCall < 0 {
		return s + " to the history's end"
	}
	end := c.invOp(b.endCall)
	what := end.F
	switch {
	case c.doneOp(b.endCall) != nil && c.doneOp(b.endCall).Type == history.Info:
		what += " (info)"
	case end.F == "acquire":
		what = "acquire again"
	}
	return s + fmt.Sprintf(" to %.3fs (%s, index %d)", seconds(b.end), what, end.Index)
}

// staleWrite reports ok write call w, with token, on lock: its process did
// not believe it held lock with that token when it invoked the write.
func (c *lockCheck) staleWrite(w, lock int32, token int64) {
	if !c.found.note(lockStaleWrite) {
		return
	}
	inv := c.invOp(w)
	why := fmt.Sprintf("process %s never acquired %s with token %d", inv.Process, inv.Key, token)
	ops := c.callOps(w)
	for i := len(c.beliefs) - 1; i >= 0; i-- {
		b := &c.beliefs[i]
		if b.proc != inv.Process || b.lock != lock || b.token != token {
			continue
		}
		why = fmt.Sprintf("process %s's belief in token %d ran %s", inv.Process, token, c.describeBelief(b))
		ops = append(ops, c.callOps(b.acquire)...)
		if b.endCall >= 0 {
			ops = append(ops, c.callOps(b.endCall)...)
		}
		break
	}
	slices.SortFunc(ops, func(x, y history.Op) int { return cmp.Compare(x.Index, y.Index) })
	c.found.add(lockStaleWrite, Anomaly{Key: inv.Key, At: c.at(w), Ops: ops,
		Message: fmt.Sprintf("the resource took a write (token %d, invoked at %.3fs) from a process that did not believe it held the lock: %s", token, seconds(inv.Time), why)})
}

// splitBrain finds, lock by lock, every time two processes both believed
// they held it.
func (c *lockCheck) splitBrain() error {
	byLock := make([][]int32, len(c.locks))
	for i := range c.beliefs {
		b := &c.beliefs[i]
		byLock[b.lock] = append(byLock[b.lock], int32(i))
	}
	for _, bs := range byLock {
		slices.SortFunc(bs, func(x, y int32) int { return cmp.Compare(c.beliefs[x].start, c.beliefs[y].start) })
		var active []int32
		for _, bi := range bs {
			b := &c.beliefs[bi]
			keep := active[:0]
			for _, ai := range active {
				if c.beliefs[ai].end > b.start {
					keep = append(keep, ai)
				}
			}
			active = keep
			for _, ai := range active {
				if c.stopped() {
					return errLockStopped
				}
				a := &c.beliefs[ai]
				if a.proc == b.proc {
					continue
				}
				if end := min(a.end, b.end); end > b.start {
					c.overlap(a, b, b.start, end)
				}
			}
			if b.end > b.start {
				active = append(active, bi)
			}
		}
	}
	return nil
}

// overlap records the overlap of beliefs a and b (a began first).
func (c *lockCheck) overlap(a, b *lockBelief, start, end int64) {
	dur := end - start
	mk := func() *LockOverlap {
		return &LockOverlap{Lock: c.locks[a.lock], Processes: [2]history.Process{a.proc, b.proc},
			Clients: [2]string{a.client, b.client}, Tokens: [2]int64{a.token, b.token},
			Start: start, End: end, Duration: dur, Faults: activeFaults(c.faults, start, end)}
	}
	if len(c.overlaps) < MaxLockOverlaps {
		c.overlaps = append(c.overlaps, LockOverlap{Lock: c.locks[a.lock], Processes: [2]history.Process{a.proc, b.proc},
			Clients: [2]string{a.client, b.client}, Tokens: [2]int64{a.token, b.token}, Start: start, End: end, Duration: dur})
	} else {
		c.overlapsLeft++
	}
	if a.client == "fenced" && b.client == "fenced" {
		c.fencedOverlaps++
		if c.longestFenced == nil || dur > c.longestFenced.Duration {
			c.longestFenced = mk()
		}
		return
	}
	c.found.counts[lockSplitBrain]++
	c.splitBrains++
	if c.longest == nil || dur > c.longest.Duration {
		c.longest = mk()
	}
	c.found.keepLongest(dur, func() Anomaly {
		o := mk()
		var ops []history.Op
		for _, bl := range []*lockBelief{a, b} {
			ops = append(ops, c.callOps(bl.acquire)...)
			if bl.endCall >= 0 {
				ops = append(ops, c.callOps(bl.endCall)...)
			}
		}
		slices.SortFunc(ops, func(x, y history.Op) int { return cmp.Compare(x.Index, y.Index) })
		return Anomaly{Key: o.Lock, At: c.at(b.acquire), Ops: ops,
			Message: fmt.Sprintf("processes %s (%s client, token %d) and %s (%s client, token %d) both believed they held %s for %s, from %.3fs to %.3fs, %s; %s's belief ran %s, %s's %s",
				a.proc, clientName(a.client), a.token, b.proc, clientName(b.client), b.token, o.Lock, fmtDuration(dur),
				seconds(start), seconds(end), faultKindsText(o.Faults), a.proc, c.describeBelief(a), b.proc, c.describeBelief(b))}
	})
}

func clientName(k string) string {
	if k == "" {
		return "unnamed"
	}
	return k
}

// fencing finds, lock by lock, the ok writes whose token was below one the
// resource had accepted before them, in the order of their zxids.
func (c *lockCheck) fencing() error {
	ws := slices.Clone(c.writes)
	slices.SortStableFunc(ws, func(x, y lockWrite) int {
		if n := cmp.Compare(x.lock, y.lock); n != 0 {
			return n
		}
		return cmp.Compare(x.zxid, y.zxid)
	})
	var newest *lockWrite
	for i := range ws {
		if c.stopped() {
			return errLockStopped
		}
		w := &ws[i]
		if newest == nil || newest.lock != w.lock {
			newest = w
			continue
		}
		if w.token >= newest.token {
			newest = w
			continue
		}
		if !c.found.note(lockFencingViolation) {
			continue
		}
		ops := append(c.callOps(newest.call), c.callOps(w.call)...)
		why := "the resource's fencing failed"
		if w.client != "fenced" {
			why = fmt.Sprintf("the resource does not check a %s client's token: a deposed holder's write landed after its successor's", clientName(w.client))
		}
		c.found.add(lockFencingViolation, Anomaly{Key: c.locks[w.lock], At: c.at(w.call), Ops: ops,
			Message: fmt.Sprintf("the resource accepted process %s's write with token %d at zxid %d, after it had accepted process %s's with the newer token %d at zxid %d: %s",
				w.proc, w.token, w.zxid, newest.proc, newest.token, newest.zxid, why)})
	}
	return nil
}

// topTwo keeps the greatest value seen and the greatest of another
// process, with the acquires they came from.
type topTwo struct {
	v    [2]int64
	at   [2]int32
	proc [2]history.Process
	n    int
}

func (t *topTwo) add(v int64, at int32, p history.Process) {
	switch {
	case t.n > 0 && p == t.proc[0]:
		if v > t.v[0] {
			t.v[0], t.at[0] = v, at
		}
	case t.n == 0 || v > t.v[0]:
		t.v[1], t.at[1], t.proc[1] = t.v[0], t.at[0], t.proc[0]
		t.v[0], t.at[0], t.proc[0] = v, at, p
		t.n = min(t.n+1, 2)
	case t.n == 1 || v > t.v[1]:
		t.v[1], t.at[1], t.proc[1] = v, at, p
		t.n = 2
	}
}

// best returns the greatest value of a process other than p, and its
// acquire; ok is false if there is none.
func (t *topTwo) best(p history.Process) (int64, int32, bool) {
	switch {
	case t.n > 0 && t.proc[0] != p:
		return t.v[0], t.at[0], true
	case t.n > 1:
		return t.v[1], t.at[1], true
	}
	return 0, -1, false
}

// mutex finds, lock by lock, acquires ZooKeeper provably granted while
// another process's lock node existed (see Lock).
func (c *lockCheck) mutex() error {
	byLock := make([][]int32, len(c.locks))
	for i := range c.acquires {
		byLock[c.acquires[i].lock] = append(byLock[c.acquires[i].lock], int32(i))
	}
	flagged := map[int32]bool{} // acquires whose grant is reported
	for _, as := range byLock {
		// One token granted to two processes.
		first := map[int64]int32{}
		for _, ai := range as {
			a := &c.acquires[ai]
			if f, ok := first[a.token]; !ok {
				first[a.token] = ai
			} else if c.acquires[f].proc != a.proc {
				c.mutexViolation(flagged, ai, f, fmt.Sprintf("ZooKeeper granted the lock node with token %d (%s) to processes %s and %s",
					a.token, a.node, c.acquires[f].proc, a.proc))
			}
		}
		// An older node released ok after a newer one was granted:
		// by token, the latest release of an older node.
		byToken := slices.Clone(as)
		slices.SortFunc(byToken, func(x, y int32) int { return cmp.Compare(c.acquires[x].token, c.acquires[y].token) })
		var released topTwo
		for i := 0; i < len(byToken); {
			j := i
			for j < len(byToken) && c.acquires[byToken[j]].token == c.acquires[byToken[i]].token {
				j++
			}
			for _, bi := range byToken[i:j] {
				if c.stopped() {
					return errLockStopped
				}
				b := &c.acquires[bi]
				if rel, ai, ok := released.best(b.proc); ok && rel > b.ok {
					a := &c.acquires[ai]
					c.mutexViolation(flagged, bi, ai, fmt.Sprintf("process %s was granted the lock with token %d at %.3fs at the latest, while process %s's older lock node (token %d) still existed: its release, invoked at %.3fs, deleted it",
						b.proc, b.token, seconds(b.ok), a.proc, a.token, seconds(a.released)))
				}
			}
			for _, ai := range byToken[i:j] {
				if a := &c.acquires[ai]; a.released >= 0 {
					released.add(a.released, ai, a.proc)
				}
			}
			i = j
		}
		// Ok acquires in real-time order must have rising tokens.
		byOK := slices.Clone(as)
		slices.SortFunc(byOK, func(x, y int32) int { return cmp.Compare(c.acquires[x].ok, c.acquires[y].ok) })
		byInv := slices.Clone(as)
		slices.SortFunc(byInv, func(x, y int32) int { return cmp.Compare(c.acquires[x].inv, c.acquires[y].inv) })
		var granted topTwo
		k := 0
		for _, bi := range byInv {
			if c.stopped() {
				return errLockStopped
			}
			b := &c.acquires[bi]
			for ; k < len(byOK) && c.acquires[byOK[k]].ok < b.inv; k++ {
				a := &c.acquires[byOK[k]]
				granted.add(a.token, byOK[k], a.proc)
			}
			if tok, ai, ok := granted.best(b.proc); ok && tok > b.token {
				a := &c.acquires[ai]
				c.mutexViolation(flagged, ai, bi, fmt.Sprintf("process %s was granted the lock with token %d at %.3fs at the latest, while process %s's older lock node (token %d) existed: that node was granted only later, to an acquire invoked at %.3fs",
					a.proc, a.token, seconds(a.ok), b.proc, b.token, seconds(b.inv)))
			}
		}
	}
	return nil
}

// mutexViolation reports acquire b, granted while acquire a's node
// existed, unless b's grant is reported already.
func (c *lockCheck) mutexViolation(flagged map[int32]bool, b, a int32, msg string) {
	if flagged[b] {
		return
	}
	flagged[b] = true
	if !c.found.note(lockMutexViolation) {
		return
	}
	ab, aa := &c.acquires[b], &c.acquires[a]
	ops := append(c.callOps(aa.call), c.callOps(ab.call)...)
	if aa.relCall >= 0 {
		ops = append(ops, c.callOps(aa.relCall)...)
	}
	slices.SortFunc(ops, func(x, y history.Op) int { return cmp.Compare(x.Index, y.Index) })
	c.found.add(lockMutexViolation, Anomaly{Key: c.locks[ab.lock], At: c.at(ab.call), Ops: ops, Message: msg})
}

// deposedWrites counts the ok writes invoked after another process had
// been granted the lock with a newer token.
func (c *lockCheck) deposedWrites() error {
	type grant struct {
		ok    int64
		token int64 // the newest token granted up to ok
	}
	grants := make([][]grant, len(c.locks))
	as := slices.Clone(c.acquires)
	slices.SortFunc(as, func(x, y lockAcquire) int { return cmp.Compare(x.ok, y.ok) })
	for _, a := range as {
		g := grants[a.lock]
		tok := a.token
		if len(g) > 0 {
			tok = max(tok, g[len(g)-1].token)
		}
		grants[a.lock] = append(g, grant{a.ok, tok})
	}
	for i := range c.writes {
		if c.stopped() {
			return errLockStopped
		}
		w := &c.writes[i]
		g := grants[w.lock]
		inv := c.invOp(w.call).Time
		n, _ := slices.BinarySearchFunc(g, inv, func(x grant, t int64) int { return cmp.Compare(x.ok, t) })
		if n > 0 && g[n-1].token > w.token {
			c.deposed++
		}
	}
	return nil
}

// finalLockNode is one lock node the final locks read found.
type finalLockNode struct {
	Node    string `json:"node"`
	Session string `json:"session"`
}

// leaked judges the lock nodes the final locks read found.
func (c *lockCheck) leaked() error {
	if c.final < 0 {
		c.notes = append(c.notes, "no final locks read completed ok: lock nodes left behind by ended sessions were not looked for")
		return nil
	}
	inv, done := c.invOp(c.final), c.doneOp(c.final)
	var listed map[string][]json.RawMessage
	if err := json.Unmarshal(done.Value, &listed); err != nil {
		return lockMalformed(done, "final locks read value %s: %v; it maps each lock to its nodes, e.g. {\"l1\":[{\"node\":\"/faultline/locks/l1/lock-0000000031\",\"session\":\"0x1a2b\"}]}", clip(done.Value), err)
	}
	timeout := c.sessionTimeout
	if timeout <= 0 {
		timeout = DefaultLockSessionTimeout
		c.notes = append(c.notes, fmt.Sprintf("the session timeout is not known (the final locks read records no session_timeout_ms): lock nodes are judged assuming %v", timeout))
	}
	// The faults' end: the last nemesis op completed before the read.
	var quiet int64
	for _, nc := range c.nemesis {
		if nc.Completion != nil && nc.Completion.Time <= inv.Time {
			quiet = max(quiet, nc.Completion.Time)
		}
	}
	// Sessions: who had each, and when it ended.
	owner := map[string]history.Process{}
	var latest int64 // the latest end of any worker's session
	for _, lp := range c.procs.all {
		p := lp.id
		if p == inv.Process {
			continue
		}
		if lp.session != "" {
			owner[lp.session] = p
		}
		latest = max(latest, c.sessionEnd(lp))
	}
	nodeOwner := map[string]int32{} // lock/node name → acquire
	for i := range c.acquires {
		a := &c.acquires[i]
		nodeOwner[c.locks[a.lock]+"/"+nodeName(a.node)] = int32(i)
	}
	fr := &LockFinalRead{Time: inv.Time, SessionTimeout: int64(timeout)}
	for _, lock := range sortedKeys(listed) {
		for _, raw := range listed[lock] {
			var n finalLockNode
			if err := json.Unmarshal(raw, &n.Node); err != nil {
				if err := json.Unmarshal(raw, &n); err != nil || n.Node == "" {
					return lockMalformed(done, "final locks read lists %s under %q: want a node's path or {\"node\":...,\"session\":...}", clip(raw), lock)
				}
			}
			fr.Nodes++
			ended, who := latest, "the workers' sessions had ended"
			var involved []int32
			if p, ok := owner[n.Session]; ok {
				ended = c.sessionEnd(c.proc(p))
				who = fmt.Sprintf("its session %s, process %s's, had ended", n.Session, p)
			} else if n.Session != "" {
				who = fmt.Sprintf("its session %s is no worker's that the history names; the workers' sessions had ended", n.Session)
			}
			if a, ok := nodeOwner[lock+"/"+nodeName(n.Node)]; ok {
				involved = append(involved, c.acquires[a].call)
			}
			due := max(ended, quiet) + int64(timeout+LockLeakMargin)
			if inv.Time < due {
				fr.NotDue++
				continue
			}
			fr.Leaked++
			if !c.found.note(lockLeaked) {
				continue
			}
			ops := c.callOps(c.final)
			for _, a := range involved {
				ops = append(ops, c.callOps(a)...)
			}
			slices.SortFunc(ops, func(x, y history.Op) int { return cmp.Compare(x.Index, y.Index) })
			c.found.add(lockLeaked, Anomaly{Key: lock, At: c.at(c.final), Ops: ops,
				Message: fmt.Sprintf("lock node %s was still there at the final read (%.3fs), although %s by %.3fs and the last fault ended by %.3fs: ZooKeeper should have deleted it within the session timeout (%v) and a margin (%v)",
					n.Node, seconds(inv.Time), who, seconds(ended), seconds(quiet), timeout, LockLeakMargin)})
		}
	}
	if fr.NotDue > 0 {
		c.notes = append(c.notes, fmt.Sprintf("%d lock nodes were still there at the final locks read, less than the session timeout (%v) and a margin (%v) after their session or the last fault ended: not judged; wait longer before the final read", fr.NotDue, timeout, LockLeakMargin))
	}
	c.finalRead = fr
	return nil
}

// sessionEnd returns when a process's session ended at the latest: when
// it was retired or told the session expired, or else when it stopped
// (the workload closes its workers' sessions when they stop).
func (c *lockCheck) sessionEnd(lp *lockProc) int64 {
	if lp.ended >= 0 {
		return lp.ended
	}
	return lp.last
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// details gathers the figures of LockDetails.
func (c *lockCheck) details() *LockDetails {
	d := &LockDetails{Locks: len(c.locks), ByF: c.byF, Acquires: len(c.acquires), ByClient: c.byClient,
		AnomalyCounts: map[string]int{}, EndedByInfo: c.byInfo, SplitBrains: c.splitBrains, Longest: c.longest,
		FencedOverlaps: c.fencedOverlaps, LongestFenced: c.longestFenced, Writes: len(c.writes), Fenced: c.fenced,
		Deposed: c.deposed, FinalRead: c.finalRead, Overlaps: c.overlaps, OverlapsLeft: c.overlapsLeft}
	for i := range c.beliefs {
		if i == MaxLockHolds {
			d.HoldsLeft = len(c.beliefs) - i
			break
		}
		b := &c.beliefs[i]
		d.Holds = append(d.Holds, LockHold{Lock: c.locks[b.lock], Process: b.proc, Client: b.client, Token: b.token, Start: b.start, End: b.end})
	}
	for k := range lockKinds {
		d.AnomalyCounts[k.String()] = c.found.counts[k]
	}
	return d
}
