package checker

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/history"
)

// lockHist builds hand-made zk-lock histories from calls given with their
// times (in milliseconds); build orders the ops by time and numbers them.
type lockHist struct {
	ops []history.Op
}

func (h *lockHist) add(ms float64, p history.Process, typ history.Type, f, key, value, errText string) *lockHist {
	op := history.Op{Time: int64(ms * 1e6), Process: p, Type: typ, F: f, Key: key, Error: errText}
	if value != "" {
		op.Value = json.RawMessage(value)
	}
	h.ops = append(h.ops, op)
	return h
}

func (h *lockHist) build() []history.Op {
	ops := slices.Clone(h.ops)
	slices.SortStableFunc(ops, func(a, b history.Op) int { return int(a.Time - b.Time) })
	for i := range ops {
		ops[i].Index = int64(i)
	}
	return ops
}

// acquire is an ok acquire of lock by p, invoked at ms and granted at okMS,
// with token (and a lock node named after it) in session 0x<p>.
func (h *lockHist) acquire(p history.Process, lock, client string, ms, okMS float64, token int64) *lockHist {
	return h.add(ms, p, history.Invoke, "acquire", lock, fmt.Sprintf(`{"client":%q}`, client), "").
		add(okMS, p, history.OK, "acquire", lock, fmt.Sprintf(`{"token":%d,"node":"/faultline/locks/%s/lock-%010d","session":"0x%x"}`, token, lock, token, int(p)+0x100), "")
}

// release is a release of token, completing as typ (with errText).
func (h *lockHist) release(p history.Process, lock string, token int64, ms, doneMS float64, typ history.Type, errText string) *lockHist {
	v := fmt.Sprintf(`{"token":%d}`, token)
	return h.add(ms, p, history.Invoke, "release", lock, v, "").add(doneMS, p, typ, "release", lock, v, errText)
}

// lose is a careful client's lose op.
func (h *lockHist) lose(p history.Process, lock string, token int64, ms float64, why string) *lockHist {
	v := fmt.Sprintf(`{"token":%d,"why":%q}`, token, why)
	return h.add(ms, p, history.Invoke, "lose", lock, v, "").add(ms, p, history.OK, "lose", lock, v, "")
}

// write is a write with token, completing as typ; an ok one gets zxid.
func (h *lockHist) write(p history.Process, lock string, token, value int64, ms, doneMS float64, typ history.Type, zxid int64, errText string) *lockHist {
	v := fmt.Sprintf(`{"token":%d,"value":%d}`, token, value)
	done := v
	if typ == history.OK {
		done = fmt.Sprintf(`{"token":%d,"value":%d,"zxid":%d}`, token, value, zxid)
	}
	return h.add(ms, p, history.Invoke, "write", lock, v, "").add(doneMS, p, typ, "write", lock, done, errText)
}

// fault is a fault of kind in place from ms to stopMS.
func (h *lockHist) fault(kind string, ms, stopMS float64) *lockHist {
	return h.add(ms, history.Nemesis, history.Invoke, "start-"+kind, "", `{"kind":"`+kind+`"}`, "").
		add(ms+1, history.Nemesis, history.Info, "start-"+kind, "", `{"done":true}`, "").
		add(stopMS-1, history.Nemesis, history.Invoke, "stop-"+kind, "", "", "").
		add(stopMS, history.Nemesis, history.Info, "stop-"+kind, "", `"healed"`, "")
}

// locks is the final locks read by p at ms, finding value.
func (h *lockHist) locks(p history.Process, ms float64, timeoutMS int, value string) *lockHist {
	return h.add(ms, p, history.Invoke, "locks", "", fmt.Sprintf(`{"session_timeout_ms":%d}`, timeoutMS), "").
		add(ms+5, p, history.OK, "locks", "", value, "")
}

func checkLock(t *testing.T, ops []history.Op) (Result, *LockDetails) {
	t.Helper()
	res := Lock{}.Check(context.Background(), ops, Options{})
	d, _ := res.Details.(*LockDetails)
	if res.Error == "" && d == nil {
		t.Fatalf("no details: %+v", res)
	}
	if _, err := json.Marshal(res); err != nil {
		t.Fatalf("result does not marshal: %v", err)
	}
	return res, d
}

