package checker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/history"
)

// staleRead is sequentially consistent but not linearizable: process 1
// reads the initial state after process 0's write was acknowledged.
func staleRead() *builder {
	return new(builder).zwrite(0, "x", 1, 1, z+11).zread(1, "x", 0, 0, z+10)
}

// crossKeyBack is linearizable key by key, but process 1 observes the
// write to y (zxid 12) and then a state of x from before zxid 11: it went
// back. Process 0's write to x is acknowledged only at the end.
func crossKeyBack() *builder {
	return new(builder).
		add(0, history.Invoke, "write", "x", `{"value":1}`, "").
		zwrite(2, "y", 2, 1, z+12).
		zread(1, "y", 2, 1, z+12).
		zread(1, "x", 0, 0, z+10).
		add(0, history.OK, "write", "x", fmt.Sprintf(`{"value":1,"version":1,"zxid":%d}`, z+11), "")
}

func TestSequentialHistories(t *testing.T) {
	for _, tc := range []struct {
		name  string
		b     *builder
		want  Validity
		kinds []string
	}{
		{"empty: nothing tested", &builder{}, Unknown, nil},
		{"initial state", new(builder).zread(0, "x", 0, 0, z+1), Valid, nil},
		{"one session writes and reads",
			new(builder).zwrite(0, "x", 1, 1, z+11).zread(0, "x", 1, 1, z+11).zcas(0, "x", 1, 2, 2, z+12).zread(0, "x", 2, 2, z+12), Valid, nil},
		{"stale read in another session", staleRead(), Valid, nil},
		{"stale reads across keys, each session moving forward",
			new(builder).zwrite(0, "x", 1, 1, z+11).zwrite(0, "y", 2, 1, z+12).
				zread(1, "y", 0, 0, z+5).zread(1, "x", 1, 1, z+11).zread(1, "y", 2, 1, z+12), Valid, nil},
		{"a read that found no znode (version -1) is left to the linearizability checks",
			new(builder).zwrite(0, "x", 1, 1, z+11).zread(1, "x", 1, 1, z+11).zread(1, "x", 0, -1, 0), Valid, nil},
		{"read went back on one key",
			new(builder).zwrite(0, "x", 1, 1, z+11).zread(1, "x", 1, 1, z+11).zread(1, "x", 0, 0, z+10), Invalid, []string{"read-went-back"}},
		{"read went back across keys", crossKeyBack(), Invalid, []string{"read-went-back"}},
		{"read went back after the session's write to another key",
			new(builder).zwrite(0, "x", 1, 1, z+11).zwrite(1, "y", 2, 1, z+12).zread(1, "x", 0, 0, z+10), Invalid, []string{"read-went-back"}},
		{"missed own write",
			new(builder).zwrite(1, "x", 1, 1, z+11).zread(1, "x", 0, 0, z+10), Invalid, []string{"missed-own-write"}},
		{"missed own write, a version behind",
			new(builder).zwrite(0, "x", 1, 1, z+11).zread(1, "x", 1, 1, z+11).zcas(1, "x", 1, 2, 2, z+12).zread(1, "x", 1, 1, z+11), Invalid, []string{"missed-own-write"}},
		{"a retired process's successor is a new session",
			new(builder).zwrite(1, "x", 1, 1, z+11).zinfo(1, "y", 2).zread(11, "x", 0, 0, z+10), Valid, nil},
		{"... but not the process that did not retire",
			new(builder).zwrite(1, "x", 1, 1, z+11).zfail(1, "y", 2).zread(1, "x", 0, 0, z+10), Invalid, []string{"missed-own-write"}},
		{"write went back",
			new(builder).zwrite(0, "x", 1, 1, z+20).zread(1, "x", 1, 1, z+20).zwrite(1, "y", 2, 1, z+15), Invalid, []string{"write-went-back"}},
		{"a session's writes out of zxid order",
			new(builder).zwrite(1, "x", 1, 1, z+20).zwrite(1, "y", 2, 1, z+15), Invalid, []string{"write-went-back"}},
		{"version fork: two writes make one version",
			new(builder).zwrite(0, "x", 1, 1, z+11).zwrite(1, "x", 2, 1, z+12), Invalid, []string{"version-fork"}},
		{"version fork: a read sees a written value at another version",
			new(builder).zwrite(0, "x", 1, 1, z+11).zread(1, "x", 1, 2, z+11), Invalid, []string{"version-fork"}},
		{"version fork: one value, two zxids",
			new(builder).zwrite(0, "x", 1, 1, z+11).zread(1, "x", 1, 1, z+13), Invalid, []string{"version-fork"}},
		{"version fork: two reads of an info write disagree",
			new(builder).zinfo(0, "x", 1).zread(1, "x", 1, 1, z+11).zread(2, "x", 1, 2, z+12), Invalid, []string{"version-fork"}},
		{"version fork: a revealed info write and an ok write at one version",
			new(builder).zinfo(0, "x", 1).zread(1, "x", 1, 1, z+11).zwrite(2, "x", 2, 1, z+12), Invalid, []string{"version-fork"}},
		{"version fork: the initial value at another version",
			new(builder).zwrite(0, "x", 1, 1, z+11).zread(1, "x", 0, 2, z+12), Invalid, []string{"version-fork"}},
		{"version fork: another value at version 0",
			new(builder).zread(1, "x", 0, 0, z+1).zinfo(0, "x", 5).zread(2, "x", 5, 0, z+1), Invalid, []string{"version-fork"}},
		{"phantom: never written",
			new(builder).zwrite(0, "x", 1, 1, z+11).zread(1, "x", 9, 2, z+12), Invalid, []string{"phantom-value"}},
		{"phantom: a failed write's value",
			new(builder).zfail(0, "x", 1).zread(1, "x", 1, 1, z+11), Invalid, []string{"phantom-value"}},
		{"phantom: a bad-version cas's value",
			new(builder).zwrite(0, "x", 1, 1, z+11).
				add(2, history.Invoke, "cas", "x", `{"expected_version":0,"value":2}`, "").add(2, history.Fail, "cas", "x", "", errBadVersion).
				zread(1, "x", 2, 2, z+12), Invalid, []string{"phantom-value"}},
		{"phantom: read before the write was invoked",
			new(builder).zread(1, "x", 1, 1, z+11).zwrite(0, "x", 1, 1, z+11), Invalid, []string{"phantom-value"}},
		{"phantom: a value written on another key",
			new(builder).zwrite(0, "y", 1, 1, z+11).zread(1, "x", 1, 1, z+11), Invalid, []string{"phantom-value"}},
		{"zxid order: a later version with a lower zxid",
			new(builder).zwrite(0, "x", 1, 1, z+20).zwrite(1, "x", 2, 2, z+15), Invalid, []string{"zxid-order"}},
		{"zxid order: one zxid for two writes on two keys",
			new(builder).zwrite(0, "x", 1, 1, z+20).zwrite(1, "y", 2, 1, z+20), Invalid, []string{"zxid-order"}},
		{"info write revealed by a later read",
			new(builder).zinfo(0, "x", 1).zread(1, "x", 1, 1, z+11).zwrite(2, "x", 2, 2, z+12).zread(1, "x", 2, 2, z+12), Valid, nil},
		{"incomplete write revealed by a later read",
			new(builder).add(0, history.Invoke, "write", "x", `{"value":1}`, "").zread(1, "x", 1, 1, z+11).zread(1, "x", 1, 1, z+11), Valid, nil},
		{"info write never seen: a version nobody reports",
			new(builder).zinfo(0, "x", 1).zwrite(2, "x", 2, 2, z+12).zread(1, "x", 0, 0, z+10).zread(1, "x", 2, 2, z+12), Valid, nil},
		{"an info write revealed, then missed by the session that saw it",
			new(builder).zinfo(0, "x", 1).zread(1, "x", 1, 1, z+11).zread(1, "x", 0, 0, z+10), Invalid, []string{"read-went-back"}},
		{"an unknown version bounds a read by the next known one",
			// Version 1 is an info write nobody read; version 2's zxid is 30. A
			// session that saw zxid 25 and then version 0 may have read before
			// version 1 (zxid unknown, somewhere in 11..29): no anomaly.
			new(builder).zinfo(0, "x", 1).zwrite(2, "x", 2, 2, z+30).zwrite(3, "y", 3, 1, z+25).
				zread(1, "y", 3, 1, z+25).zread(1, "x", 0, 0, z+10), Valid, nil},
		{"fail ops and bad-version constrain nothing",
			new(builder).zwrite(0, "x", 1, 1, z+11).zfail(1, "x", 2).
				add(2, history.Invoke, "cas", "x", `{"expected_version":0,"value":3}`, "").add(2, history.Fail, "cas", "x", "", errBadVersion).
				add(3, history.Invoke, "read", "x", "", "").add(3, history.Fail, "read", "x", "", "no-server").
				zread(1, "x", 1, 1, z+11), Valid, nil},
		{"final reads are fresh sessions: a stale one is consistent",
			new(builder).zwrite(0, "x", 1, 1, z+11).finalRead(5, "x", 0, 0, z+10), Valid, nil},
		{"nemesis ops are ignored",
			new(builder).nemesis("start-partition", `{"isolate":["zk1"]}`).zwrite(0, "x", 1, 1, z+11).
				nemesis("stop-partition", "").zread(1, "x", 1, 1, z+11), Valid, nil},
		{"epochs: zxids of a new leader order after the old one's",
			new(builder).zwrite(0, "x", 1, 1, z+0xffff).zwrite(0, "x", 2, 2, 2*z+1).zread(1, "x", 2, 2, 2*z+1), Valid, nil},
		{"several anomalies at once",
			new(builder).zwrite(1, "x", 1, 1, z+11).zread(1, "x", 0, 0, z+10).zread(2, "x", 7, 1, z+11), Invalid, []string{"missed-own-write", "phantom-value"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := checkWith(t, Sequential{}, tc.b.ops)
			wantValidity(t, res, tc.want)
			wantKinds(t, res, tc.kinds...)
		})
	}
}

