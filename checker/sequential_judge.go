package checker

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// This file judges what sequential_read.go gathered: first what the ok ops
// say about the writes (which value and zxid each version of each key has),
// then each session against the order of the zxids.

// seqEnt is what is known of one version of one key: the state the write
// that made it left there.
type seqEnt struct {
	key     int32
	version int64
	value   int64
	zxid    int64
	hasZxid bool  // false only for an initial state no read returned
	src     int32 // the call that first showed it (acknowledged writes first); -1 for a key's initial state no read returned
	maker   int32 // the write or cas that made it, when known; else -1
	next    int64 // the zxid of the key's next version that has one; math.MaxInt64 if none
	nextEnt int32 // that version's entry; -1 if none
}

// seqState is a state at a version, as an op showed it; forks are counted
// once per state.
type seqState struct {
	key            int32
	version, value int64
	zxid           int64
}

// seqJudge is what judging needs beyond seqCheck.
type seqJudge struct {
	writers  map[int64]int32   // the call that first wrote each value, on any key
	multi    map[int64][]int32 // every call that wrote a value written more than once
	reported map[seqState]bool // states already reported as a version-fork
	ents     []seqEnt
}

// writersOf returns the calls that wrote value on key.
func (j *seqJudge) writersOf(c *seqCheck, key int32, value int64) []int32 {
	if ws, ok := j.multi[value]; ok {
		var on []int32
		for _, w := range ws {
			if c.calls[w].key == key {
				on = append(on, w)
			}
		}
		return on
	}
	if w, ok := j.writers[value]; ok && c.calls[w].key == key {
		return []int32{w}
	}
	return nil
}

// judge finds the anomalies.
func (c *seqCheck) judge() error {
	j := &seqJudge{writers: make(map[int64]int32, len(c.calls)/2), reported: map[seqState]bool{}}
	for i := range c.calls {
		call := &c.calls[i]
		if call.kind == registerRead || call.outcome == seqIgnored {
			continue
		}
		w, ok := j.writers[call.value]
		if !ok {
			j.writers[call.value] = int32(i)
			continue
		}
		if j.multi == nil {
			j.multi = map[int64][]int32{}
		}
		if len(j.multi[call.value]) == 0 {
			j.multi[call.value] = []int32{w}
		}
		j.multi[call.value] = append(j.multi[call.value], int32(i))
	}
	if c.stopped() {
		return errSeqStopped
	}
	for i := range c.calls {
		if call := &c.calls[i]; call.kind == registerRead && call.outcome == seqOK {
			c.checkReadValue(j, int32(i))
		}
	}
	if c.stopped() {
		return errSeqStopped
	}
	c.buildVersions(j)
	if c.stopped() {
		return errSeqStopped
	}
	c.checkZxids(j)
	if c.stopped() {
		return errSeqStopped
	}
	return c.checkSessions(j)
}

// checkReadValue checks that ok read i returned a value some write can
// have put there, at the version and zxid that write made.
func (c *seqCheck) checkReadValue(j *seqJudge, i int32) {
	call := &c.calls[i]
	key := c.keys[call.key]
	ws := j.writersOf(c, call.key, call.value)
	if len(ws) > 1 {
		// Written more than once: which write it was cannot be told, only
		// whether one of them can have put it there.
		if call.value != 0 && !slices.ContainsFunc(ws, func(w int32) bool { return c.couldHaveWritten(w, call) }) {
			c.phantom(i, fmt.Sprintf("%s: %d writes on %s wrote %d, but each either certainly did not happen or was invoked only after the read completed", c.describe(i), len(ws), key, call.value), ws[0])
		}
		return
	}
	ok := len(ws) == 1
	var w int32
	if ok {
		w = ws[0]
	}
	switch {
	case !ok && call.value == 0:
		// The initial state.
		if call.version != 0 {
			c.fork(j, i, fmt.Sprintf("%s: 0 is the initial value, which only version 0 holds", c.describe(i)), -1)
		}
		return
	case !ok:
		c.phantom(i, fmt.Sprintf("%s: no write or cas on %s wrote %d", c.describe(i), key, call.value), -1)
		return
	case call.value == 0:
		return // both the initial value and written: which one cannot be told
	}
	wc := &c.calls[w]
	switch wc.outcome {
	case seqFailed:
		c.phantom(i, fmt.Sprintf("%s: %d was written only by %s, which certainly did not happen", c.describe(i), call.value, c.describe(w)), w)
	case seqOK, seqUnknown, seqRevealed:
		if wc.inv > call.done {
			c.phantom(i, fmt.Sprintf("%s: %d was written only by %s, invoked after the read completed", c.describe(i), call.value, c.describe(w)), w)
			return
		}
		switch {
		case wc.outcome == seqUnknown:
			wc.outcome, wc.version, wc.zxid, wc.ent = seqRevealed, call.version, call.zxid, i
			c.revealed++
		case wc.version != call.version || wc.zxid != call.zxid:
			other := w
			if wc.outcome == seqRevealed {
				other = wc.ent // the read that revealed it
			}
			c.fork(j, i, fmt.Sprintf("%s disagrees with %s: one written value in two states", c.describe(i), c.describe(other)), w, other)
		}
	}
}

