package checker

import (
	"context"
	"encoding/json"
	"runtime"
	"runtime/metrics"
	"strconv"
	"testing"

	"github.com/faultline/faultline/history"
)

// hugePoll returns a kafka-queue history whose final read of partition 0
// reads n records in one poll, [offset,"<p>-<s>"], about 22 bytes each (a
// 100 MB line holds about 4.5 million). With sent, a producer first sends
// every value (2n ops): the history is valid. Without, it sends the first
// 1000 and the rest are values no send wrote: n-1000 unexpected anomalies,
// whose examples show the huge poll (trimmed).
func hugePoll(n int, sent bool) []history.Op {
	nsent := min(n, 1000)
	if sent {
		nsent = n
	}
	value := func(i int) []byte {
		if i < nsent {
			return strconv.AppendInt([]byte("1000-"), int64(i+1), 10)
		}
		return strconv.AppendInt([]byte("9-"), int64(i), 10)
	}
	ops := make([]history.Op, 0, 2*nsent+2)
	add := func(p history.Process, typ history.Type, f, key string, v []byte) {
		ops = append(ops, history.Op{Index: int64(len(ops)), Time: int64(len(ops)) * 10, Process: p, Type: typ, F: f, Key: key, Value: v})
	}
	for i := range nsent {
		v := value(i)
		add(1000, history.Invoke, "send", "0", append(append([]byte(`{"value":"`), v...), `"}`...))
		ack := append(append([]byte(`{"value":"`), v...), `","offset":`...)
		add(1000, history.OK, "send", "0", append(strconv.AppendInt(ack, int64(i), 10), '}'))
	}
	add(2000, history.Invoke, "poll", "", json.RawMessage(`{"mode":"final","partitions":[0]}`))
	b := make([]byte, 0, 22*n+64)
	b = append(b, `{"mode":"final","records":{"0":[`...)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `,"`...)
		b = append(b, value(i)...)
		b = append(b, `"]`...)
	}
	b = append(b, `]},"end_offset":`...)
	b = strconv.AppendInt(b, int64(n), 10)
	add(2000, history.OK, "poll", "", append(b, '}'))
	return ops
}

// heapAllocs returns the bytes allocated on the heap so far.
func heapAllocs() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestQueueHugePollMemory checks a history whose final read is one poll of
// 300,000 records, all but 1000 of values no send wrote: the check must
// allocate little per record, however many anomaly examples show the poll
// (each example trims it; decoding it whole for each took some 500 bytes
// per record, every time).
func TestQueueHugePollMemory(t *testing.T) {
	const n = 300_000
	ops := hugePoll(n, false)
	runtime.GC()
	before := heapAllocs()
	res := Queue{}.Check(context.Background(), ops, Options{})
	perRecord := float64(heapAllocs()-before) / n
	if res.Valid != Invalid || res.AnomalyCounts["unexpected"] != n-1000 {
		t.Fatalf("valid %v, %v, error %q", res.Valid, res.AnomalyCounts, res.Error)
	}
	for _, a := range res.Anomalies {
		if a.At != nil && len(a.At.Value) > 2000 {
			t.Fatalf("an example shows a poll of %d bytes: it is not trimmed", len(a.At.Value))
		}
	}
	t.Logf("%.0f bytes allocated per record", perRecord)
	if perRecord > 150 {
		t.Errorf("%.0f bytes allocated per record read, want at most 150", perRecord)
	}
	if got := res.Details.(*QueueDetails).RecordsRead; got != n {
		t.Errorf("%d records read, want %d", got, n)
	}
}

// BenchmarkQueueHugePoll checks a history whose final read is one poll of a
// million records (a 22 MB line): "unsent", where all but 1000 are values
// no send wrote (a million anomalies, whose examples show the poll), and
// "sent", a valid history where each was sent first (2 million more ops).
// It reports per record of the poll: the time, the bytes allocated, the
// peak live heap above the history's own, and that peak in all.
func BenchmarkQueueHugePoll(b *testing.B) {
	const n = 1_000_000
	for _, sent := range []bool{false, true} {
		name, want := "unsent", Invalid
		if sent {
			name, want = "sent", Valid
		}
		b.Run(name, func(b *testing.B) {
			ops := hugePoll(n, sent)
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			history := ms.HeapAlloc
			peak := sampleHeapPeak()
			before := heapAllocs()
			b.ResetTimer()
			for b.Loop() {
				if res := (Queue{}).Check(context.Background(), ops, Options{}); res.Valid != want {
					b.Fatalf("valid = %v, want %v: %v %v", res.Valid, want, res.Error, res.Notes)
				}
			}
			b.StopTimer()
			alloc := heapAllocs() - before
			top := peak()
			perN := float64(n) * float64(b.N)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/perN, "ns/record")
			b.ReportMetric(float64(alloc)/perN, "alloc-B/record")
			b.ReportMetric(float64(top-min(top, history))/n, "check-peak-B/record")
			b.ReportMetric(float64(top)/(1<<20), "peak-heap-MB")
			runtime.KeepAlive(ops)
		})
	}
}