// TestStaleReadVerdicts: a stale read is sequentially consistent and its
// writes linearizable, but the history is not linearizable; a read that
// goes back across keys is not sequentially consistent although every key
// is linearizable on its own.
func TestStaleReadVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		b                      *builder
		seq, writes, linearize Validity
	}{
		{"stale read", staleRead(), Valid, Valid, Invalid},
		{"cross-key went back", crossKeyBack(), Invalid, Valid, Valid},
		{"lost write: a final read misses an acknowledged write",
			new(builder).zwrite(0, "x", 1, 1, z+11).zwrite(1, "x", 2, 2, z+12).finalRead(5, "x", 1, 1, z+11), Valid, Invalid, Invalid},
		{"final read sees the last write",
			new(builder).zwrite(0, "x", 1, 1, z+11).zread(1, "x", 0, 0, z+10).finalRead(5, "x", 1, 1, z+11), Valid, Valid, Invalid},
		{"a worker's stale read is not a final read though it is the last",
			// Process 5 is above every writer, but its session is on zk2.
			new(builder).zwrite(0, "x", 1, 1, z+11).zread(5, "x", 0, 0, z+10).on("zk2"), Valid, Valid, Invalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, c := range []struct {
				ch   Checker
				want Validity
			}{{Sequential{}, tc.seq}, {LinearizableWrites{}, tc.writes}, {Linearizable{}, tc.linearize}} {
				res := checkWith(t, c.ch, tc.b.ops)
				if res.Valid != c.want {
					t.Errorf("%s: %v, want %v: %+v", c.ch.Name(), res.Valid, c.want, res.Anomalies)
				}
			}
		})
	}
}