func wantLockCounts(t *testing.T, res Result, want map[string]int) {
	t.Helper()
	for _, k := range []string{"split-brain", "fencing-violation", "stale-write", "mutex-violation", "leaked-lock"} {
		if got, ok := res.AnomalyCounts[k]; !ok || got != want[k] {
			t.Errorf("%s: %d (present %v), want %d; anomalies %+v", k, got, ok, want[k], res.Anomalies)
		}
	}
	n := 0
	for _, c := range want {
		n += c
	}
	if want := map[bool]Validity{true: Invalid, false: Valid}[n > 0]; res.Valid != want {
		t.Errorf("valid %v, want %v (error %q, notes %q)", res.Valid, want, res.Error, res.Notes)
	}
}

func TestLockClean(t *testing.T) {
	h := &lockHist{}
	h.fault("partition", 500, 1500)
	for i, p := range []history.Process{0, 1, 2, 0, 1} {
		t0 := float64(i) * 1000
		tok := int64(100 + i)
		h.acquire(p, "l1", "naive", t0, t0+10, tok).
			write(p, "l1", tok, tok, t0+20, t0+30, history.OK, 1000+2*tok, "").
			write(p, "l1", tok, tok+1, t0+40, t0+50, history.OK, 1001+2*tok, "").
			release(p, "l1", tok, t0+60, t0+70, history.OK, "")
		h.acquire(p+3, "l2", "careful", t0+100, t0+110, 200+tok).
			release(p+3, "l2", 200+tok, t0+150, t0+160, history.OK, "")
	}
	h.locks(9, 60_000, 10_000, `{"l1":[],"l2":[]}`)
	res, d := checkLock(t, h.build())
	wantLockCounts(t, res, nil)
	head, lines := d.Summary()
	if head != "2 locks, 10 acquires; split brain 0; fencing violations 0" {
		t.Errorf("headline %q", head)
	}
	if d.Writes != 10 || d.ByClient["naive"] != 5 || d.ByClient["careful"] != 5 || d.FinalRead == nil || d.FinalRead.Nodes != 0 {
		t.Errorf("details %+v", d)
	}
	if !slices.ContainsFunc(lines, func(l string) bool {
		return strings.HasPrefix(l, "final locks read at 60.0s: 0 lock nodes left, 0 leaked")
	}) {
		t.Errorf("lines %q", lines)
	}
	if res.Counts.Calls != 31 || res.Counts.OK != 31 {
		t.Errorf("counts %+v", res.Counts)
	}
}

func TestLockSplitBrain(t *testing.T) {
	h := &lockHist{}
	h.fault("partition", 2000, 12_000).
		acquire(0, "l1", "naive", 900, 1000, 10).
		acquire(1, "l1", "naive", 4000, 5000, 20). // p0's session expired in the partition
		write(1, "l1", 20, 1, 6000, 6010, history.OK, 100, "").
		release(0, "l1", 10, 13_000, 13_010, history.Fail, "no-node"). // p0 finds out
		release(1, "l1", 20, 14_000, 14_010, history.OK, "")
	res, d := checkLock(t, h.build())
	wantLockCounts(t, res, map[string]int{"split-brain": 1})
	o := d.Longest
	if o == nil || o.Processes != [2]history.Process{0, 1} || o.Start != 5000e6 || o.End != 13_000e6 || o.Duration != 8e9 || o.Tokens != [2]int64{10, 20} {
		t.Fatalf("longest %+v", o)
	}
	if len(o.Faults) != 1 || o.Faults[0].Kind != "partition" {
		t.Errorf("faults %+v", o.Faults)
	}
	head, _ := d.Summary()
	if head != "1 locks, 2 acquires; split brain 1 (longest 8.0s, during partition); fencing violations 0" {
		t.Errorf("headline %q", head)
	}
	a := res.Anomalies[0]
	if a.Kind != "split-brain" || a.Key != "l1" || a.At == nil || a.At.Index != 5 || len(a.Ops) != 8 ||
		!strings.Contains(a.Message, "processes 0 (naive client, token 10) and 1 (naive client, token 20) both believed they held l1 for 8.0s") {
		t.Errorf("anomaly %+v", a)
	}
	if d.Deposed != 0 {
		t.Errorf("deposed %d", d.Deposed)
	}
	// The picture's holds end at the release's invocation.
	wantHolds := []LockHold{{Lock: "l1", Process: 0, Client: "naive", Token: 10, Start: 1000e6, End: 13_000e6},
		{Lock: "l1", Process: 1, Client: "naive", Token: 20, Start: 5000e6, End: 14_000e6}}
	if !slices.Equal(d.Holds, wantHolds) || d.HoldsLeft != 0 {
		t.Errorf("holds %+v (%d left), want %+v", d.Holds, d.HoldsLeft, wantHolds)
	}
	if len(d.Overlaps) != 1 || d.Overlaps[0].Start != 5000e6 || d.Overlaps[0].End != 13_000e6 || d.Overlaps[0].Processes != [2]history.Process{0, 1} {
		t.Errorf("overlaps %+v", d.Overlaps)
	}
}

