package checker

import (
	"context"
	"runtime"
	"testing"
)

// BenchmarkQueue checks generated valid kafka-queue histories: the one of
// about a million ops that benchQueueConfig describes (10 partitions, 50
// producers, 20 consumers polling about 10 records at a time, 1% of sends
// info and 1% fail, final reads), and one a quarter of its size to show how
// time and memory grow. Generating the history is not timed. It reports ops
// (history lines) checked per second; the live heap the history itself
// takes; the peak live heap during the checks; and the difference, the
// checker's own memory.
func BenchmarkQueue(b *testing.B) {
	for _, size := range []struct {
		name  string
		calls int
	}{{"ops=250k", benchQueueConfig.calls / 4}, {"ops=1M", benchQueueConfig.calls}} {
		b.Run(size.name, func(b *testing.B) {
			cfg := benchQueueConfig
			cfg.calls = size.calls
			ops := generateQueue(cfg)
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			history := ms.HeapAlloc
			peak := sampleHeapPeak()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				res := Queue{}.Check(context.Background(), ops, Options{})
				if res.Valid != Valid {
					b.Fatalf("valid = %v, want true: %v %v %+v", res.Valid, res.Error, res.Notes, res.Anomalies)
				}
			}
			b.StopTimer()
			top := peak()
			b.ReportMetric(float64(len(ops)*b.N)/b.Elapsed().Seconds(), "ops/s")
			b.ReportMetric(float64(history)/(1<<20), "history-heap-MB")
			b.ReportMetric(float64(top)/(1<<20), "peak-heap-MB")
			b.ReportMetric(float64(top-min(top, history))/(1<<20), "check-heap-MB")
			runtime.KeepAlive(ops)
		})
	}
}
