package runner

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/internal/realtest"
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
			out, err := Run(context.Background(), Spec{
				TimeLimit:       15 * time.Second,
				Concurrency:     10,
				Seed:            7,
				Store:           b.TempDir(),
				WorkloadOptions: &zkregister.Options{Reads: zkregister.ReadSync},
				DiscardHistory:  discard,
			})
			if err != nil {
				b.Fatal(err)
			}
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
				out, err := Run(context.Background(), Spec{
					TimeLimit:       15 * time.Second,
					Concurrency:     10,
					Seed:            7,
					Store:           b.TempDir(),
					Cluster:         cluster.Options{KafkaNodes: brokers},
					WorkloadOptions: &zkregister.Options{Reads: zkregister.ReadSync},
				})
				if err != nil {
					b.Fatal(err)
				}
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

// recordedAndDiscarded runs bench as two sub-benchmarks: with the history
// recorded, and discarded.
func recordedAndDiscarded(b *testing.B, bench func(b *testing.B, discard bool)) {
	b.Run("recorded", func(b *testing.B) { bench(b, false) })
	b.Run("discarded", func(b *testing.B) { bench(b, true) })
}