// TestLockPictureBounded: the holds and overlaps kept for the picture stop
// at their bounds, and say how many were left out.
func TestLockPictureBounded(t *testing.T) {
	h := &lockHist{}
	n := MaxLockHolds + 5
	for i := range n {
		ms := float64(i) * 10
		// Each hold overlaps the next one's for 1ms: n-1 overlaps.
		h.acquire(history.Process(i%2), "l1", "fenced", ms, ms+1, int64(i+1)).
			release(history.Process(i%2), "l1", int64(i+1), ms+12, ms+13, history.OK, "")
	}
	_, d := checkLock(t, h.build())
	if len(d.Holds) != MaxLockHolds || d.HoldsLeft != 5 {
		t.Errorf("%d holds, %d left; want %d, 5", len(d.Holds), d.HoldsLeft, MaxLockHolds)
	}
	if len(d.Overlaps) != MaxLockOverlaps || d.OverlapsLeft != n-1-MaxLockOverlaps || d.FencedOverlaps != n-1 {
		t.Errorf("%d overlaps, %d left, %d fenced; want %d, %d, %d", len(d.Overlaps), d.OverlapsLeft, d.FencedOverlaps, MaxLockOverlaps, n-1-MaxLockOverlaps, n-1)
	}
}

func TestLockSplitBrainLongestFirst(t *testing.T) {
	h := &lockHist{}
	h.acquire(0, "l1", "careful", 0, 10, 10).
		acquire(1, "l1", "careful", 20, 30, 20).
		acquire(2, "l1", "careful", 40, 50, 30).
		lose(0, "l1", 10, 60, "expired").
		lose(1, "l1", 20, 1000, "disconnected").
		release(2, "l1", 30, 3000, 3010, history.OK, "")
	res, d := checkLock(t, h.build())
	wantLockCounts(t, res, map[string]int{"split-brain": 3})
	var durs []string
	for _, a := range res.Anomalies {
		durs = append(durs, a.Message[strings.Index(a.Message, " for ")+5:strings.Index(a.Message, ", from")])
	}
	if want := []string{"0.950s", "0.030s", "0.010s"}; !slices.Equal(durs, want) {
		t.Errorf("examples' durations %q, want %q (longest first)", durs, want)
	}
	if d.SplitBrains != 3 || d.Longest.Processes != [2]history.Process{1, 2} {
		t.Errorf("details %+v", d)
	}
}

