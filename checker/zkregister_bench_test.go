package checker

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/faultline/faultline/history"
)

// BenchmarkZKRegisterCheck checks the same zk-register histories, side by
// side in one run, with a textbook use of porcupine (plainPorcupine, below)
// and with faultline's checkers: Linearizable, LinearizableWrites,
// Sequential, and the three together as a zk-register test runs them
// (ZKRegisterCheckers, composed with All). porcupine-search is the
// textbook's search alone, on operations built before the timer starts:
// the floor for any checker built on porcupine.
//
// The histories (zkBenchHistories) are of the real shape: 193,400 client
// calls (plus 967 final reads) on 967 keys of 200 calls by 10 workers,
// reads, writes and cas ops mixed, about 1% of the calls info (half of
// them took effect), zxids; linearizable. Variants turn 1% or 5% of the
// writes and cas ops into info ops that did take effect (a read saw their
// value), or into info ops that never did.
//
// Each sub-benchmark (<history>/<checker>) reports:
//   - ms/check: wall time per check (in place of ns/op);
//   - cpu-ms/check: the process's CPU time per check, steadier than wall
//     time on a shared machine (2 cores: up to twice the wall time);
//   - peak-MB: the highest heap during a check, the history included:
//     the runtime's /memory/classes/heap/objects:bytes (live objects and
//     garbage not yet swept: what the heap reaches before a collection),
//     sampled every millisecond by a goroutine (sampleHeapPeak), from a
//     collection just before the check;
//   - own-MB: peak-MB less the heap just before the check (the history,
//     which every checker shares): the checker's own memory;
//   - x-time, x-cpu, x-peak, x-own: the same as a multiple of porcupine's
//     (the textbook's) on the same history in the same run, and
//     x-search-time as a multiple of porcupine-search's. porcupine runs
//     first in each history.
//
// Each figure is the median of the checks (-benchtime 3x: of 3);
// FAULTLINE_BENCH_RUNS=1 logs each check's.
//
// Generating a history is not timed. make bench-check runs it.
func BenchmarkZKRegisterCheck(b *testing.B) {
	for _, h := range zkBenchHistories() {
		b.Run(h.name, func(b *testing.B) {
			ops := h.ops()
			var prepared map[string][]porcupine.Operation // porcupine-search's, built untimed
			var base, search *checkFigures
			for _, c := range []struct {
				name  string
				check func([]history.Op) Validity
			}{
				{"porcupine", func(ops []history.Op) Validity { return plainPorcupine(ops, time.Minute) }},
				{"porcupine-search", func([]history.Op) Validity { return plainSearch(prepared, time.Minute) }},
				{"linearizable", benchChecker(Linearizable{})},
				{"linearizable-writes", benchChecker(LinearizableWrites{})},
				{"sequential", benchChecker(Sequential{})},
				{"zk-register", benchChecker(All(zkRegisterCheckers()...))},
			} {
				b.Run(c.name, func(b *testing.B) {
					if c.name == "porcupine-search" {
						prepared = plainOperations(ops)
					}
					f := benchCheck(b, ops, c.check)
					switch {
					case c.name == "porcupine":
						base = &f
					case c.name == "porcupine-search":
						search = &f
					case base != nil:
						b.ReportMetric(f.ms/base.ms, "x-time")
						b.ReportMetric(f.cpu/base.cpu, "x-cpu")
						b.ReportMetric(f.peak/base.peak, "x-peak")
						b.ReportMetric(f.own/base.own, "x-own")
						if search != nil {
							b.ReportMetric(f.ms/search.ms, "x-search-time")
						}
					}
				})
				prepared = nil
			}
			runtime.KeepAlive(ops)
		})
	}
}

// zkRegisterCheckers are the checkers of a zk-register test with sync reads.
func zkRegisterCheckers() []Checker {
	cs, err := ZKRegisterCheckers("sync", "")
	if err != nil {
		panic(err)
	}
	return cs
}

func benchChecker(c Checker) func([]history.Op) Validity {
	return func(ops []history.Op) Validity {
		res := c.Check(context.Background(), ops, Options{Timeout: time.Minute})
		if res.Error != "" {
			panic(res.Error)
		}
		return res.Valid
	}
}

// checkFigures are what benchCheck measured: ms and CPU ms per check,
// peak and own heap in MB.
type checkFigures struct{ ms, cpu, peak, own float64 }

