package checker

import (
	"container/heap"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/faultline/faultline/history"
)

// zkGenConfig shapes a zk-register history simulated the way ZooKeeper
// serves one: a leader orders every write by zxid; each server applies the
// writes in that order some time after the leader (a lagging follower); a
// session lives on one server, reads what that server has applied, and is
// answered a write only once its server has applied it. The history is
// sequentially consistent per session by construction, and its writes are
// linearizable; reads may be stale.
type zkGenConfig struct {
	seed      uint64
	procs     int     // workers, as the test's concurrency
	servers   int     // a session's server is its process mod servers
	slots     int     // keys in use at once (the workload's --keys)
	opsPerKey int     // calls per key before a fresh key
	calls     int     // client calls in all, final reads aside
	readShare float64 // share of reads (the workload's 0.4)
	infoRate  float64 // share of calls that complete as info
	failRate  float64 // share of calls that fail before they are sent
	applied   float64 // share of info writes and cas ops that took effect
	// lostWrites is a share of the writes and cas ops (beyond infoRate)
	// that complete as info and never take effect.
	lostWrites float64
	maxLag     int64 // the most a follower applies a write after the leader
	final      bool  // final reads after the workers stop
	cutAt      int   // if > 0, end the history after this many ops (some calls never complete)
}

// benchZKConfig is a history of the real shape: 967 keys of 200 calls by
// 10 workers, reads, writes and cas ops mixed, about 1% info.
var benchZKConfig = zkGenConfig{seed: 294, procs: 10, servers: 3, slots: 5, opsPerKey: 200, calls: 967 * 200,
	readShare: 0.4, infoRate: 0.01, failRate: 0.005, applied: 0.5, maxLag: 1000, final: true}

type zkVersion struct {
	value, zxid int64
	applyAt     []int64 // per server, when it applied the write
}

type zkWorker struct {
	proc    history.Process
	pending *zkCall
	seen    map[string]int64 // the latest version seen per key, for cas
}

type zkCall struct {
	f, key                   string
	value, expected          int64
	info, fail               bool
	outValue, outVer, outZx  int64
	ok, badVersion, effected bool
	noNode, lost             bool
	ackAt                    int64
}

type zkEvent struct {
	t, seq int64
	kind   int // 0 invoke, 1 take effect, 2 complete
	w      int
}

type zkEvents []zkEvent

