package checker

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/history"
)

// stopHistories are histories that take the queue checker seconds: one
// poll of a million records, all but 1000 of values no send wrote (the
// scanner reads it), the same with the values escaped (encoding/json reads
// it), and a million sends read back by small polls.
func stopHistories() map[string][]history.Op {
	escaped := hugePoll(1_000_000, false)
	last := &escaped[len(escaped)-1]
	last.Value = bytes.ReplaceAll(last.Value, []byte(`,"9-`), []byte(`,"\u0039-`))
	return map[string][]history.Op{
		"huge poll":         hugePoll(1_000_000, false),
		"huge escaped poll": escaped,
		"many calls": generateQueue(queueGenConfig{seed: 5, calls: 1_000_000, partitions: 8, producers: 16,
			assigners: 4, subscribers: 4, sendShare: 0.6, perPoll: 10, finalChunk: 1000}),
	}
}

// TestQueueStopsPromptly gives each of stopHistories a 50 ms timeout, and
// cancels each after 50 ms: the check must return Unknown, saying why, well
// within 3 s (the bound is loose on purpose; BenchmarkQueueStop measures).
func TestQueueStopsPromptly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds histories of millions of records")
	}
	for name, ops := range stopHistories() {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			res := Queue{}.Check(context.Background(), ops, Options{Timeout: 50 * time.Millisecond})
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
			res = Queue{}.Check(ctx, ops, Options{})
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("a cancel after 50ms returned after %v", took)
			}
			if res.Valid != Unknown || !strings.Contains(strings.Join(res.Notes, "\n"), "cancelled") {
				t.Errorf("cancel: valid %v, notes %q, error %q", res.Valid, res.Notes, res.Error)
			}
		})
	}
}

// TestParsePollStops checks that parsing a poll gives up within stopEvery
// records once told to, whichever way it reads the value.
func TestParsePollStops(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"mode":"final","records":{"0":[`)
	for i := range 3 * stopEvery {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`[1,"a"]`)
	}
	b.WriteString(`]}}`)
	plain := []byte(b.String())
	escaped := bytes.ReplaceAll(plain, []byte(`"a"`), []byte(`"\u0061"`))
	for name, value := range map[string][]byte{"scanner": plain, "encoding/json": escaped} {
		asked := 0
		v := pollValue{stop: func() bool { asked++; return asked > 1 }}
		if err := parsePoll(value, &v); !errors.Is(err, errParseStopped) {
			t.Errorf("%s: err = %v, want errParseStopped", name, err)
		}
		if v.records > 2*stopEvery {
			t.Errorf("%s: read %d records before stopping", name, v.records)
		}
		v.stop = nil
		if err := parsePoll(value, &v); err != nil || v.records != 3*stopEvery {
			t.Errorf("%s without stop: %d records, %v", name, v.records, err)
		}
	}
}

// BenchmarkQueueStop measures how long after its deadline the queue
// checker returns, given a 50 ms timeout on each of stopHistories; it
// reports the worst of the runs as ms-late.
func BenchmarkQueueStop(b *testing.B) {
	for name, ops := range stopHistories() {
		b.Run(strings.ReplaceAll(name, " ", "-"), func(b *testing.B) {
			var late time.Duration
			for b.Loop() {
				start := time.Now()
				if res := (Queue{}).Check(context.Background(), ops, Options{Timeout: 50 * time.Millisecond}); res.Valid != Unknown {
					b.Fatalf("valid = %v", res.Valid)
				}
				late = max(late, time.Since(start)-50*time.Millisecond)
			}
			b.ReportMetric(float64(late.Microseconds())/1000, "ms-late")
		})
	}
}