func TestSequentialDetailsAndExamples(t *testing.T) {
	b := new(builder).
		zwrite(0, "x", 1, 1, z+11).
		zread(1, "x", 0, 0, z+10). // stale, 1 version behind
		zinfo(2, "x", 2).
		zread(1, "x", 2, 2, z+12). // reveals the info write
		zread(1, "x", 1, 1, z+11). // went back
		finalRead(13, "x", 2, 2, z+12)
	res := checkWith(t, Sequential{}, b.ops)
	wantValidity(t, res, Invalid)
	wantKinds(t, res, "read-went-back")
	d := res.Details.(*SequentialDetails)
	want := SequentialDetails{Sessions: 4, Keys: 1, Reads: 4, FinalReads: 1, StaleReads: 1, MaxStaleness: 1, UnknownWritesRevealed: 1}
	got := *d
	got.ByF, got.AnomalyCounts = nil, nil
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("details %+v, want %+v", got, want)
	}
	if d.AnomalyCounts["read-went-back"] != 1 || len(d.AnomalyCounts) != int(seqKinds) {
		t.Errorf("anomaly counts %v", d.AnomalyCounts)
	}
	if d.ByF["read"].OK != 4 || d.ByF["write"].Info != 1 || d.ByF["write"].OK != 1 {
		t.Errorf("by f %v", d.ByF)
	}
	if res.Counts != (Counts{Calls: 6, OK: 5, Info: 1}) {
		t.Errorf("counts %+v", res.Counts)
	}
	if head, lines := d.Summary(); head != "4 sessions, 1 stale reads" || len(lines) != 1 {
		t.Errorf("summary %q %q", head, lines)
	}
	a := res.Anomalies[0]
	if a.Key != "x" || a.At == nil || a.At.Index != 9 {
		t.Errorf("anomaly on %q at %v, want x at index 9", a.Key, a.At)
	}
	for _, want := range []string{"process 1's read of x → 1 at version 1, zxid 4294967307 (index 8 → 9) went back",
		"version 1 was replaced by version 2 at zxid 4294967308 (process 2's write(2) on x (info: timeout, read at version 2",
		"already observed zxid 4294967308: process 1's read of x → 2 at version 2"} {
		if !strings.Contains(a.Message, want) {
			t.Errorf("message %q lacks %q", a.Message, want)
		}
	}
	var indexes []int64
	for _, op := range a.Ops {
		indexes = append(indexes, op.Index)
	}
	// The read that went back, the one that had observed zxid 12, and the
	// info write that made version 2.
	if want := []int64{4, 5, 6, 7, 8, 9}; !equalInts(indexes, want) {
		t.Errorf("anomaly ops %v, want %v", indexes, want)
	}
}

