package checker

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/history"
)

// TestLinearizableStopsPromptly gives a history of 2 million calls (4
// million ops over 16 keys) a 50 ms timeout, and cancels a check of it after
// 50 ms: pairing, decoding and building it take seconds before porcupine
// starts, and must stop too. The check must return Unknown, saying why, well
// within 3 s (a loose bound on purpose).
func TestLinearizableStopsPromptly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a history of 4 million ops")
	}
	ops := tiled(generateRegister(genConfig{seed: 42, ops: 200_000, keys: 16, procs: 32,
		infoRate: 0.01, failRate: 0.01, applied: 0.5, nemesis: true}), 10)

	start := time.Now()
	res := Linearizable{}.Check(context.Background(), ops, Options{Timeout: 50 * time.Millisecond})
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("a 50ms timeout returned after %v", took)
	}
	if res.Valid != Unknown || !strings.Contains(strings.Join(res.Notes, "\n"), "timed out after 50ms") {
		t.Errorf("timeout: valid %v, notes %q, error %q", res.Valid, res.Notes, res.Error)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(50*time.Millisecond, cancel)
	start = time.Now()
	res = Linearizable{}.Check(ctx, ops, Options{})
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("a cancel after 50ms returned after %v", took)
	}
	if res.Valid != Unknown || !strings.Contains(strings.Join(res.Notes, "\n"), "cancelled") {
		t.Errorf("cancel: valid %v, notes %q, error %q", res.Valid, res.Notes, res.Error)
	}
}

// tiled returns n copies of ops one after another, each later in time and
// with processes of its own (so that it pairs up), indexed afresh.
func tiled(ops []history.Op, n int) []history.Op {
	var span int64
	var procs history.Process
	for _, op := range ops {
		span, procs = max(span, op.Time), max(procs, op.Process)
	}
	out := make([]history.Op, 0, n*len(ops))
	for k := range n {
		for _, op := range ops {
			op.Time += int64(k) * (span + 1)
			if op.Process != history.Nemesis {
				op.Process += history.Process(k) * (procs + 1)
			}
			op.Index = int64(len(out))
			out = append(out, op)
		}
	}
	return out
}

// BenchmarkLinearizableStop measures how long after its deadline the
// linearizability checker returns, given a 50 ms timeout on the history of
// TestLinearizableStopsPromptly; it reports the worst run as ms-late.
func BenchmarkLinearizableStop(b *testing.B) {
	ops := tiled(generateRegister(genConfig{seed: 42, ops: 200_000, keys: 16, procs: 32,
		infoRate: 0.01, failRate: 0.01, applied: 0.5, nemesis: true}), 10)
	var late time.Duration
	for b.Loop() {
		start := time.Now()
		if res := (Linearizable{}).Check(context.Background(), ops, Options{Timeout: 50 * time.Millisecond}); res.Valid != Unknown {
			b.Fatalf("valid = %v", res.Valid)
		}
		late = max(late, time.Since(start)-50*time.Millisecond)
	}
	b.ReportMetric(float64(late.Microseconds())/1000, "ms-late")
}
