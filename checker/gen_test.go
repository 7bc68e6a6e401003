package checker

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"

	"github.com/faultline/faultline/history"
)

// genConfig shapes a generated zk-register history.
type genConfig struct {
	seed     uint64
	ops      int     // client calls in all
	keys     int     // znodes
	procs    int     // concurrent clients
	infoRate float64 // share of calls that complete as info
	failRate float64 // share of calls that fail for another reason than bad-version
	applied  float64 // share of info writes and cas ops that took effect
	cutAt    float64 // if > 0, end the history at this share of its length: later completions are lost
	nemesis  bool    // add partition start/stop ops
}

// genCall is one simulated client call.
type genCall struct {
	slot             int // the client (its process id changes after an info)
	proc             history.Process
	call, lp, ret    int64 // invocation, linearization point, completion
	key              string
	f                string
	in, out          map[string]int64
	typ              history.Type
	err              string
	tookEffect, info bool
}

// generateRegister simulates clients on a linearizable versioned register:
// each client runs calls one after another, each call takes effect at a
// random point between its invocation and completion, and the register is
// updated in the order of those points, so the history is linearizable by
// construction (unless a test mutates it afterwards).
func generateRegister(cfg genConfig) []history.Op {
	rng := rand.New(rand.NewPCG(cfg.seed, cfg.seed^0x5eed))
	var calls []*genCall
	perSlot := (cfg.ops + cfg.procs - 1) / cfg.procs
	for slot := 0; slot < cfg.procs && len(calls) < cfg.ops; slot++ {
		t := rng.Int64N(1000)
		for i := 0; i < perSlot && len(calls) < cfg.ops; i++ {
			d := 200 + rng.Int64N(5000)
			c := &genCall{slot: slot, call: t, ret: t + d, lp: t + 1 + rng.Int64N(d-1),
				key: fmt.Sprintf("r%d", rng.IntN(cfg.keys))}
			switch r := rng.Float64(); {
			case r < 0.5:
				c.f = "read"
			case r < 0.8:
				c.f = "write"
			default:
				c.f = "cas"
			}
			calls = append(calls, c)
			t = c.ret + 1 + rng.Int64N(500)
		}
	}

	// Apply the calls in linearization order.
	sort.Slice(calls, func(i, j int) bool { return calls[i].lp < calls[j].lp })
	type reg struct{ value, version int64 }
	regs := map[string]*reg{}
	lastSeen := map[[2]any]int64{} // (slot, key) → the version the client last saw
	next := int64(1)
	for _, c := range calls {
		r := regs[c.key]
		if r == nil {
			r = &reg{}
			regs[c.key] = r
		}
		c.info = rng.Float64() < cfg.infoRate
		fail := !c.info && rng.Float64() < cfg.failRate
		effect := !fail && (!c.info || rng.Float64() < cfg.applied)
		seen := [2]any{c.slot, c.key}
		switch c.f {
		case "read":
			c.out = map[string]int64{"value": r.value, "version": r.version}
		case "write":
			c.in = map[string]int64{"value": next}
			next++
			if effect {
				r.value, r.version = c.in["value"], r.version+1
				c.tookEffect = true
			}
			c.out = map[string]int64{"value": c.in["value"], "version": r.version}
		case "cas":
			expected := lastSeen[seen]
			if rng.IntN(4) == 0 {
				expected = r.version // a client that is up to date
			}
			c.in = map[string]int64{"expected_version": expected, "value": next}
			next++
			c.out = map[string]int64{"expected_version": expected, "value": c.in["value"]}
			switch {
			case fail:
			case r.version != expected:
				if !c.info {
					c.typ, c.err = history.Fail, errBadVersion
				}
			case effect:
				r.value, r.version = c.in["value"], r.version+1
				c.out["version"] = r.version
				c.tookEffect = true
			}
		}
		switch {
		case c.info:
			c.typ, c.err = history.Info, "timeout"
		case fail:
			c.typ, c.err = history.Fail, "connection-loss"
		case c.typ == "":
			c.typ = history.OK
			lastSeen[seen] = r.version
		}
	}

	// Give each client its process ids: a new one after each info.
	sort.Slice(calls, func(i, j int) bool { return calls[i].call < calls[j].call })
	procOf := make([]history.Process, cfg.procs)
	for i := range procOf {
		procOf[i] = history.Process(i)
	}
	nextProc := history.Process(cfg.procs)
	for _, c := range calls {
		c.proc = procOf[c.slot]
		if c.info {
			procOf[c.slot] = nextProc
			nextProc++
		}
	}

	type event struct {
		t   int64
		seq int
		op  history.Op
	}
	var events []event
	var maxT int64
	add := func(t int64, op history.Op) {
		events = append(events, event{t: t, seq: len(events), op: op})
		maxT = max(maxT, t)
	}
	for _, c := range calls {
		add(c.call, history.Op{Process: c.proc, Type: history.Invoke, F: c.f, Key: c.key, Value: mustJSON(c.in)})
		out := c.out
		if c.typ != history.OK {
			out = c.in
		}
		add(c.ret, history.Op{Process: c.proc, Type: c.typ, F: c.f, Key: c.key, Value: mustJSON(out), Error: c.err})
	}
	if cfg.nemesis {
		for t := int64(20000); t+30000 < maxT; t += 60000 {
			v := json.RawMessage(`{"isolated":["zk1"]}`)
			add(t, history.Op{Process: history.Nemesis, Type: history.Invoke, F: "start-partition", Value: v})
			add(t+100, history.Op{Process: history.Nemesis, Type: history.Info, F: "start-partition", Value: v})
			add(t+30000, history.Op{Process: history.Nemesis, Type: history.Invoke, F: "stop-partition"})
			add(t+30100, history.Op{Process: history.Nemesis, Type: history.Info, F: "stop-partition"})
		}
	}
	sort.Slice(events, func(i, j int) bool {
		if events[i].t != events[j].t {
			return events[i].t < events[j].t
		}
		return events[i].seq < events[j].seq
	})
	cut := int64(-1)
	if cfg.cutAt > 0 {
		cut = int64(float64(maxT) * cfg.cutAt)
	}
	ops := make([]history.Op, 0, len(events))
	for _, e := range events {
		if cut >= 0 && e.t > cut {
			break
		}
		e.op.Index, e.op.Time = int64(len(ops)), e.t
		ops = append(ops, e.op)
	}
	return ops
}

func mustJSON(v map[string]int64) json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
