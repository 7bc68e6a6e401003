package checker

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/history"
)

// TestQueueFile checks the kafka-queue history in $FAULTLINE_QUEUE_HISTORY,
// read with a 1 GiB line limit, and logs how long reading and checking took
// and the process's peak resident memory after each; it is skipped unless
// the variable is set. $FAULTLINE_CHECK_TIMEOUT sets Options.Timeout and
// $FAULTLINE_CHECK_CANCEL cancels the check after a while (Go durations).
// It is for measuring by hand, e.g.
//
//	go test -c -o /tmp/checker.test ./checker
//	FAULTLINE_QUEUE_HISTORY=/tmp/h.jsonl /usr/bin/time -v /tmp/checker.test -test.run TestQueueFile -test.v
func TestQueueFile(t *testing.T) {
	path := os.Getenv("FAULTLINE_QUEUE_HISTORY")
	if path == "" {
		t.Skip("FAULTLINE_QUEUE_HISTORY is not set")
	}
	start := time.Now()
	ops, err := history.ReadFileWith(path, history.ReadOptions{MaxLine: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("read %d ops in %v; peak RSS %s", len(ops), time.Since(start).Round(time.Millisecond), peakRSS())
	var opts Options
	if d, err := time.ParseDuration(os.Getenv("FAULTLINE_CHECK_TIMEOUT")); err == nil {
		opts.Timeout = d
	}
	ctx := context.Background()
	if d, err := time.ParseDuration(os.Getenv("FAULTLINE_CHECK_CANCEL")); err == nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		time.AfterFunc(d, cancel)
	}
	start = time.Now()
	res := Queue{}.Check(ctx, ops, opts)
	t.Logf("checked in %v: valid %v; peak RSS %s; error %q; notes %q; anomalies %v",
		time.Since(start).Round(time.Millisecond), res.Valid, peakRSS(), res.Error, res.Notes, foundKinds(res))
}

// peakRSS returns the process's peak resident memory, from /proc.
func peakRSS() string {
	b, _ := os.ReadFile("/proc/self/status")
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(rest)
		}
	}
	return "unknown"
}
