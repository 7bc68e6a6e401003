package checker

import (
	"context"
	"strings"
	"testing"

	"github.com/faultline/faultline/history"
)

// nemesisFailed records a fault whose completion carries an error.
func (b *builder) nemesisFailed(f, err string) *builder {
	return b.add(history.Nemesis, history.Invoke, f, "", "", "").add(history.Nemesis, history.Info, f, "", "", err)
}

func checkFaults(t *testing.T, requested []string, b *builder) (Result, *FaultDetails) {
	t.Helper()
	res := Faults{Requested: requested}.Check(context.Background(), b.ops, Options{})
	fd, ok := res.Details.(*FaultDetails)
	if !ok && res.Error == "" {
		t.Fatalf("details %T", res.Details)
	}
	return res, fd
}

func TestFaults(t *testing.T) {
	healed := func(b *builder) *builder { return b.nemesis("heal", `{}`) }
	cases := []struct {
		name      string
		requested []string
		b         *builder
		want      Validity
		head      string // in the summary's headline
		note      string // in the notes
	}{
		{"no faults asked, none happened", nil, new(builder).write(0, "1", "1"), Valid, "", ""},
		{"every kind applied and healed", []string{"partition", "kill"},
			healed(new(builder).write(0, "1", "1").
				nemesis("start-partition", `{"shape":"one"}`).nemesis("stop-partition", `"healed"`).
				nemesis("start-kill", `{"nodes":["zk1"]}`).nemesis("stop-kill", `{"restarted":["zk1"]}`)),
			Valid, "partition 1/1 applied, kill 1/1 applied; healed", ""},
		{"some failed, some applied", []string{"partition"},
			healed(new(builder).
				nemesis("start-partition", `{}`).nemesis("stop-partition", `"healed"`).
				nemesisFailed("start-partition", "nftables said no").nemesis("stop-partition", `"healed"`)),
			Valid, "partition 1/2 applied, 1 failed: nftables said no", ""},
		{"a kind that never applied", []string{"partition", "pause"},
			healed(new(builder).
				nemesisFailed("start-pause", "zk2 is not running").nemesis("stop-pause", `{}`).
				nemesis("start-partition", `{}`).nemesis("stop-partition", `"healed"`)),
			Unknown, "pause 0/1 applied, 1 failed: zk2 is not running", "pause faults were requested but none applied"},
		{"a kind never scheduled", []string{"kill"},
			healed(new(builder).write(0, "1", "1")),
			Unknown, "kill 0/0 applied", "kill faults were requested but none was scheduled"},
		{"the final heal failed", []string{"kill"},
			new(builder).nemesis("start-kill", `{}`).nemesis("stop-kill", `{}`).nemesisFailed("heal", "restart zk1: no java"),
			Unknown, "heal failed: restart zk1: no java", "the final heal failed"},
		{"faults but no heal", []string{"kill"},
			new(builder).nemesis("start-kill", `{}`).nemesis("stop-kill", `{}`),
			Unknown, "not healed", "no final heal"},
		{"a start the history ended in", []string{"kill"},
			new(builder).add(history.Nemesis, history.Invoke, "start-kill", "", "", ""),
			Unknown, "kill 0/1 applied, 1 failed: the history ended before the fault started", "none applied"},
		{"a fault that missed the workload's nodes", []string{"kill"},
			healed(new(builder).nemesis("start-kill", `{"nodes":["kafka1"],"on_workload":false}`).nemesis("stop-kill", `{}`).
				nemesis("start-kill", `{"nodes":["zk1"],"on_workload":true}`).nemesis("stop-kill", `{}`)),
			Valid, "kill 2/2 applied (1 touched none of the workload's nodes)", ""},
		{"no kinds asked: those in the history count", nil,
			healed(new(builder).nemesisFailed("start-packet", "no netem")),
			Valid, "packet 0/1 applied, 1 failed: no netem", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, fd := checkFaults(t, tc.requested, tc.b)
			if res.Valid != tc.want {
				t.Errorf("verdict %s, want %s; notes %v", res.Valid, tc.want, res.Notes)
			}
			head, _ := fd.Summary()
			if !strings.Contains(head, tc.head) {
				t.Errorf("headline %q, want it to contain %q", head, tc.head)
			}
			notes := strings.Join(res.Notes, "\n")
			if (tc.note == "" && notes != "") || !strings.Contains(notes, tc.note) {
				t.Errorf("notes %q, want %q", notes, tc.note)
			}
		})
	}
}

// TestFaultsWindows: each fault's window runs from its start's invocation to
// its stop's completion, on the history's clock, with what it did.
func TestFaultsWindows(t *testing.T) {
	b := new(builder).write(0, "1", "1").
		nemesis("start-partition", `{"drops":{"zk1":["zk2"]}}`).
		write(0, "2", "2").
		nemesis("stop-partition", `"healed"`).
		nemesis("start-kill", `{"nodes":["zk3"]}`)
	_, fd := checkFaults(t, []string{"partition", "kill"}, b)
	if len(fd.Windows) != 2 {
		t.Fatalf("windows %+v", fd.Windows)
	}
	p := fd.Windows[0]
	if p.Kind != "partition" || p.Start != 20 || p.Stop != 70 || !p.Applied || !strings.Contains(p.What, "zk2") {
		t.Errorf("partition window %+v, want 20 to 70", p)
	}
	k := fd.Windows[1]
	if k.Kind != "kill" || k.Start != 80 || k.Stop != 90 {
		t.Errorf("kill window %+v: a fault never stopped lasts to the end of the history", k)
	}
	_, lines := fd.Summary()
	if len(lines) != 2 || !strings.Contains(lines[0], "partition") {
		t.Errorf("lines %q", lines)
	}
}