// benchCheck times check on ops, which must find them valid, and reports
// its figures (see BenchmarkZKRegisterCheck): of each figure, the median
// of the checks, steadier than the mean on a shared machine.
func benchCheck(b *testing.B, ops []history.Op, check func([]history.Op) Validity) checkFigures {
	var runs []checkFigures
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		before := heapObjects()
		peak := sampleHeapPeak()
		b.StartTimer()
		t, cpu0 := time.Now(), cpuTime()
		v := check(ops)
		took, cpu := time.Since(t), cpuTime()-cpu0
		b.StopTimer()
		top := peak()
		if v != Valid {
			b.Fatalf("valid = %v, want true", v)
		}
		runs = append(runs, checkFigures{
			ms:   float64(took.Microseconds()) / 1000,
			cpu:  float64(cpu.Microseconds()) / 1000,
			peak: float64(top) / (1 << 20),
			own:  float64(top-min(top, before)) / (1 << 20),
		})
		b.StartTimer()
	}
	if os.Getenv("FAULTLINE_BENCH_RUNS") != "" {
		b.Logf("%+v", runs)
	}
	median := func(field func(checkFigures) float64) float64 {
		xs := make([]float64, len(runs))
		for i, r := range runs {
			xs[i] = field(r)
		}
		slices.Sort(xs)
		if n := len(xs); n%2 == 0 {
			return (xs[n/2-1] + xs[n/2]) / 2
		}
		return xs[len(xs)/2]
	}
	f := checkFigures{
		ms:   median(func(r checkFigures) float64 { return r.ms }),
		cpu:  median(func(r checkFigures) float64 { return r.cpu }),
		peak: median(func(r checkFigures) float64 { return r.peak }),
		own:  median(func(r checkFigures) float64 { return r.own }),
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(f.ms, "ms/check")
	b.ReportMetric(f.cpu, "cpu-ms/check")
	b.ReportMetric(f.peak, "peak-MB")
	b.ReportMetric(f.own, "own-MB")
	return f
}

// heapObjects is the heap the runtime counts as objects now.
func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// zkBenchHistory is one history BenchmarkZKRegisterCheck checks.
type zkBenchHistory struct {
	name string
	ops  func() []history.Op
}

// zkBenchConfig is benchZKConfig with followers that keep up, so that
// every read is linearizable, as in a real run whose reads are: the
// checkers then do all their work.
var zkBenchConfig = func() zkGenConfig {
	c := benchZKConfig
	c.maxLag = 0
	return c
}()

// zkBenchHistories are the histories BenchmarkZKRegisterCheck checks.
func zkBenchHistories() []zkBenchHistory {
	seen := func(share float64) func() []history.Op {
		return func() []history.Op {
			ops := generateZK(zkBenchConfig)
			withSeenInfo(ops, share, zkBenchConfig.procs, 7)
			return ops
		}
	}
	lost := func(share float64) func() []history.Op {
		return func() []history.Op {
			c := zkBenchConfig
			c.lostWrites = share
			return generateZK(c)
		}
	}
	return []zkBenchHistory{
		{"real-shape", func() []history.Op { return generateZK(zkBenchConfig) }},
		{"info-seen-1%", seen(0.01)},
		{"info-seen-5%", seen(0.05)},
		{"info-lost-1%", lost(0.01)},
		{"info-lost-5%", lost(0.05)},
	}
}

// plainPorcupine is the baseline: the textbook use of porcupine on a
// zk-register history. Pair invocations and completions by process, decode
// each value with encoding/json, model each key as a versioned register
// (one porcupine.Operation per call; info and incomplete writes and cas ops
// open until after the end of the history), and check each key with
// porcupine.CheckOperationsTimeout, on as many keys at once as there are
// CPUs. It returns Valid, Invalid, or Unknown if it timed out.
func plainPorcupine(ops []history.Op, timeout time.Duration) Validity {
	return plainSearch(plainOperations(ops), timeout)
}

// plainInput, plainOutput and plainState are the textbook model's.
type (
	plainInput struct {
		f               string
		value, expected int64
	}
	plainOutput struct {
		known, ok      bool // known: ok or bad-version; ok: not bad-version
		value, version int64
	}
	plainState struct{ value, version int64 }
)

// plainModel is the textbook versioned register.
var plainModel = porcupine.Model{
	Init: func() any { return plainState{} },
	Step: func(st, in, out any) (bool, any) {
		s, i, o := st.(plainState), in.(plainInput), out.(plainOutput)
		next := plainState{i.value, s.version + 1}
		switch {
		case i.f == "read":
			return o.value == s.value && o.version == s.version, s
		case !o.known: // info: applies if it can
			if i.f == "cas" && s.version != i.expected {
				return true, s
			}
			return true, next
		case !o.ok: // bad-version
			return s.version != i.expected, s
		case i.f == "cas" && s.version != i.expected:
			return false, s
		}
		return o.version == next.version, next
	},
}

