package checker

import (
	"context"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// BenchmarkSequential checks a generated history of the real shape
// (benchZKConfig: 967 keys of 200 calls by 10 workers, reads, writes and
// cas ops mixed, about 1% info, final reads), which is sequentially
// consistent with stale reads. Generating it is not timed. It reports
// client calls and history lines checked per second of wall time, calls
// per second of the process's CPU time (the same on an idle machine, and
// steadier on a busy one), and the peak live heap.
func BenchmarkSequential(b *testing.B) {
	ops := generateZK(benchZKConfig)
	calls := 0
	for _, op := range ops {
		if op.Type == "invoke" {
			calls++
		}
	}
	runtime.GC()
	peak := sampleHeapPeak()
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		res := Sequential{}.Check(context.Background(), ops, Options{})
		if res.Valid != Valid {
			b.Fatalf("valid = %v, want true: %v %v %+v", res.Valid, res.Error, res.Notes, res.Anomalies)
		}
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(calls*b.N)/b.Elapsed().Seconds(), "calls/s")
	b.ReportMetric(float64(calls*b.N)/cpu.Seconds(), "calls/cpu-s")
	b.ReportMetric(float64(len(ops)*b.N)/b.Elapsed().Seconds(), "lines/s")
	b.ReportMetric(float64(peak())/(1<<20), "peak-heap-MB")
	runtime.KeepAlive(ops)
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