// couldHaveWritten reports whether write w can have put a value there for
// read r to return.
func (c *seqCheck) couldHaveWritten(w int32, r *seqCall) bool {
	wc := &c.calls[w]
	return wc.outcome != seqFailed && wc.inv < r.done
}

// phantom reports that read i returned a value no write can have put there.
func (c *seqCheck) phantom(i int32, msg string, involved ...int32) {
	c.calls[i].flagged = true
	if c.found.note(seqPhantomValue) {
		c.found.add(seqPhantomValue, c.example(i, msg, involved...))
	}
}

// fork reports that call i showed a state (its value at its version and
// zxid) that contradicts another, once per state.
func (c *seqCheck) fork(j *seqJudge, i int32, msg string, involved ...int32) {
	call := &c.calls[i]
	if call.kind == registerRead {
		call.flagged = true
	}
	st := seqState{key: call.key, version: call.version, value: call.value, zxid: call.zxid}
	if j.reported[st] {
		return
	}
	j.reported[st] = true
	if c.found.note(seqVersionFork) {
		c.found.add(seqVersionFork, c.example(i, msg, involved...))
	}
}

// buildVersions makes the entries of every key's versions from the ok ops
// (reads with a phantom or forked value left out), acknowledged writes
// first, and reports the versions with more than one state.
func (c *seqCheck) buildVersions(j *seqJudge) {
	claim := func(call *seqCall) bool {
		return call.outcome == seqOK && !call.flagged
	}
	// Group the claims by key, in call order (a counting sort).
	start := make([]int32, len(c.keys)+1)
	for i := range c.calls {
		if call := &c.calls[i]; claim(call) {
			start[call.key+1]++
		}
	}
	for k := range c.keys {
		start[k+1] += start[k]
	}
	order := make([]int32, start[len(c.keys)])
	fill := slices.Clone(start[:len(c.keys)])
	for i := range c.calls {
		if call := &c.calls[i]; claim(call) {
			order[fill[call.key]] = int32(i)
			fill[call.key]++
		}
	}
	j.ents = make([]seqEnt, 0, len(order))
	isRead := func(i int32) int {
		if c.calls[i].kind == registerRead {
			return 1
		}
		return 0
	}
	var scratch []int32
	for k := range c.keys {
		claims := order[start[k]:start[k+1]]
		scratch = c.sortClaims(claims, scratch, isRead)
		for g := 0; g < len(claims); {
			v := c.calls[claims[g]].version
			ent := seqEnt{key: int32(k), version: v, src: -2, maker: -1, nextEnt: -1}
			if v == 0 {
				ent.src = -1 // the initial state: value 0, zxid as reads show it
			}
			e := int32(len(j.ents))
			for ; g < len(claims) && c.calls[claims[g]].version == v; g++ {
				i := claims[g]
				call := &c.calls[i]
				call.ent = e
				switch {
				case ent.src == -2:
					ent.value, ent.zxid, ent.hasZxid, ent.src = call.value, call.zxid, true, i
					if call.kind != registerRead {
						ent.maker = i
					} else if ws := j.writersOf(c, call.key, call.value); len(ws) == 1 {
						ent.maker = ws[0] // an unknown write the read revealed
					}
				case ent.value == call.value && !ent.hasZxid:
					// The initial state, first shown by this read.
					ent.zxid, ent.hasZxid, ent.src = call.zxid, true, i
				case ent.value == call.value && ent.zxid == call.zxid:
				default:
					c.fork(j, i, fmt.Sprintf("%s and %s show different states at version %d of %s",
						c.describe(ent.src), c.describe(i), v, c.keys[k]), ent.src)
				}
			}
			j.ents = append(j.ents, ent)
		}
	}
	c.keyEnts = make([]int32, len(c.keys)+1)
	for _, e := range j.ents {
		c.keyEnts[e.key+1]++
	}
	for k := range c.keys {
		c.keyEnts[k+1] += c.keyEnts[k]
	}
}