// plainOperations is the textbook's first half: pairing, decoding and
// building the operations of each key.
func plainOperations(ops []history.Op) map[string][]porcupine.Operation {
	type payload struct {
		Value           int64 `json:"value"`
		Version         int64 `json:"version"`
		ExpectedVersion int64 `json:"expected_version"`
	}
	var end int64
	for _, op := range ops {
		end = max(end, op.Time+1)
	}
	pending := map[history.Process]history.Op{}
	byKey := map[string][]porcupine.Operation{}
	add := func(inv history.Op, ret int64, out plainOutput) {
		var in payload
		if len(inv.Value) > 0 {
			if err := json.Unmarshal(inv.Value, &in); err != nil {
				panic(err)
			}
		}
		byKey[inv.Key] = append(byKey[inv.Key], porcupine.Operation{
			ClientId: int(inv.Process),
			Input:    plainInput{f: inv.F, value: in.Value, expected: in.ExpectedVersion},
			Call:     inv.Time,
			Output:   out,
			Return:   ret,
		})
	}
	for _, op := range ops {
		if !op.Process.IsClient() {
			continue
		}
		if op.Type == history.Invoke {
			pending[op.Process] = op
			continue
		}
		inv := pending[op.Process]
		delete(pending, op.Process)
		switch {
		case op.Type == history.OK:
			var p payload
			if err := json.Unmarshal(op.Value, &p); err != nil {
				panic(err)
			}
			add(inv, op.Time, plainOutput{known: true, ok: true, value: p.Value, version: p.Version})
		case op.Type == history.Info && op.F != "read":
			add(inv, end, plainOutput{})
		case op.Type == history.Fail && op.F == "cas" && op.Error == errBadVersion:
			add(inv, op.Time, plainOutput{known: true})
		}
	}
	for _, inv := range pending {
		if inv.F != "read" {
			add(inv, end, plainOutput{})
		}
	}
	return byKey
}

// plainSearch is the textbook's second half: porcupine's search, key by
// key on a pool of GOMAXPROCS workers.
func plainSearch(byKey map[string][]porcupine.Operation, timeout time.Duration) Validity {
	keys := make(chan string, len(byKey))
	for _, k := range slices.Sorted(maps.Keys(byKey)) {
		keys <- k
	}
	close(keys)
	var (
		mu      sync.Mutex
		results []Validity
		wg      sync.WaitGroup
	)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for k := range keys {
				var v Validity
				switch porcupine.CheckOperationsTimeout(plainModel, byKey[k], timeout) {
				case porcupine.Ok:
					v = Valid
				case porcupine.Illegal:
					v = Invalid
				default:
					v = Unknown
				}
				mu.Lock()
				results = append(results, v)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return Merge(results...)
}

// TestPlainPorcupineAgrees checks the benchmark's baseline against
// Linearizable on small generated histories, valid and not, so that the
// comparison compares like with like.
func TestPlainPorcupineAgrees(t *testing.T) {
	invalid := 0
	for seed := range uint64(300) {
		cfg := genConfig{seed: seed, ops: 12 + int(seed%30), keys: 1 + int(seed%2), procs: 2 + int(seed%4),
			infoRate: 0.25, failRate: 0.05, applied: 0.5}
		ops := generateRegister(cfg)
		if seed%2 == 1 {
			corruptRead(ops, seed)
		}
		want := Linearizable{}.Check(context.Background(), ops, Options{}).Valid
		if got := plainPorcupine(ops, 0); got != want {
			t.Fatalf("seed %d: porcupine says %v, Linearizable %v\n%s", seed, got, want, dump(ops))
		}
		if want == Invalid {
			invalid++
		}
	}
	if invalid < 30 {
		t.Errorf("only %d invalid histories of 300", invalid)
	}
}

// TestZKBenchHistories checks that the benchmark's histories are what it
// says: as many info writes as asked, and valid for every checker.
func TestZKBenchHistories(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and checks five histories of 193k calls")
	}
	for _, h := range zkBenchHistories() {
		t.Run(h.name, func(t *testing.T) {
			ops := h.ops()
			var writes, info, calls int
			for _, op := range ops {
				switch {
				case op.Type == history.Invoke:
					calls++
					if op.F != "read" {
						writes++
					}
				case op.Type == history.Info && op.F != "read":
					info++
				}
			}
			t.Logf("%d calls, %d writes and cas ops, %d of them info (%.1f%%)", calls, writes, info, 100*float64(info)/float64(writes))
			res := All(zkRegisterCheckers()...).Check(context.Background(), ops, Options{})
			if res.Valid != Valid {
				t.Fatalf("valid = %v: %s %q", res.Valid, res.Error, res.Notes)
			}
			if v := plainPorcupine(ops, 0); v != Valid {
				t.Fatalf("porcupine: %v", v)
			}
		})
	}
}
