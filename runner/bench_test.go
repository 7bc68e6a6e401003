package runner

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/internal/realtest"
	"github.com/faultline/faultline/results"
	"github.com/faultline/faultline/workloads/zkregister"
)

// BenchmarkZKRegisterThroughput measures the ops per second zk-register
// reaches against a real 3+3 cluster (sync reads, 10 processes, no rate
// cap), with the history recorded and with it discarded, to show what
// recording costs. One iteration is one 15 s test:
//
//	go test -run '^$' -bench ZKRegisterThroughput -benchtime 1x ./runner
func BenchmarkZKRegisterThroughput(b *testing.B) {
	realtest.Require(b)
	recordedAndDiscarded(b, func(b *testing.B, discard bool) {
		var ops, secs float64
		for b.Loop() {
			out := zkRegisterRun(b, func(s *Spec) { s.DiscardHistory = discard })
			ops += float64(out.Ops)
			secs += 15
		}
		b.ReportMetric(ops/secs, "ops/s")
		b.ReportMetric(0, "ns/op")
	})
}

// BenchmarkKafkaQueueThroughput measures the acknowledged sends per second
// kafka-queue reaches against a real 3+3 cluster (acks all, idempotence,
// 10 processes of which 2 poll), with the history recorded and discarded.
// One iteration is one 20 s test:
//
//	go test -run '^$' -bench KafkaQueueThroughput -benchtime 1x ./runner
func BenchmarkKafkaQueueThroughput(b *testing.B) {
	realtest.Require(b)
	recordedAndDiscarded(b, func(b *testing.B, discard bool) {
		var sends, polls, secs float64
		for b.Loop() {
			out, err := Run(context.Background(), Spec{
				Workload:       "kafka-queue",
				TimeLimit:      20 * time.Second,
				Concurrency:    10,
				Seed:           7,
				Store:          b.TempDir(),
				DiscardHistory: discard,
			})
			if err != nil {
				b.Fatal(err)
			}
			sends += float64(out.OKByF["send"])
			polls += float64(out.OKByF["poll"])
			secs += 20
		}
		b.ReportMetric(sends/secs, "acked-sends/s")
		b.ReportMetric(polls/secs, "polls/s")
		b.ReportMetric(0, "ns/op")
	})
}

// BenchmarkZKRegisterCluster compares zk-register on its own cluster (3
// ZooKeeper nodes, no brokers: the default) with the old default (3 + 3
// brokers that zk-register never uses), side by side: ops per second, and
// bring-up, from the run's start to the workload's. One iteration is one
// 15 s test of each:
//
//	go test -run '^$' -bench ZKRegisterCluster -benchtime 2x ./runner
func BenchmarkZKRegisterCluster(b *testing.B) {
	realtest.Require(b)
	for _, brokers := range []int{0, 3} {
		b.Run(fmt.Sprintf("brokers=%d", brokers), func(b *testing.B) {
			var ops, secs, up float64
			for b.Loop() {
				out := zkRegisterRun(b, func(s *Spec) { s.Cluster = cluster.Options{KafkaNodes: brokers} })
				rec, err := ReadRecord(out.Dir)
				if err != nil {
					b.Fatal(err)
				}
				ops += float64(out.Ops)
				secs += 15
				up += rec.WorkloadStart.Sub(rec.Start).Seconds()
			}
			b.ReportMetric(ops/secs, "ops/s")
			b.ReportMetric(up/float64(b.N), "bring-up-s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkObserverCost measures what the leadership observer costs the
// workload (the target: under 2 %): zk-register's ops per second against
// a real cluster (3 ZooKeeper nodes, sync reads, 10 processes, no rate
// cap, history recorded) with the observer and without, side by side.
// Each iteration runs one 15 s test of each, the order alternating from
// one iteration to the next so that drift on a busy machine falls on both;
// it reports both rates, their ratio (observed over unobserved: at least
// 0.98 meets the target) and the observer's calls per second in the
// observed runs:
//
//	FAULTLINE_REAL_TESTS=1 go test -run '^$' -bench ObserverCost -benchtime 3x ./runner
func BenchmarkObserverCost(b *testing.B) {
	realtest.Require(b)
	var observed, unobserved, calls float64
	var ratios []float64 // per pair, observed over unobserved
	on, off := true, false
	round := 0
	for b.Loop() {
		order := []*bool{&on, &off}
		if round%2 == 1 {
			order = []*bool{&off, &on}
		}
		round++
		var pair [2]float64 // observed, unobserved ops
		for _, observe := range order {
			out := zkRegisterRun(b, func(s *Spec) { s.Observe = observe })
			n := observerCalls(b, out.Dir)
			switch {
			case *observe && n == 0:
				b.Fatal("the observed run recorded no observer op")
			case !*observe && n > 0:
				b.Fatalf("the run without the observer recorded %d observer calls", n)
			case *observe:
				observed += float64(out.Ops)
				calls += float64(n)
				pair[0] = float64(out.Ops)
			default:
				unobserved += float64(out.Ops)
				pair[1] = float64(out.Ops)
			}
		}
		if pair[1] > 0 {
			ratios = append(ratios, pair[0]/pair[1])
		}
	}
	secs := 15 * float64(b.N)
	b.ReportMetric(observed/secs, "ops/s-observed")
	b.ReportMetric(unobserved/secs, "ops/s-unobserved")
	if unobserved > 0 {
		b.ReportMetric(observed/unobserved, "ratio")
	}
	if len(ratios) > 0 {
		// The median of the pairs' ratios: each pair ran back to back, so
		// drift on a busy machine falls on both of its runs.
		slices.Sort(ratios)
		b.ReportMetric(ratios[len(ratios)/2], "median-pair-ratio")
		b.ReportMetric(ratios[0], "min-pair-ratio")
		b.ReportMetric(ratios[len(ratios)-1], "max-pair-ratio")
	}
	b.ReportMetric(calls/secs, "observer-calls/s")
	b.ReportMetric(0, "ns/op")
}

// zkRegisterRun runs one 15 s zk-register test on a real cluster (sync
// reads, 10 processes, seed 7, a fresh store), its spec changed by change.
func zkRegisterRun(b *testing.B, change func(*Spec)) Outcome {
	b.Helper()
	s := Spec{
		TimeLimit:       15 * time.Second,
		Concurrency:     10,
		Seed:            7,
		Store:           b.TempDir(),
		WorkloadOptions: &zkregister.Options{Reads: zkregister.ReadSync},
	}
	change(&s)
	out, err := Run(context.Background(), s)
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// observerCalls counts the observer's calls in a run's history.
func observerCalls(b *testing.B, dir string) int {
	b.Helper()
	ops, _, err := ReadHistory(filepath.Join(dir, results.HistoryFile), history.ReadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, op := range ops {
		if op.Process == history.Observer && op.Type == history.Invoke {
			n++
		}
	}
	return n
}

// recordedAndDiscarded runs bench as two sub-benchmarks: with the history
// recorded, and discarded.
func recordedAndDiscarded(b *testing.B, bench func(b *testing.B, discard bool)) {
	b.Run("recorded", func(b *testing.B) { bench(b, false) })
	b.Run("discarded", func(b *testing.B) { bench(b, true) })
}