func TestFaultsMalformed(t *testing.T) {
	b := new(builder).add(history.Nemesis, history.Info, "stop-kill", "", "", "")
	res := Faults{}.Check(context.Background(), b.ops, Options{})
	if res.Valid != Unknown || !strings.Contains(res.Error, "malformed nemesis ops") {
		t.Errorf("%s %q", res.Valid, res.Error)
	}
}

// nemesisCall is a nemesis call with its invocation's and completion's
// values.
func nemesisCall(ops []history.Op, t int64, f, inv, done, err string) []history.Op {
	raw := func(s string) []byte {
		if s == "" {
			return nil
		}
		return []byte(s)
	}
	i := int64(len(ops))
	return append(ops,
		history.Op{Index: i, Time: t, Process: history.Nemesis, Type: history.Invoke, F: f, Value: raw(inv)},
		history.Op{Index: i + 1, Time: t + 1, Process: history.Nemesis, Type: history.Info, F: f, Value: raw(done), Error: err})
}

// TestFaultsPairsOverlappingStepsByID: two kills of a scripted schedule
// overlap; each window ends at its own step's stop.
func TestFaultsPairsOverlappingStepsByID(t *testing.T) {
	var ops []history.Op
	ops = nemesisCall(ops, 100, "start-kill", `{"kind":"kill","id":"a","nodes":["zk1"]}`, `{"nodes":["zk1"]}`, "")
	ops = nemesisCall(ops, 200, "start-kill", `{"kind":"kill","id":"b","nodes":["zk2"]}`, `{"nodes":["zk2"]}`, "")
	ops = nemesisCall(ops, 300, "stop-kill", `{"id":"a"}`, `{"restarted":["zk1"]}`, "")
	ops = nemesisCall(ops, 400, "stop-kill", `{"id":"b"}`, `{"restarted":["zk2"]}`, "")
	ops = nemesisCall(ops, 500, "heal", "", `{}`, "")
	res := Faults{Requested: []string{"kill"}, Scripted: true}.Check(context.Background(), ops, Options{})
	d := res.Details.(*FaultDetails)
	if res.Valid != Valid || len(d.Windows) != 2 || d.Windows[0].Stop != 301 || d.Windows[1].Stop != 401 {
		t.Errorf("valid %s, windows %+v", res.Valid, d.Windows)
	}
	w := faultWindows(mustPair(t, ops), 600)
	if len(w) != 3 || w[0].end != 301 || w[1].end != 401 {
		t.Errorf("windows %+v", w)
	}
}

func mustPair(t *testing.T, ops []history.Op) []history.Call {
	t.Helper()
	calls, err := history.Pair(ops)
	if err != nil {
		t.Fatal(err)
	}
	return calls
}

// TestFaultsScriptedStepThatFailedIsUnknown: in a scripted schedule a
// step whose condition never held (recorded on its stop, or as a failed
// start, or a bind that failed) leaves the run unknown, where a drawn
// schedule would only count it.
func TestFaultsScriptedStepThatFailedIsUnknown(t *testing.T) {
	for _, tc := range []struct {
		name string
		ops  func([]history.Op) []history.Op
		want string
	}{
		{"until timed out", func(ops []history.Op) []history.Op {
			ops = nemesisCall(ops, 100, "start-kill", `{"id":"kill-l"}`, `{"nodes":["zk2"]}`, "")
			return nemesisCall(ops, 200, "stop-kill", `{"id":"kill-l"}`, `{"restarted":["zk2"]}`, "until: zk5 is leader did not hold within 2m0s (last seen: zk5 says follower); stopped anyway")
		}, "stop-kill kill-l: until: zk5 is leader"},
		{"bind failed", func(ops []history.Op) []history.Op {
			ops = nemesisCall(ops, 50, "bind", `{"id":"roles"}`, `{}`, "F1 (zk-follower:highest): no ZooKeeper node follows")
			ops = nemesisCall(ops, 100, "start-kill", `{"id":"k"}`, `{"nodes":["zk2"]}`, "")
			return nemesisCall(ops, 200, "stop-kill", `{"id":"k"}`, `{"restarted":["zk2"]}`, "")
		}, "bind roles: F1"},
	} {
		ops := nemesisCall(tc.ops(nil), 900, "heal", "", `{}`, "")
		res := Faults{Requested: []string{"kill"}, Scripted: true}.Check(context.Background(), ops, Options{})
		if res.Valid != Unknown || len(res.Notes) == 0 || !strings.Contains(res.Notes[0], tc.want) {
			t.Errorf("%s: %s, notes %q", tc.name, res.Valid, res.Notes)
		}
		if drawn := (Faults{Requested: []string{"kill"}}).Check(context.Background(), ops, Options{}); drawn.Valid != Valid {
			t.Errorf("%s: a drawn schedule's run is %s, want valid", tc.name, drawn.Valid)
		}
	}
}