// TestSequentialExamplesBounded: many anomalies of one kind are all
// counted; ten are shown.
func TestSequentialExamplesBounded(t *testing.T) {
	b := new(builder).zwrite(0, "x", 1, 1, z+11)
	for i := range 25 {
		b.zread(history.Process(1+i), "x", int64(100+i), 1, z+11)
	}
	res := checkWith(t, Sequential{}, b.ops)
	if res.AnomalyCounts["phantom-value"] != 25 || len(res.Anomalies) != maxSeqExamples {
		t.Errorf("%v with %d examples", res.AnomalyCounts, len(res.Anomalies))
	}
}

func TestSequentialWithoutZxid(t *testing.T) {
	// A history recorded before the client recorded zxids.
	res := checkWith(t, Sequential{}, new(builder).write(0, "1", "1").read(1, "0", "0").ops)
	if res.Valid != Unknown || res.Error != "" || len(res.Anomalies) > 0 {
		t.Fatalf("valid %v, error %q, anomalies %v; want unknown with a note", res.Valid, res.Error, res.Anomalies)
	}
	if notes := strings.Join(res.Notes, "\n"); !strings.Contains(notes, "no zxid") {
		t.Errorf("notes %q do not say why", notes)
	}
	// Some with and some without is malformed.
	res = checkWith(t, Sequential{}, new(builder).zwrite(0, "x", 1, 1, z+1).read(1, "1", "1").ops)
	if res.Valid != Unknown || !strings.Contains(res.Error, `op index 3: ok read has no "zxid"`) {
		t.Errorf("valid %v, error %q", res.Valid, res.Error)
	}
}

func TestSequentialMalformed(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    *builder
		want string
	}{
		{"unpaired", new(builder).ok(0, "read", `{"value":0,"version":0,"zxid":1}`), "malformed history: op index 0: process 0 completes"},
		{"invoke while pending", new(builder).inv(0, "read", "").inv(0, "read", ""), "malformed history: op index 1: process 0 invokes"},
		{"invoke after retirement", new(builder).zinfo(0, "x", 1).inv(0, "read", ""), "was retired"},
		{"write without version", new(builder).inv(0, "write", `{"value":1}`).ok(0, "write", `{"value":1,"zxid":1}`), `op index 1: ok write has no "version"`},
		{"unknown f", new(builder).inv(0, "append", `{"value":1}`).ok(0, "append", `{"value":1}`), `unknown f "append"`},
		{"value not an object", new(builder).inv(0, "write", `17`).ok(0, "write", `{"value":17,"version":1,"zxid":1}`), "is not a zk-register value"},
		{"bad nemesis JSON", new(builder).add(history.Nemesis, history.Invoke, "start-kill", "", `{`, ""), "malformed"},
		{"nemesis invokes twice", new(builder).add(history.Nemesis, history.Invoke, "start-kill", "", "", "").
			add(history.Nemesis, history.Invoke, "start-kill", "", "", ""), "malformed history: op index 1: process nemesis invokes"},
		{"client completes another key", new(builder).inv(0, "read", "").add(0, history.OK, "read", "y", `{"value":0,"version":0,"zxid":1}`, ""),
			"malformed history: op index 1: process 0 completes key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := Sequential{}.Check(context.Background(), tc.b.ops, Options{})
			if res.Valid != Unknown || !strings.Contains(res.Error, tc.want) {
				t.Fatalf("valid %v, error %q; want unknown and an error containing %q", res.Valid, res.Error, tc.want)
			}
		})
	}
}