func TestLockFencingViolation(t *testing.T) {
	h := &lockHist{}
	h.acquire(0, "l1", "naive", 0, 10, 10).
		acquire(1, "l1", "naive", 1000, 1010, 20).
		write(1, "l1", 20, 1, 1100, 1110, history.OK, 100, "").
		write(0, "l1", 10, 2, 1200, 1210, history.OK, 101, ""). // landed after token 20's
		release(1, "l1", 20, 1300, 1310, history.OK, "").
		release(0, "l1", 10, 1400, 1410, history.Fail, "no-node")
	res, d := checkLock(t, h.build())
	wantLockCounts(t, res, map[string]int{"split-brain": 1, "fencing-violation": 1})
	i := slices.IndexFunc(res.Anomalies, func(a Anomaly) bool { return a.Kind == "fencing-violation" })
	a := res.Anomalies[i]
	if !strings.Contains(a.Message, "accepted process 0's write with token 10 at zxid 101, after it had accepted process 1's with the newer token 20 at zxid 100") ||
		!strings.Contains(a.Message, "naive client") || len(a.Ops) != 4 {
		t.Errorf("anomaly %+v", a)
	}
	if d.Deposed != 1 {
		t.Errorf("deposed %d, want 1", d.Deposed)
	}

	// Under fencing the resource must not take it either.
	h = &lockHist{}
	h.acquire(0, "l1", "fenced", 0, 10, 10).
		acquire(1, "l1", "fenced", 1000, 1010, 20).
		write(1, "l1", 20, 1, 1100, 1110, history.OK, 100, "").
		write(0, "l1", 10, 2, 1200, 1210, history.OK, 101, "")
	res, _ = checkLock(t, h.build())
	wantLockCounts(t, res, map[string]int{"fencing-violation": 1})
	if a := res.Anomalies[0]; !strings.Contains(a.Message, "the resource's fencing failed") {
		t.Errorf("anomaly %+v", a)
	}
}

func TestLockFencedStaleWriteRejected(t *testing.T) {
	h := &lockHist{}
	h.fault("pause", 500, 3000).
		acquire(0, "l1", "fenced", 0, 10, 10).
		acquire(1, "l1", "fenced", 1000, 1010, 20).
		write(0, "l1", 10, 1, 1050, 1060, history.OK, 99, ""). // deposed, but token 20 has not written yet
		write(1, "l1", 20, 2, 1100, 1110, history.OK, 100, "").
		write(0, "l1", 10, 3, 1200, 1210, history.Fail, 0, "fenced").
		lose(0, "l1", 10, 1300, "expired").
		release(1, "l1", 20, 1400, 1410, history.OK, "")
	res, d := checkLock(t, h.build())
	wantLockCounts(t, res, nil)
	if d.Fenced != 1 || d.Deposed != 1 || d.FencedOverlaps != 1 || d.SplitBrains != 0 || d.LongestFenced == nil || d.LongestFenced.Duration != 290e6 {
		t.Errorf("details %+v, longest fenced %+v", d, d.LongestFenced)
	}
	_, lines := d.Summary()
	if !slices.Contains(lines, "writes: 2 ok, 1 rejected as fenced, 1 ok from a deposed holder") ||
		!slices.ContainsFunc(lines, func(l string) bool {
			return strings.HasPrefix(l, "fenced clients' overlapping beliefs (harmless while fencing holds): 1, longest 0.290s, during pause")
		}) {
		t.Errorf("lines %q", lines)
	}
}

func TestLockStaleWrite(t *testing.T) {
	h := &lockHist{}
	h.acquire(0, "l1", "careful", 0, 10, 10).
		lose(0, "l1", 10, 500, "disconnected").
		write(0, "l1", 10, 1, 600, 610, history.OK, 100, ""). // after it stopped believing
		write(2, "l1", 77, 2, 700, 710, history.OK, 101, "")  // never held
	res, _ := checkLock(t, h.build())
	wantLockCounts(t, res, map[string]int{"stale-write": 2})
	var stale []Anomaly
	for _, a := range res.Anomalies {
		if a.Kind == "stale-write" {
			stale = append(stale, a)
		}
	}
	if len(stale) != 2 || !strings.Contains(stale[0].Message, "process 0's belief in token 10 ran from 0.010s (acquire, index 0→1) to 0.500s (lose, index 2)") ||
		!strings.Contains(stale[1].Message, "process 2 never acquired l1 with token 77") {
		t.Errorf("stale writes %+v", stale)
	}
}

