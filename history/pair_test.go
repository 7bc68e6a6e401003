package history

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func op(index, time int64, p Process, typ Type, f, key string) Op {
	return Op{Index: index, Time: time, Process: p, Type: typ, F: f, Key: key}
}

func TestPair(t *testing.T) {
	ops := []Op{
		op(0, 1, 0, Invoke, "write", "a"),
		op(1, 2, 1, Invoke, "read", "a"),
		op(2, 3, Nemesis, Invoke, "start-partition", ""),
		op(3, 4, 1, OK, "read", "a"),
		op(4, 5, 0, Info, "write", "a"),
		op(5, 6, Nemesis, Info, "start-partition", ""),
		op(6, 7, Nemesis, Invoke, "stop-partition", ""), // the nemesis is not retired by info
		op(7, 8, 2, Invoke, "cas", "a"),                 // client 0 continues as process 2
		op(8, 9, 1, Invoke, "read", "b"),
		op(9, 10, 1, Fail, "read", "b"),
		op(10, 11, Nemesis, OK, "stop-partition", ""),
		op(11, 12, Observer, Invoke, "zk-mode", ""),
		op(12, 13, Observer, Info, "zk-mode", ""),
		op(13, 14, Observer, Invoke, "zk-mode", ""), // nor is the observer
		op(14, 15, Observer, OK, "zk-mode", ""),
	}
	calls, err := Pair(ops)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		inv     int64
		outcome Type
		done    bool
	}{{0, Info, true}, {1, OK, true}, {2, Info, true}, {6, OK, true}, {7, Info, false}, {8, Fail, true}, {11, Info, true}, {13, OK, true}}
	if len(calls) != len(want) {
		t.Fatalf("%d calls, want %d", len(calls), len(want))
	}
	for i, w := range want {
		c := calls[i]
		if c.Invoke.Index != w.inv || c.Outcome() != w.outcome || c.Incomplete() == w.done {
			t.Errorf("call %d: invoke %d outcome %s incomplete %v; want %d %s %v",
				i, c.Invoke.Index, c.Outcome(), c.Incomplete(), w.inv, w.outcome, !w.done)
		}
	}
	if calls[1].Completion.Index != 3 {
		t.Errorf("read completed by index %d, want 3", calls[1].Completion.Index)
	}
}

func TestPairErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		ops  []Op
		want string
	}{
		{"completion without invoke", []Op{op(0, 1, 0, Invoke, "read", "a"), op(1, 2, 0, OK, "read", "a"), op(2, 3, 0, OK, "read", "a")},
			`op index 2: process 0 completes "read" (ok) with no pending invocation`},
		{"two invokes", []Op{op(0, 1, 3, Invoke, "read", "a"), op(1, 2, 3, Invoke, "write", "a")},
			`op index 1: process 3 invokes "write" while its invocation at index 0 is still pending`},
		{"retired process", []Op{op(0, 1, 3, Invoke, "read", "a"), op(1, 2, 3, Info, "read", "a"), op(2, 3, 3, Invoke, "read", "a")},
			`op index 2: process 3 invokes "read" but was retired by its info completion at index 1`},
		{"f differs", []Op{op(0, 1, 3, Invoke, "read", "a"), op(1, 2, 3, OK, "write", "a")},
			`op index 1: process 3 completes f "write" but invoked "read" at index 0`},
		{"key differs", []Op{op(0, 1, 3, Invoke, "read", "a"), op(1, 2, 3, OK, "read", "b")},
			`op index 1: process 3 completes key "b" but invoked key "a" at index 0`},
		{"completion before invocation", []Op{op(0, 5, 3, Invoke, "read", "a"), op(1, 4, 3, OK, "read", "a")},
			`op index 1: process 3 completes at time 4, before its invocation at index 0 (time 5)`},
		{"nemesis completion without invoke", []Op{op(0, 5, Nemesis, Info, "start-kill", "")},
			`op index 0: process nemesis completes "start-kill" (info) with no pending invocation`},
		{"observer invokes twice", []Op{op(0, 5, Observer, Invoke, "zk-mode", ""), op(1, 6, Observer, Invoke, "zk-mode", "")},
			`op index 1: process observer invokes "zk-mode" while its invocation at index 0 is still pending`},
		{"invalid op", []Op{op(0, 5, 1, "done", "read", "a")},
			`op index 0: unknown type "done"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Pair(tc.ops)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Pair: %v\nwant an error containing %q", err, tc.want)
			}
		})
	}
}

func TestPairContextStops(t *testing.T) {
	ops := make([]Op, 0, 20_000)
	for i := range 10_000 {
		ops = append(ops, Op{Index: int64(2 * i), Time: int64(i), Process: 0, Type: Invoke, F: "read"},
			Op{Index: int64(2*i + 1), Time: int64(i), Process: 0, Type: OK, F: "read"})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if calls, err := PairContext(ctx, ops); !errors.Is(err, context.Canceled) || calls != nil {
		t.Fatalf("cancelled: %d calls, %v", len(calls), err)
	}
	if calls, err := PairContext(context.Background(), ops); err != nil || len(calls) != 10_000 {
		t.Fatalf("%d calls, %v", len(calls), err)
	}
}