func (h zkEvents) Len() int { return len(h) }
func (h zkEvents) Less(i, j int) bool {
	return h[i].t < h[j].t || (h[i].t == h[j].t && h[i].seq < h[j].seq)
}
func (h zkEvents) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *zkEvents) Push(x any)   { *h = append(*h, x.(zkEvent)) }
func (h *zkEvents) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// generateZK simulates cfg; see zkGenConfig.
func generateZK(cfg zkGenConfig) []history.Op {
	rng := rand.New(rand.NewPCG(cfg.seed, cfg.seed^0x2c0ffee))
	var (
		ops       []history.Op
		events    zkEvents
		seq       int64
		epoch     int64 = 1
		counter   int64
		lastApply = make([]int64, cfg.servers)
		keys      = map[string][]zkVersion{}
		keyOrder  []string
		nextKey   int
		nextValue int64 = 1
		invoked   int
		maxProc   = history.Process(cfg.procs - 1)
		slots     = make([]struct {
			key string
			ops int
		}, cfg.slots)
	)
	zxid := func() int64 {
		if rng.IntN(20000) == 0 {
			epoch, counter = epoch+1, 0 // a new leader
		}
		counter++
		return epoch<<32 | counter
	}
	schedule := func(t int64, kind, w int) {
		seq++
		heap.Push(&events, zkEvent{t: t, seq: seq, kind: kind, w: w})
	}
	record := func(t int64, p history.Process, typ history.Type, f, key, value, node, errText string) {
		op := history.Op{Index: int64(len(ops)), Time: t, Process: p, Type: typ, F: f, Key: key, Node: node, Error: errText}
		if value != "" {
			op.Value = []byte(value)
		}
		ops = append(ops, op)
	}
	// apply has the leader apply a write at t, and each follower (in zxid
	// order) up to maxLag later.
	apply := func(key string, value, t int64) {
		v := zkVersion{value: value, zxid: zxid(), applyAt: make([]int64, cfg.servers)}
		for s := range cfg.servers {
			at := t
			if s > 0 {
				at = max(lastApply[s], t+rng.Int64N(cfg.maxLag+1))
			}
			lastApply[s] = at
			v.applyAt[s] = at
		}
		keys[key] = append(keys[key], v)
	}
	// visible returns the latest version of key that server s applied by
	// t, or -1 if it has not applied the key's creation yet.
	visible := func(key string, s int, t int64) int64 {
		vs := keys[key]
		for i := len(vs) - 1; i >= 0; i-- {
			if vs[i].applyAt[s] <= t {
				return int64(i)
			}
		}
		return -1
	}
	workers := make([]*zkWorker, cfg.procs)
	for i := range workers {
		workers[i] = &zkWorker{proc: history.Process(i), seen: map[string]int64{}}
		schedule(rng.Int64N(100), 0, i)
	}
	server := func(w *zkWorker) int { return int(w.proc) % cfg.servers }
	for events.Len() > 0 {
		e := heap.Pop(&events).(zkEvent)
		w := workers[e.w]
		switch e.kind {
		case 0: // invoke
			if invoked == cfg.calls {
				continue
			}
			invoked++
			i := rng.IntN(len(slots))
			sl := &slots[i]
			if sl.key == "" || sl.ops >= cfg.opsPerKey {
				sl.key, sl.ops = "r"+strconv.Itoa(nextKey), 0
				nextKey++
				keyOrder = append(keyOrder, sl.key)
				keys[sl.key] = nil
				apply(sl.key, 0, e.t) // the znode's creation, before any op on it
			}
			sl.ops++
			c := &zkCall{key: sl.key}
			switch r := rng.Float64(); {
			case r < cfg.readShare:
				c.f = "read"
			case r < cfg.readShare+(1-cfg.readShare)/2:
				c.f = "write"
			default:
				c.f = "cas"
				c.expected = w.seen[c.key]
				if rng.IntN(5) == 0 {
					c.expected++
				}
			}
			in := ""
			if c.f != "read" {
				c.value = nextValue
				nextValue++
				in = fmt.Sprintf(`{"value":%d}`, c.value)
				if c.f == "cas" {
					in = fmt.Sprintf(`{"expected_version":%d,"value":%d}`, c.expected, c.value)
				}
			}
			c.info = rng.Float64() < cfg.infoRate
			c.fail = !c.info && rng.Float64() < cfg.failRate
			if cfg.lostWrites > 0 && c.f != "read" && !c.info && !c.fail && rng.Float64() < cfg.lostWrites {
				c.info, c.lost = true, true
			}
			w.pending = c
			record(e.t, w.proc, history.Invoke, c.f, c.key, in, "", "")
			schedule(e.t+1+rng.Int64N(400), 1, e.w)
		case 1: // take effect
			c := w.pending
			if c.fail {
				schedule(e.t+1+rng.Int64N(50), 2, e.w)
				continue
			}
			s := server(w)
			switch c.f {
			case "read":
				v := visible(c.key, s, e.t)
				if v < 0 {
					c.noNode = true // the server has not made the znode yet
					break
				}
				kv := keys[c.key][v]
				c.ok, c.outValue, c.outVer, c.outZx = true, kv.value, v, kv.zxid
				c.ackAt = e.t
			default:
				if c.lost {
					break
				}
				vs := keys[c.key]
				cur := int64(len(vs) - 1)
				if c.f == "cas" && cur != c.expected {
					c.badVersion = true
					c.ackAt = e.t
					break
				}
				if c.info && rng.Float64() >= cfg.applied {
					break
				}
				apply(c.key, c.value, e.t)
				c.effected = true
				c.outVer, c.outZx = cur+1, keys[c.key][cur+1].zxid
				c.ok = true
				c.ackAt = keys[c.key][cur+1].applyAt[s] // answered once its server applied it
			}
			if c.info {
				schedule(e.t+5000+rng.Int64N(2000), 2, e.w)
			} else {
				schedule(max(e.t, c.ackAt)+1+rng.Int64N(400), 2, e.w)
			}
		case 2: // complete
			c := w.pending
			node := fmt.Sprintf("zk%d", server(w)+1)
			switch {
			case c.info:
				record(e.t, w.proc, history.Info, c.f, c.key, "", node, "timeout")
				w.proc += history.Process(cfg.procs)
				maxProc = max(maxProc, w.proc)
				w.seen = map[string]int64{}
			case c.fail:
				record(e.t, w.proc, history.Fail, c.f, c.key, "", node, "no-server")
			case c.noNode:
				record(e.t, w.proc, history.Fail, c.f, c.key, "", node, "no-node")
			case c.badVersion:
				record(e.t, w.proc, history.Fail, c.f, c.key, "", node, errBadVersion)
			case c.f == "read":
				record(e.t, w.proc, history.OK, c.f, c.key, fmt.Sprintf(`{"value":%d,"version":%d,"zxid":%d}`, c.outValue, c.outVer, c.outZx), node, "")
				w.seen[c.key] = max(w.seen[c.key], c.outVer)
			case c.f == "write":
				record(e.t, w.proc, history.OK, c.f, c.key, fmt.Sprintf(`{"value":%d,"version":%d,"zxid":%d}`, c.value, c.outVer, c.outZx), node, "")
				w.seen[c.key] = c.outVer
			default:
				record(e.t, w.proc, history.OK, c.f, c.key, fmt.Sprintf(`{"expected_version":%d,"value":%d,"version":%d,"zxid":%d}`, c.expected, c.value, c.outVer, c.outZx), node, "")
				w.seen[c.key] = c.outVer
			}
			w.pending = nil
			schedule(e.t+1+rng.Int64N(100), 0, e.w)
		}
	}
	if cfg.final {
		t := int64(0)
		if len(ops) > 0 {
			t = ops[len(ops)-1].Time + 10000
		}
		p := maxProc + 1
		for _, key := range keyOrder {
			vs := keys[key]
			v := vs[len(vs)-1]
			record(t, p, history.Invoke, "read", key, "", "", "")
			record(t+5, p, history.OK, "read", key, fmt.Sprintf(`{"value":%d,"version":%d,"zxid":%d}`, v.value, len(vs)-1, v.zxid), finalNode, "")
			t += 10
		}
	}
	if cfg.cutAt > 0 && cfg.cutAt < len(ops) {
		ops = ops[:cfg.cutAt]
	}
	return ops
}