func TestLockLeaked(t *testing.T) {
	h := &lockHist{}
	h.fault("partition", 1000, 20_000).
		acquire(0, "l1", "naive", 0, 10, 10).
		write(0, "l1", 10, 1, 3000, 3500, history.Info, 0, "timeout"). // retired at 3.5 s
		acquire(1, "l2", "naive", 50_000, 50_010, 30).
		write(1, "l2", 30, 2, 55_000, 55_010, history.OK, 200, "") // stops at 55 s: its session closes then
	h.locks(9, 60_000, 10_000, `{"l1":[{"node":"/faultline/locks/l1/lock-0000000010","session":"0x100"}],"l2":[{"node":"/faultline/locks/l2/lock-0000000030","session":"0x101"}]}`)
	res, d := checkLock(t, h.build())
	wantLockCounts(t, res, map[string]int{"leaked-lock": 1})
	if f := d.FinalRead; f == nil || f.Nodes != 2 || f.Leaked != 1 || f.NotDue != 1 || f.SessionTimeout != 10e9 {
		t.Errorf("final read %+v", d.FinalRead)
	}
	a := res.Anomalies[0]
	if a.Key != "l1" || !strings.Contains(a.Message, "lock node /faultline/locks/l1/lock-0000000010 was still there at the final read (60.000s), although its session 0x100, process 0's, had ended by 3.500s and the last fault ended by 20.000s") ||
		len(a.Ops) != 4 {
		t.Errorf("anomaly %+v", a)
	}
	if !slices.ContainsFunc(res.Notes, func(n string) bool {
		return strings.HasPrefix(n, "1 lock nodes were still there at the final locks read, less than")
	}) ||
		!slices.ContainsFunc(res.Notes, func(n string) bool { return strings.HasPrefix(n, "1 beliefs ended at an info op") }) {
		t.Errorf("notes %q", res.Notes)
	}

	// Plain node names, without sessions, are judged against the last
	// session's end.
	h.ops = h.ops[:len(h.ops)-2]
	h.locks(9, 80_000, 10_000, `{"l1":["lock-0000000010"]}`)
	res, d = checkLock(t, h.build())
	wantLockCounts(t, res, map[string]int{"leaked-lock": 1})
	if d.FinalRead.Leaked != 1 || !strings.Contains(res.Anomalies[0].Message, "the workers' sessions had ended by 55.010s") {
		t.Errorf("final read %+v, anomalies %+v", d.FinalRead, res.Anomalies)
	}
}

func TestLockInfoAndRetired(t *testing.T) {
	// Process 0's belief ends at its info write; its successor, process
	// 10, acquires again later: no overlap.
	h := &lockHist{}
	h.acquire(0, "l1", "naive", 0, 10, 10).
		write(0, "l1", 10, 1, 100, 4000, history.Info, 0, "timeout").
		acquire(10, "l1", "naive", 4100, 9000, 20).
		release(10, "l1", 20, 9100, 9110, history.OK, "").
		add(9200, 1, history.Invoke, "acquire", "l1", `{"client":"naive"}`, "").
		add(9300, 1, history.Info, "acquire", "l1", `{"client":"naive"}`, "connection-loss")
	res, d := checkLock(t, h.build())
	wantLockCounts(t, res, nil)
	if d.EndedByInfo != 1 || d.Acquires != 2 || res.Counts.Info != 2 {
		t.Errorf("details %+v, counts %+v", d, res.Counts)
	}

	// Another process acquires before the info completes: the belief
	// overlaps until the info.
	h = &lockHist{}
	h.acquire(0, "l1", "naive", 0, 10, 10).
		write(0, "l1", 10, 1, 100, 4000, history.Info, 0, "timeout").
		acquire(1, "l1", "naive", 2000, 3000, 20)
	res, d = checkLock(t, h.build())
	wantLockCounts(t, res, map[string]int{"split-brain": 1})
	if d.Longest.Duration != 1e9 || d.Longest.End != 4000e6 {
		t.Errorf("longest %+v", d.Longest)
	}

	// A retired process that goes on is a malformed history.
	h = &lockHist{}
	h.acquire(0, "l1", "naive", 0, 10, 10).
		write(0, "l1", 10, 1, 100, 4000, history.Info, 0, "timeout").
		release(0, "l1", 10, 5000, 5010, history.OK, "")
	res, _ = checkLock(t, h.build())
	if res.Valid != Unknown || !strings.Contains(res.Error, "was retired by its info completion") || strings.Contains(res.Error, "\n") {
		t.Errorf("retired process going on: %v %q", res.Valid, res.Error)
	}
}

