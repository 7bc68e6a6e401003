package checker

import (
	"context"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"
)

// BenchmarkLinearizable checks a generated valid history of 100k client
// calls over 16 keys by 32 concurrent clients, 1% of whose calls complete as
// info (half of those took effect), with partitions from the nemesis. It
// reports calls checked per second and the peak live heap.
func BenchmarkLinearizable(b *testing.B) {
	const calls = 100_000
	ops := generateRegister(genConfig{seed: 42, ops: calls, keys: 16, procs: 32,
		infoRate: 0.01, failRate: 0.01, applied: 0.5, nemesis: true})
	runtime.GC()
	peak := sampleHeapPeak()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res := Linearizable{}.Check(context.Background(), ops, Options{Timeout: time.Minute})
		if res.Valid != Valid {
			b.Fatalf("valid = %v, want true: %v %v", res.Valid, res.Notes, res.Error)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(calls*b.N)/b.Elapsed().Seconds(), "ops/s")
	b.ReportMetric(float64(peak())/(1<<20), "peak-heap-MB")
}

// sampleHeapPeak samples the live heap every millisecond until the returned
// function is called, which returns the highest sample.
func sampleHeapPeak() func() uint64 {
	var (
		mu     sync.Mutex
		peak   uint64
		done   = make(chan struct{})
		sample = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	)
	go func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			mu.Lock()
			peak = max(peak, sample[0].Value.Uint64())
			mu.Unlock()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}