// withSeenInfo turns share of the writes and cas ops of ops (a history
// from generateZK with procs workers) into info ops that did take effect:
// it picks, at random from seed, ok ones whose value an ok read returned,
// completes them as info instead (no value, error "timeout"), and retires
// their processes: the worker goes on under a new number, the old one plus
// a multiple of procs, as the workload does, and the final reads keep a
// number above every worker's. It changes ops in place and returns how
// many it turned.
func withSeenInfo(ops []history.Op, share float64, procs int, seed uint64) int {
	read := map[string]map[int64]bool{} // key → values an ok read returned
	var (
		writes   int
		eligible []int // completions of ok writes and cas ops whose value was read
		maxProc  history.Process
		final    = history.Process(-1)
	)
	value := func(op history.Op) int64 {
		var v struct{ Value int64 }
		if err := json.Unmarshal(op.Value, &v); err != nil {
			panic(err)
		}
		return v.Value
	}
	for _, op := range ops {
		if op.Type == history.OK && op.F == "read" {
			if read[op.Key] == nil {
				read[op.Key] = map[int64]bool{}
			}
			read[op.Key][value(op)] = true
		}
		if op.Node == finalNode {
			final = op.Process
		}
	}
	for i, op := range ops {
		if !op.Process.IsClient() || op.Process == final {
			continue
		}
		maxProc = max(maxProc, op.Process)
		if op.Type == history.Invoke {
			if op.F != "read" {
				writes++
			}
			continue
		}
		if op.Type == history.OK && op.F != "read" && read[op.Key][value(op)] {
			eligible = append(eligible, i)
		}
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x1f0))
	rng.Shuffle(len(eligible), func(i, j int) { eligible[i], eligible[j] = eligible[j], eligible[i] })
	turn := map[int]bool{}
	for _, i := range eligible[:min(len(eligible), int(share*float64(writes)+0.5))] {
		turn[i] = true
	}
	next := (maxProc/history.Process(procs) + 1) * history.Process(procs)
	renamed := map[history.Process]history.Process{}
	if final >= 0 {
		renamed[final] = next + history.Process(len(turn)*procs) // above every new number
	}
	for i := range ops {
		op := &ops[i]
		p := op.Process
		if to, ok := renamed[p]; ok {
			op.Process = to
		}
		if turn[i] {
			op.Type, op.Value, op.Error = history.Info, nil, "timeout"
			renamed[p] = next + p%history.Process(procs)
			next += history.Process(procs)
		}
	}
	return len(turn)
}