// sortClaims sorts one key's claims (in call order) by version, the ok
// writes and cas ops of a version before its reads, and otherwise in call
// order. Versions are usually dense, and then it takes a counting sort;
// scratch is a buffer it may reuse, and returns.
func (c *seqCheck) sortClaims(claims, scratch []int32, isRead func(int32) int) []int32 {
	if len(claims) < 2 {
		return scratch
	}
	lo, hi := c.calls[claims[0]].version, c.calls[claims[0]].version
	for _, i := range claims {
		lo, hi = min(lo, c.calls[i].version), max(hi, c.calls[i].version)
	}
	if lo < 0 || hi-lo > 4*int64(len(claims))+64 {
		slices.SortFunc(claims, func(a, b int32) int {
			return cmp.Or(cmp.Compare(c.calls[a].version, c.calls[b].version), isRead(a)-isRead(b), int(a-b))
		})
		return scratch
	}
	n := int(hi - lo + 1)
	scratch = slices.Grow(scratch[:0], 2*n+1+len(claims))[:2*n+1+len(claims)]
	counts, out := scratch[:2*n+1], scratch[2*n+1:]
	clear(counts)
	for _, i := range claims { // slot 2(v-lo)+r+1 counts version v, reads (r=1) after writes (r=0)
		counts[2*(c.calls[i].version-lo)+int64(isRead(i))+1]++
	}
	for b := 1; b < len(counts); b++ {
		counts[b] += counts[b-1]
	}
	for _, i := range claims {
		b := 2*(c.calls[i].version-lo) + int64(isRead(i))
		out[counts[b]] = i
		counts[b]++
	}
	copy(claims, out)
	return scratch
}

// checkZxids checks that the zxids order each key's versions and name one
// write each, and links each version to the next with a zxid.
func (c *seqCheck) checkZxids(j *seqJudge) {
	for k := range c.keys {
		from, to := c.keyEnts[k], c.keyEnts[k+1]
		prev := int32(-1)
		for e := from; e < to; e++ {
			if !j.ents[e].hasZxid {
				continue
			}
			if prev >= 0 && j.ents[e].zxid <= j.ents[prev].zxid && c.found.note(seqZxidOrder) {
				a, b := &j.ents[prev], &j.ents[e]
				c.found.add(seqZxidOrder, c.example(b.src, fmt.Sprintf("on %s, version %d has zxid %d, not above version %d's zxid %d: %s; %s",
					c.keys[k], b.version, b.zxid, a.version, a.zxid, c.describe(a.src), c.describe(b.src)), a.src))
			}
			prev = e
		}
		next, nextEnt := int64(math.MaxInt64), int32(-1)
		for e := to - 1; e >= from; e-- {
			j.ents[e].next, j.ents[e].nextEnt = next, nextEnt
			if j.ents[e].hasZxid {
				next, nextEnt = j.ents[e].zxid, e
			}
		}
	}
	c.checkZxidsUnique(j)
}

// checkZxidsUnique checks that no two versions (of one key or two) have
// the same zxid. It radix-sorts the zxids, and looks for the versions only
// if two are equal.
func (c *seqCheck) checkZxidsUnique(j *seqJudge) {
	var zs []uint64
	for e := range j.ents {
		if j.ents[e].hasZxid {
			zs = append(zs, uint64(j.ents[e].zxid)^1<<63) // signed order
		}
	}
	zs = radixSort(zs)
	dup := false
	for i := 1; i < len(zs); i++ {
		if zs[i] == zs[i-1] {
			dup = true
			break
		}
	}
	if !dup {
		return
	}
	byZxid := make(map[int64]int32, len(j.ents))
	for e := range j.ents {
		ent := &j.ents[e]
		if !ent.hasZxid {
			continue
		}
		o, ok := byZxid[ent.zxid]
		if !ok {
			byZxid[ent.zxid] = int32(e)
			continue
		}
		if c.found.note(seqZxidOrder) {
			a := &j.ents[o]
			c.found.add(seqZxidOrder, c.example(ent.src, fmt.Sprintf("zxid %d names two different writes, version %d of %s and version %d of %s: %s; %s",
				ent.zxid, a.version, c.keys[a.key], ent.version, c.keys[ent.key], c.describe(a.src), c.describe(ent.src)), a.src))
		}
	}
}

