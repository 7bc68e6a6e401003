package checker

import (
	"encoding/json"
	"math/rand/v2"
	"sort"
	"strconv"

	"github.com/faultline/faultline/history"
)

// queueGenConfig shapes a generated kafka-queue history.
type queueGenConfig struct {
	seed        uint64
	calls       int // client calls before the final reads
	partitions  int
	producers   int     // processes that send
	assigners   int     // consumers in assign mode
	subscribers int     // consumers in subscribe mode
	sendShare   float64 // share of the calls that are sends
	perPoll     int     // records one poll returns at most
	infoRate    float64 // share of sends that complete as info (half of those are written)
	failRate    float64 // share of sends that fail (never written)
	rebalance   float64 // share of subscribe polls that first rewind (a rebalance)
	finalChunk  int     // records per final poll
	noFinal     bool    // leave out the final reads
}

// queueGenCall is one simulated client call.
type queueGenCall struct {
	slot          int
	call, lp, ret int64
	send          bool
	proc          history.Process
	in, out       []byte
	typ           history.Type
	err           string
	key           string
}

// generateQueue simulates producers and consumers on a correct Kafka topic:
// each call takes effect at a random point between its invocation and its
// completion, and the partitions' logs change in the order of those points,
// so the history has no anomaly by construction (unless a test plants one).
// After the clients, a final read of each partition reads it whole.
func generateQueue(cfg queueGenConfig) []history.Op {
	rng := rand.New(rand.NewPCG(cfg.seed, cfg.seed^0xca1f))
	consumers := cfg.assigners + cfg.subscribers
	sends := int(float64(cfg.calls) * cfg.sendShare)
	if consumers == 0 {
		sends = cfg.calls
	}
	polls := cfg.calls - sends
	const span = int64(60e9) // a minute of simulated time
	var calls []*queueGenCall
	addSlot := func(slot, n int, send bool) {
		if n == 0 {
			return
		}
		step := span / int64(n)
		t := rng.Int64N(step/4 + 1)
		for range n {
			d := 1 + rng.Int64N(step/2+1)
			c := &queueGenCall{slot: slot, call: t, ret: t + d, lp: t + rng.Int64N(d+1), send: send}
			calls = append(calls, c)
			t = c.ret + 1 + rng.Int64N(step/2+1)
		}
	}
	for s := range cfg.producers {
		addSlot(s, sends/cfg.producers+boolInt(s < sends%cfg.producers), true)
	}
	for s := range consumers {
		addSlot(cfg.producers+s, polls/consumers+boolInt(s < polls%consumers), false)
	}

	type record struct {
		offset int64
		value  string
	}
	logs := make([][]record, cfg.partitions)
	slots := cfg.producers + consumers
	procOf := make([]history.Process, slots)
	for i := range procOf {
		procOf[i] = history.Process(i)
	}
	nextProc := history.Process(slots)
	seq := map[history.Process]int{}
	positions := make([][]int64, slots) // consumer slot → next offset per partition
	turn := make([]int, slots)
	allParts := make([]byte, 0, 64)
	allParts = append(allParts, `{"mode":"assign","partitions":[`...)
	for p := range cfg.partitions {
		if p > 0 {
			allParts = append(allParts, ',')
		}
		allParts = strconv.AppendInt(allParts, int64(p), 10)
	}
	allParts = append(allParts, "]}"...)

	sort.Slice(calls, func(i, j int) bool { return calls[i].lp < calls[j].lp })
	for _, c := range calls {
		c.proc = procOf[c.slot]
		if c.send {
			seq[c.proc]++
			part := rng.IntN(cfg.partitions)
			c.key = strconv.Itoa(part)
			value := strconv.Itoa(int(c.proc)) + "-" + strconv.Itoa(seq[c.proc])
			c.in = []byte(`{"value":"` + value + `"}`)
			switch r := rng.Float64(); {
			case r < cfg.infoRate:
				c.typ, c.err, c.out = history.Info, "timeout", c.in
				if rng.IntN(2) == 0 {
					logs[part] = append(logs[part], record{int64(len(logs[part])), value})
				}
				procOf[c.slot] = nextProc
				nextProc++
			case r < cfg.infoRate+cfg.failRate:
				c.typ, c.err, c.out = history.Fail, "NOT_ENOUGH_REPLICAS", c.in
			default:
				off := int64(len(logs[part]))
				logs[part] = append(logs[part], record{off, value})
				c.typ = history.OK
				c.out = []byte(`{"value":"` + value + `","offset":` + strconv.FormatInt(off, 10) + `}`)
			}
			continue
		}
		subscribe := c.slot-cfg.producers >= cfg.assigners
		if positions[c.slot] == nil {
			positions[c.slot] = make([]int64, cfg.partitions)
		}
		pos := positions[c.slot]
		mode := "assign"
		c.in = allParts
		if subscribe {
			mode = "subscribe"
			c.in = []byte(`{"mode":"subscribe"}`)
			if rng.Float64() < cfg.rebalance {
				for p := range pos {
					pos[p] = max(0, pos[p]-rng.Int64N(int64(cfg.perPoll)+1))
				}
			}
		}
		got := make([][]record, cfg.partitions)
		n := 0
		for i := 0; i < cfg.partitions && n < cfg.perPoll; i++ {
			p := (turn[c.slot] + i) % cfg.partitions
			for n < cfg.perPoll && pos[p] < int64(len(logs[p])) {
				got[p] = append(got[p], logs[p][pos[p]])
				pos[p]++
				n++
			}
		}
		turn[c.slot]++
		c.typ = history.OK
		b := []byte(`{"mode":"` + mode + `","records":{`)
		first := true
		for p, rs := range got {
			if len(rs) == 0 {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendRecords(b, p, rs, func(r record) (int64, string) { return r.offset, r.value })
		}
		c.out = append(b, "}}"...)
	}

	type event struct {
		t   int64
		seq int
		op  history.Op
	}
	events := make([]event, 0, 2*len(calls))
	var maxT int64
	for _, c := range calls {
		f := "poll"
		if c.send {
			f = "send"
		}
		events = append(events, event{c.call, len(events), history.Op{Process: c.proc, Type: history.Invoke, F: f, Key: c.key, Value: c.in}})
		events = append(events, event{c.ret, len(events), history.Op{Process: c.proc, Type: c.typ, F: f, Key: c.key, Value: c.out, Error: c.err}})
		maxT = max(maxT, c.ret)
	}
	sort.Slice(events, func(i, j int) bool {
		if events[i].t != events[j].t {
			return events[i].t < events[j].t
		}
		return events[i].seq < events[j].seq
	})
	ops := make([]history.Op, 0, len(events)+2*len(calls)/max(1, cfg.finalChunk)+4*cfg.partitions)
	for _, e := range events {
		e.op.Index, e.op.Time = int64(len(ops)), e.t
		ops = append(ops, e.op)
	}
	if cfg.noFinal {
		return ops
	}
	t := maxT + 1000
	for p, log := range logs {
		proc := nextProc
		nextProc++
		in := json.RawMessage(`{"mode":"final","partitions":[` + strconv.Itoa(p) + `]}`)
		for from := 0; ; from += cfg.finalChunk {
			to := min(from+cfg.finalChunk, len(log))
			b := []byte(`{"mode":"final","records":{`)
			if to > from {
				b = appendRecords(b, p, log[from:to], func(r record) (int64, string) { return r.offset, r.value })
			}
			b = append(b, '}')
			if to == len(log) {
				b = append(b, `,"end_offset":`...)
				b = strconv.AppendInt(b, int64(len(log)), 10)
			}
			b = append(b, '}')
			ops = append(ops,
				history.Op{Index: int64(len(ops)), Time: t, Process: proc, Type: history.Invoke, F: "poll", Value: in},
				history.Op{Index: int64(len(ops) + 1), Time: t + 500, Process: proc, Type: history.OK, F: "poll", Value: b})
			t += 1000
			if to == len(log) {
				break
			}
		}
	}
	return ops
}

// appendRecords appends "p":[[offset,"value"],...] to b.
func appendRecords[R any](b []byte, p int, rs []R, get func(R) (int64, string)) []byte {
	b = append(b, '"')
	b = strconv.AppendInt(b, int64(p), 10)
	b = append(b, `":[`...)
	for i, r := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		off, v := get(r)
		b = append(b, '[')
		b = strconv.AppendInt(b, off, 10)
		b = append(b, `,"`...)
		b = append(b, v...)
		b = append(b, `"]`...)
	}
	return append(b, ']')
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// benchQueueConfig is the history BenchmarkQueue checks: about a million
// ops, 10 partitions, 50 producers, 10 assign and 10 subscribe consumers
// polling about 10 records at a time, and final reads.
var benchQueueConfig = queueGenConfig{seed: 7, calls: 497_550, partitions: 10, producers: 50,
	assigners: 10, subscribers: 10, sendShare: 0.5, perPoll: 10, infoRate: 0.01, failRate: 0.01,
	rebalance: 0.01, finalChunk: 100}
