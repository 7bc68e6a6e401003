package checker

import (
	"testing"

	"github.com/faultline/faultline/history"
)

func TestFaultWindows(t *testing.T) {
	b := new(builder).
		nemesis("start-partition", `{"isolated":["zk1"]}`). // 0, 1
		nemesis("start-kill", `{"nodes":["zk2"]}`).         // 2, 3
		nemesis("stop-partition", "").                      // 4, 5
		nemesis("bump-clock", `{"ms":500}`).                // 6, 7
		nemesis("stop-nothing", "")                         // 8, 9: no window open
	calls, err := history.Pair(b.ops)
	if err != nil {
		t.Fatal(err)
	}
	got := faultWindows(calls, 1000)
	want := []faultWindow{
		{kind: "partition", start: 0, end: 50},
		{kind: "kill", start: 20, end: 1000},
		{kind: "bump-clock", start: 60, end: 70},
	}
	if len(got) != len(want) {
		t.Fatalf("windows %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].kind != want[i].kind || got[i].start != want[i].start || got[i].end != want[i].end {
			t.Errorf("window %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if got[0].details != `start-partition (info) {"isolated":["zk1"]}; stop-partition (info)` {
		t.Errorf("details %q", got[0].details)
	}
	if a := faultAnnotations(got); len(a) != 3 || a[0].Tag != "nemesis" || a[0].Description != "partition" {
		t.Errorf("annotations %+v", a)
	}
}

func TestFileSafe(t *testing.T) {
	for in, want := range map[string]string{"/faultline/r1": "faultline_r1", "x": "x", "/": "_", "a b/ü": "a_b__"} {
		if got := fileSafe(in); got != want {
			t.Errorf("fileSafe(%q) = %q, want %q", in, got, want)
		}
	}
}