// radixSort sorts s in linear time, 16 bits at a time, and returns the
// sorted values (in s, or in a slice of its own).
func radixSort(s []uint64) []uint64 {
	if len(s) < 2 {
		return s
	}
	buf := make([]uint64, len(s))
	var counts [1 << 16]int
	for shift := 0; shift < 64; shift += 16 {
		clear(counts[:])
		for _, x := range s {
			counts[x>>shift&0xffff]++
		}
		if counts[s[0]>>shift&0xffff] == len(s) {
			continue // all alike in these bits
		}
		sum := 0
		for d, n := range counts {
			counts[d], sum = sum, sum+n
		}
		for _, x := range s {
			d := x >> shift & 0xffff
			buf[counts[d]] = x
			counts[d]++
		}
		s, buf = buf, s
	}
	return s
}

// maxOwnWalk bounds how many versions back checkSessions looks for a
// session's own write that a read missed.
const maxOwnWalk = 1 << 12

// checkSessions follows every session in its order: each ok op must fit at
// or after the newest zxid the session has observed.
func (c *seqCheck) checkSessions(j *seqJudge) error {
	seen := make([]int64, c.sessions+1)   // the newest zxid each session observed
	seenBy := make([]int32, c.sessions+1) // the call that observed it
	for s := range seen {
		seen[s], seenBy[s] = math.MinInt64, -1
	}
	for i := range c.calls {
		if i&(1<<14-1) == 0 && c.stopped() {
			return errSeqStopped
		}
		call := &c.calls[i]
		if call.outcome != seqOK || call.flagged {
			continue
		}
		s := call.session
		if call.kind == registerRead {
			if e := &j.ents[call.ent]; e.nextEnt >= 0 && e.next <= seen[s] {
				c.wentBack(j, int32(i), e, seen[s], seenBy[s])
			}
		} else if call.zxid <= seen[s] && c.found.note(seqWriteWentBack) {
			c.found.add(seqWriteWentBack, c.example(int32(i), fmt.Sprintf("%s: its zxid is not above zxid %d, which the session had already observed: %s",
				c.describe(int32(i)), seen[s], c.describe(seenBy[s])), seenBy[s]))
		}
		if call.zxid > seen[s] {
			seen[s], seenBy[s] = call.zxid, int32(i)
		}
	}
	return nil
}

// wentBack reports read i, whose version e was replaced at zxid e.next, at
// or below zxid seen that its session had observed through call by.
func (c *seqCheck) wentBack(j *seqJudge, i int32, e *seqEnt, seen int64, by int32) {
	call := &c.calls[i]
	// Was it the session's own write that replaced the version read?
	for n, walked := e.nextEnt, 0; n >= 0 && walked < maxOwnWalk; n, walked = j.ents[n].nextEnt, walked+1 {
		next := &j.ents[n]
		if next.zxid > seen {
			break
		}
		if w := next.maker; w >= 0 {
			if wc := &c.calls[w]; wc.outcome == seqOK && wc.session == call.session && wc.inv < call.inv {
				if c.found.note(seqMissedOwnWrite) {
					c.found.add(seqMissedOwnWrite, c.example(i, fmt.Sprintf("%s missed the session's own earlier write: %s",
						c.describe(i), c.describe(w)), w))
				}
				return
			}
		}
	}
	if c.found.note(seqReadWentBack) {
		next := &j.ents[e.nextEnt]
		who := next.maker
		if who < 0 {
			who = next.src
		}
		c.found.add(seqReadWentBack, c.example(i, fmt.Sprintf("%s went back: version %d was replaced by version %d at zxid %d (%s), and the session had already observed zxid %d: %s",
			c.describe(i), call.version, next.version, next.zxid, c.describe(who), seen, c.describe(by)), who, by))
	}
}
