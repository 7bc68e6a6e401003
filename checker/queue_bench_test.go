package checker

import (
	"bytes"
	"context"
	"runtime"
	"testing"

	"github.com/faultline/faultline/history"
)

// BenchmarkQueue checks generated valid kafka-queue histories: the one of
// about a million ops that benchQueueConfig describes (10 partitions, 50
// producers, 20 consumers polling about 10 records at a time, 1% of sends
// info and 1% fail, final reads), and one a quarter of its size to show how
// time and memory grow. Generating the history is not timed. It reports, as
// BenchmarkZKRegisterCheck does (medians of the checks): ms/check,
// cpu-ms/check, peak-MB (the heap during a check, the history included) and
// own-MB (less the heap before it); and ops (history lines) checked per
// second of wall time and of CPU time, history-heap-MB (the heap the
// history takes), file-MB (the size of the history written as JSON Lines,
// as a run writes history.jsonl) and x-file (peak-MB as a multiple of
// file-MB).
func BenchmarkQueue(b *testing.B) {
	for _, size := range []struct {
		name  string
		calls int
	}{{"ops=250k", benchQueueConfig.calls / 4}, {"ops=1M", benchQueueConfig.calls}} {
		b.Run(size.name, func(b *testing.B) {
			cfg := benchQueueConfig
			cfg.calls = size.calls
			ops, file := roundTrip(b, generateQueue(cfg))
			runtime.GC()
			histHeap := heapObjects()
			f := benchCheck(b, ops, func(ops []history.Op) Validity {
				res := Queue{}.Check(context.Background(), ops, Options{})
				if res.Valid != Valid {
					b.Fatalf("valid = %v, want true: %v %v %+v", res.Valid, res.Error, res.Notes, res.Anomalies)
				}
				return res.Valid
			})
			b.ReportMetric(float64(len(ops))/f.ms*1000, "ops/s")
			b.ReportMetric(float64(len(ops))/f.cpu*1000, "ops/cpu-s")
			b.ReportMetric(float64(histHeap)/(1<<20), "history-heap-MB")
			b.ReportMetric(float64(file)/(1<<20), "file-MB")
			b.ReportMetric(f.peak/(float64(file)/(1<<20)), "x-file")
			runtime.KeepAlive(ops)
		})
	}
}

// roundTrip writes ops as a run writes its history (JSON Lines, by
// history.Writer) and reads them back as faultline check does
// (history.Read), so that they lie in memory as a history read from its
// file does: the values one after another in history order, where the
// generator leaves them in the order it made them. It returns the ops read
// and the size of the file.
func roundTrip(b *testing.B, ops []history.Op) ([]history.Op, int64) {
	var buf bytes.Buffer
	w := history.NewWriter(&buf, nil)
	for _, op := range ops {
		if _, err := w.Append(op); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	size := int64(buf.Len())
	read, err := history.Read(&buf)
	if err != nil {
		b.Fatal(err)
	}
	return read, size
}