func TestSequentialStops(t *testing.T) {
	ops := generateZK(zkGenConfig{seed: 1, procs: 4, servers: 3, slots: 2, opsPerKey: 50, calls: 40000, readShare: 0.4, maxLag: 500})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := Sequential{}.Check(ctx, ops, Options{})
	if res.Valid != Unknown || !strings.Contains(strings.Join(res.Notes, " "), "cancelled") {
		t.Errorf("cancelled: %v %q", res.Valid, res.Notes)
	}
	res = Sequential{}.Check(context.Background(), ops, Options{Timeout: time.Nanosecond})
	if res.Valid != Unknown || !strings.Contains(strings.Join(res.Notes, " "), "timed out") {
		t.Errorf("timed out: %v %q", res.Valid, res.Notes)
	}
}

// TestGeneratedZKHistories: histories simulated the way ZooKeeper serves
// them (lagging followers, info writes, retired processes, final reads) are
// sequentially consistent with linearizable writes; the same with one read
// corrupted mostly are not.
func TestGeneratedZKHistories(t *testing.T) {
	n := 200
	if testing.Short() {
		n = 40
	}
	stale, caught, corrupted := 0, 0, 0
	for seed := range uint64(n) {
		cfg := zkGenConfig{seed: seed, procs: 2 + int(seed%5), servers: 3, slots: 1 + int(seed%3), opsPerKey: 10 + int(seed%40),
			calls: 50 + int(seed%7)*40, readShare: 0.4, infoRate: 0.05, failRate: 0.02, applied: 0.5, maxLag: int64(seed%4) * 400, final: seed%3 != 0}
		if seed%7 == 3 {
			cfg.cutAt = 100
		}
		ops := generateZK(cfg)
		for _, c := range []Checker{Sequential{}, LinearizableWrites{}} {
			res := c.Check(context.Background(), ops, Options{Timeout: time.Minute})
			if res.Valid != Valid {
				t.Fatalf("seed %d: %s %v: %v %s %v\n%s", seed, c.Name(), res.Valid, res.Notes, res.Error, res.Anomalies, dump(ops))
			}
			if d, ok := res.Details.(*SequentialDetails); ok {
				stale += d.StaleReads
			}
		}
		if corruptZxidRead(ops, seed) {
			corrupted++
			if res := (Sequential{}).Check(context.Background(), ops, Options{}); res.Valid == Invalid {
				caught++
			}
		}
	}
	t.Logf("%d stale reads; %d of %d corrupted histories caught", stale, caught, corrupted)
	if stale == 0 {
		t.Error("no stale reads: the simulation tests nothing the linearizability checker would not")
	}
	if caught < corrupted*9/10 {
		t.Errorf("only %d of %d corrupted histories caught", caught, corrupted)
	}
}

// corruptZxidRead changes one ok read that returned a written value (not
// the initial one) after some later version existed: to the state before
// the one it read (a read that went back, if its session saw the later
// state), or its zxid, or its value. It reports whether it found one.
func corruptZxidRead(ops []history.Op, seed uint64) bool {
	var reads []int
	for i, op := range ops {
		if op.Type == history.OK && op.F == "read" {
			var v struct{ Value, Version, Zxid int64 }
			_ = json.Unmarshal(op.Value, &v)
			if v.Version > 0 {
				reads = append(reads, i)
			}
		}
	}
	if len(reads) == 0 {
		return false
	}
	i := reads[int(seed/3)%len(reads)]
	var v map[string]int64
	_ = json.Unmarshal(ops[i].Value, &v)
	switch seed % 3 {
	case 0:
		v["zxid"] += 7
	case 1:
		v["value"] += 1 << 40
	default:
		v["version"]++
	}
	ops[i].Value, _ = json.Marshal(v)
	return true
}

// FuzzSequential: no history makes the checker panic, and whatever it
// finds, it can say.
func FuzzSequential(f *testing.F) {
	for _, b := range []*builder{staleRead(), crossKeyBack(),
		new(builder).zinfo(0, "x", 1).zread(1, "x", 1, 1, z+11).zwrite(2, "x", 2, 1, z+12).finalRead(5, "x", 2, 1, z+12),
		new(builder).zwrite(1, "x", 1, 1, z+11).zread(1, "x", 0, 0, z+10).zread(2, "x", 7, 1, z+11)} {
		var sb strings.Builder
		for _, op := range b.ops {
			line, _ := json.Marshal(op)
			sb.Write(line)
			sb.WriteByte('\n')
		}
		f.Add([]byte(sb.String()))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ops, err := history.Read(bytes.NewReader(b))
		if err != nil {
			return
		}
		res := Sequential{}.Check(context.Background(), ops, Options{})
		if _, err := json.Marshal(res); err != nil {
			t.Fatal(err)
		}
		if res.Valid == Invalid && len(res.Anomalies) == 0 {
			t.Fatal("invalid without anomalies")
		}
	})
}
