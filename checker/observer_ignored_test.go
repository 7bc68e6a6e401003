package checker

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/faultline/faultline/history"
)

// withObserver interleaves observer ops with ops: after every third op,
// an observation of a node (an ok, a fail or an info), renumbered so that
// indexes still rise.
func withObserver(ops []history.Op) []history.Op {
	var out []history.Op
	add := func(op history.Op) {
		op.Index = int64(len(out))
		out = append(out, op)
	}
	for i, op := range ops {
		add(op)
		if i%3 != 2 {
			continue
		}
		typ := []history.Type{history.OK, history.Fail, history.Info}[i/3%3]
		add(history.Op{Time: op.Time, Process: history.Observer, Type: history.Invoke, F: "zk-mode", Value: json.RawMessage(`{"node":"zk1"}`)})
		done := history.Op{Time: op.Time, Process: history.Observer, Type: typ, F: "zk-mode", Value: json.RawMessage(`{"node":"zk1","mode":"follower","epoch":1,"zxid":7}`)}
		if typ != history.OK {
			done.Value, done.Error = json.RawMessage(`{"node":"zk1"}`), "timeout"
		}
		add(done)
	}
	return out
}

// TestObserverOpsIgnored checks that the workloads' checkers find the same
// in each testdata history with observer ops interleaved: they are not
// client ops, and an info one does not retire the observer.
func TestObserverOpsIgnored(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*.jsonl"))
	for _, path := range paths {
		name := strings.TrimSuffix(filepath.Base(path), ".jsonl")
		ops, err := history.ReadFile(path)
		if err != nil && !errors.Is(err, history.ErrTruncatedTail) {
			t.Fatal(err)
		}
		mixed := withObserver(ops)
		for _, cname := range slices.Sorted(maps.Keys(testdataCheckers)) {
			if strings.HasPrefix(name, "kafka") != (cname == "queue") {
				continue
			}
			c := testdataCheckers[cname]
			want := c.Check(context.Background(), ops, Options{})
			got := c.Check(context.Background(), mixed, Options{})
			if got.Valid != want.Valid || got.Error != want.Error || got.Counts != want.Counts || !maps.Equal(got.AnomalyCounts, want.AnomalyCounts) {
				t.Errorf("%s, %s with observer ops: valid %v, error %q, counts %+v, anomalies %v; without: %v, %q, %+v, %v",
					name, cname, got.Valid, got.Error, got.Counts, got.AnomalyCounts, want.Valid, want.Error, want.Counts, want.AnomalyCounts)
			}
		}
	}
}