func TestLockMutexViolation(t *testing.T) {
	// Process 0's node still existed (its release deleted it) when
	// process 1 was granted a newer one.
	h := &lockHist{}
	h.acquire(0, "l1", "careful", 0, 10, 10).
		lose(0, "l1", 10, 500, "disconnected").
		acquire(1, "l1", "careful", 1000, 1010, 20).
		release(0, "l1", 10, 2000, 2010, history.OK, "").
		release(1, "l1", 20, 3000, 3010, history.OK, "")
	res, _ := checkLock(t, h.build())
	wantLockCounts(t, res, map[string]int{"mutex-violation": 1})
	if a := res.Anomalies[0]; !strings.Contains(a.Message, "process 1 was granted the lock with token 20 at 1.010s at the latest, while process 0's older lock node (token 10) still existed") || len(a.Ops) != 6 {
		t.Errorf("anomaly %+v", a)
	}

	// An older token granted after a newer one.
	h = &lockHist{}
	h.acquire(0, "l1", "careful", 0, 10, 20).
		lose(0, "l1", 20, 500, "expired").
		acquire(1, "l1", "careful", 1000, 1010, 10).
		release(1, "l1", 10, 3000, 3010, history.OK, "")
	res, _ = checkLock(t, h.build())
	wantLockCounts(t, res, map[string]int{"mutex-violation": 1})
	if a := res.Anomalies[0]; !strings.Contains(a.Message, "process 0 was granted the lock with token 20 at 0.010s at the latest, while process 1's older lock node (token 10)") || a.At.Index != 1 {
		t.Errorf("anomaly %+v", a)
	}

	// One node granted twice.
	h = &lockHist{}
	h.acquire(0, "l1", "careful", 0, 10, 20).
		lose(0, "l1", 20, 500, "expired").
		acquire(1, "l1", "careful", 1000, 1010, 20)
	res, _ = checkLock(t, h.build())
	wantLockCounts(t, res, map[string]int{"mutex-violation": 1})
	if a := res.Anomalies[0]; !strings.Contains(a.Message, "granted the lock node with token 20 (/faultline/locks/l1/lock-0000000020) to processes 0 and 1") {
		t.Errorf("anomaly %+v", a)
	}
}

func TestLockUnknown(t *testing.T) {
	h := &lockHist{}
	h.add(0, 0, history.Invoke, "acquire", "l1", `{"client":"naive"}`, "").
		add(10, 0, history.Fail, "acquire", "l1", "", "timeout")
	res, _ := checkLock(t, h.build())
	if res.Valid != Unknown || !slices.ContainsFunc(res.Notes, func(n string) bool { return strings.HasPrefix(n, "no acquire completed ok") }) {
		t.Errorf("no ok acquire: %v %q", res.Valid, res.Notes)
	}
	for name, ops := range map[string]*lockHist{
		"no token":   (&lockHist{}).add(0, 0, history.Invoke, "acquire", "l1", `{}`, "").add(1, 0, history.OK, "acquire", "l1", `{"node":"/n","session":"0x1"}`, ""),
		"no zxid":    (&lockHist{}).acquire(0, "l1", "naive", 0, 1, 5).add(2, 0, history.Invoke, "write", "l1", `{"token":5,"value":1}`, "").add(3, 0, history.OK, "write", "l1", `{"token":5,"value":1}`, ""),
		"no key":     (&lockHist{}).add(0, 0, history.Invoke, "release", "", `{"token":5}`, ""),
		"unknown f":  (&lockHist{}).add(0, 0, history.Invoke, "read", "l1", ``, ""),
		"bad value":  (&lockHist{}).add(0, 0, history.Invoke, "release", "l1", `{"token":"5"}`, ""),
		"bad locks":  (&lockHist{}).acquire(0, "l1", "naive", 0, 1, 5).locks(9, 100, 1000, `{"l1":[7]}`),
		"two invoke": (&lockHist{}).add(0, 0, history.Invoke, "release", "l1", `{"token":5}`, "").add(1, 0, history.Invoke, "release", "l1", `{"token":5}`, ""),
	} {
		res, _ := checkLock(t, ops.build())
		if res.Valid != Unknown || res.Error == "" || strings.Contains(res.Error, "\n") || res.Details != nil {
			t.Errorf("%s: valid %v, error %q", name, res.Valid, res.Error)
		}
	}
}

func TestLockStops(t *testing.T) {
	ops := genLockHistory(20_000)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := Lock{}.Check(ctx, ops, Options{})
	if res.Valid != Unknown || len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "cancelled") {
		t.Errorf("cancelled: %v %q %q", res.Valid, res.Notes, res.Error)
	}
	start := time.Now()
	res = Lock{}.Check(context.Background(), ops, Options{Timeout: time.Nanosecond})
	if res.Valid != Unknown || !strings.Contains(strings.Join(res.Notes, ""), "timed out") || time.Since(start) > time.Second {
		t.Errorf("timeout: %v %q after %v", res.Valid, res.Notes, time.Since(start))
	}
}

// genLockHistory generates a valid zk-lock history of about n ops: three
// locks, each taken in turn by workers that write twice and release; now
// and then a write ends as info and its worker goes on as a new process;
// partitions come and go; a final locks read finds nothing.
func genLockHistory(n int) []history.Op {
	h := &lockHist{}
	const workers, nlocks = 10, 3
	proc := make([]history.Process, workers)
	for i := range proc {
		proc[i] = history.Process(i)
	}
	var t float64
	zxid := int64(1 << 32)
	tokens := make([]int64, nlocks)
	for cycle := 0; len(h.ops) < n-2; cycle++ {
		if cycle%50 == 0 {
			h.fault("partition", t, t+200)
		}
		l := cycle % nlocks
		w := cycle % workers
		p := proc[w]
		lock := fmt.Sprintf("l%d", l+1)
		zxid += 3
		tokens[l] = zxid
		tok := zxid
		client := []string{"naive", "careful", "fenced"}[w%3]
		h.acquire(p, lock, client, t, t+1, tok)
		for k := range int64(2) {
			zxid++
			h.write(p, lock, tok, zxid, t+2+float64(k)*2, t+3+float64(k)*2, history.OK, zxid, "")
		}
		if cycle%97 == 0 {
			h.write(p, lock, tok, 0, t+7, t+8, history.Info, 0, "timeout")
			proc[w] += workers
		} else {
			h.release(p, lock, tok, t+7, t+8, history.OK, "")
		}
		t += 3 // the next lock's turn overlaps in time
		if l == nlocks-1 {
			t += 6
		}
	}
	h.locks(history.Process(1_000_000), t+120_000, 10_000, `{}`)
	return h.build()
}

func TestLockGenerated(t *testing.T) {
	ops := genLockHistory(20_000)
	res, d := checkLock(t, ops)
	wantLockCounts(t, res, nil)
	if d.Locks != 3 || d.Acquires < 1000 || d.EndedByInfo == 0 {
		t.Errorf("details %+v", d)
	}
}

// BenchmarkLock checks a generated history of 200k ops.
func BenchmarkLock(b *testing.B) {
	ops := genLockHistory(200_000)
	b.ReportAllocs()
	for b.Loop() {
		res := Lock{}.Check(context.Background(), ops, Options{})
		if res.Valid != Valid {
			b.Fatalf("valid %v: %q %q %v", res.Valid, res.Error, res.Notes, res.AnomalyCounts)
		}
	}
	b.ReportMetric(float64(len(ops))*float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}
