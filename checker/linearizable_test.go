package checker

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/history"
)

func check(t *testing.T, ops []history.Op, opts Options) Result {
	t.Helper()
	res := Linearizable{}.Check(context.Background(), ops, opts)
	if _, err := json.Marshal(res); err != nil {
		t.Fatalf("result does not marshal: %v", err)
	}
	return res
}

func wantValidity(t *testing.T, res Result, want Validity) {
	t.Helper()
	if res.Valid != want {
		b, _ := json.MarshalIndent(res, "", "  ")
		t.Fatalf("valid = %v, want %v\n%s", res.Valid, want, b)
	}
	if want == Invalid && len(res.Anomalies) == 0 {
		t.Fatal("invalid without anomalies")
	}
	if want != Invalid && len(res.Anomalies) > 0 {
		t.Fatalf("%v with anomalies: %+v", want, res.Anomalies)
	}
}

func TestLinearizableHistories(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    *builder
		want Validity
	}{
		{"empty: nothing tested", &builder{}, Unknown},
		{"initial state", new(builder).read(0, "0", "0"), Valid},
		{"sequential", new(builder).write(0, "1", "1").read(1, "1", "1").cas(0, "1", "2", "2").read(1, "2", "2"), Valid},
		{"read of a value never written",
			new(builder).write(0, "1", "1").read(1, "5", "1"), Invalid},
		{"concurrent read sees the new value",
			new(builder).inv(0, "write", `{"value":1}`).inv(1, "read", "").
				ok(1, "read", `{"value":1,"version":1}`).ok(0, "write", `{"value":1,"version":1}`), Valid},
		{"concurrent read sees the old value",
			new(builder).inv(0, "write", `{"value":1}`).inv(1, "read", "").
				ok(0, "write", `{"value":1,"version":1}`).ok(1, "read", `{"value":0,"version":0}`), Valid},
		{"concurrent writes complete out of order",
			new(builder).inv(0, "write", `{"value":1}`).inv(1, "write", `{"value":2}`).
				ok(0, "write", `{"value":1,"version":2}`).ok(1, "write", `{"value":2,"version":1}`).read(2, "1", "2"), Valid},
		{"stale read",
			new(builder).write(0, "1", "1").read(1, "0", "0"), Invalid},
		{"lost write",
			new(builder).write(0, "1", "1").write(1, "2", "2").read(2, "1", "1"), Invalid},
		{"read goes back in time",
			new(builder).write(0, "1", "1").write(0, "2", "2").read(1, "2", "2").read(2, "1", "1"), Invalid},
		{"info write later read",
			new(builder).inv(0, "write", `{"value":1}`).info(0, "write", `{"value":1}`).
				read(1, "1", "1").write(2, "2", "2").read(1, "2", "2"), Valid},
		{"info write takes effect after a later read of the old value",
			new(builder).inv(0, "write", `{"value":1}`).info(0, "write", `{"value":1}`).
				read(1, "0", "0").read(2, "1", "1"), Valid},
		{"info write never seen",
			new(builder).inv(0, "write", `{"value":1}`).info(0, "write", `{"value":1}`).
				read(1, "0", "0").write(2, "2", "1").read(1, "2", "1"), Valid},
		{"info write never seen, but its version is",
			new(builder).write(0, "1", "1").inv(1, "write", `{"value":2}`).info(1, "write", `{"value":2}`).
				write(2, "3", "3").read(3, "3", "3"), Valid},
		{"info write seen before it was invoked",
			new(builder).read(1, "1", "1").inv(0, "write", `{"value":1}`).info(0, "write", `{"value":1}`), Invalid},
		{"info write seen, then its version reused",
			new(builder).inv(0, "write", `{"value":1}`).info(0, "write", `{"value":1}`).
				read(1, "1", "1").write(2, "2", "1"), Invalid},
		{"two info writes explain two missing versions",
			new(builder).inv(0, "write", `{"value":1}`).info(0, "write", `{"value":1}`).
				inv(1, "write", `{"value":2}`).info(1, "write", `{"value":2}`).
				read(2, "0", "0").write(3, "3", "3").read(2, "3", "3"), Valid},
		{"one info write cannot explain two missing versions",
			new(builder).inv(0, "write", `{"value":1}`).info(0, "write", `{"value":1}`).
				read(2, "0", "0").write(3, "3", "3").read(2, "3", "3"), Invalid},
		{"info read constrains nothing",
			new(builder).write(0, "1", "1").inv(1, "read", "").info(1, "read", "").read(2, "1", "1"), Valid},
		{"failed write did not happen",
			new(builder).write(0, "1", "1").inv(1, "write", `{"value":2}`).fail(1, "write", `{"value":2}`, "connection-loss").
				read(2, "1", "1"), Valid},
		{"failed write seen",
			new(builder).write(0, "1", "1").inv(1, "write", `{"value":2}`).fail(1, "write", `{"value":2}`, "connection-loss").
				read(2, "2", "2"), Invalid},
		{"cas succeeds and a stale cas fails with bad-version",
			new(builder).write(0, "1", "1").cas(1, "1", "2", "2").casBadVersion(2, "1", "3").read(0, "2", "2"), Valid},
		{"cas ok whose expected version cannot have matched",
			new(builder).write(0, "1", "1").cas(1, "0", "2", "2").read(0, "2", "2"), Invalid},
		{"cas ok whose version is not expected+1",
			new(builder).write(0, "1", "1").cas(1, "1", "2", "3"), Invalid},
		{"bad-version although the version matched",
			new(builder).write(0, "1", "1").casBadVersion(1, "1", "2"), Invalid},
		{"bad-version explained by a concurrent write",
			new(builder).write(0, "1", "1").inv(1, "cas", `{"expected_version":1,"value":3}`).
				write(0, "2", "2").fail(1, "cas", `{"expected_version":1,"value":3}`, errBadVersion), Valid},
		{"bad-version explained by an info write nobody read",
			new(builder).write(0, "1", "1").inv(1, "write", `{"value":2}`).info(1, "write", `{"value":2}`).
				casBadVersion(2, "1", "3"), Valid},
		{"info cas seen",
			new(builder).write(0, "1", "1").inv(1, "cas", `{"expected_version":1,"value":2}`).
				info(1, "cas", `{"expected_version":1,"value":2}`).read(2, "2", "2"), Valid},
		{"info cas seen although its version never matched",
			new(builder).write(0, "1", "1").write(0, "3", "2").inv(1, "cas", `{"expected_version":1,"value":2}`).
				info(1, "cas", `{"expected_version":1,"value":2}`).read(2, "2", "3"), Invalid},
		{"info cas that cannot have applied, next to the version it would make",
			new(builder).write(0, "1", "1").inv(1, "cas", `{"expected_version":1,"value":2}`).
				info(1, "cas", `{"expected_version":1,"value":2}`).write(2, "3", "2").read(0, "3", "2"), Valid},
		{"version jump: a read sees version+2 after one write",
			new(builder).write(0, "1", "1").read(1, "1", "2"), Invalid},
		{"version jump: a write makes version 2 on a fresh znode",
			new(builder).write(0, "1", "2"), Invalid},
		{"incomplete write, later read",
			new(builder).write(0, "1", "1").read(2, "1", "1").inv(1, "write", `{"value":2}`).read(2, "2", "2"), Valid},
		{"incomplete write, never seen",
			new(builder).inv(1, "write", `{"value":2}`).read(2, "0", "0").write(0, "3", "1").read(2, "3", "1"), Valid},
		{"incomplete read",
			new(builder).write(0, "1", "1").inv(1, "read", ""), Valid},
		{"nemesis ops are ignored",
			new(builder).nemesis("start-partition", `{"isolated":["zk1"]}`).write(0, "1", "1").
				nemesis("stop-partition", "").read(1, "1", "1"), Valid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := check(t, tc.b.ops, Options{})
			wantValidity(t, res, tc.want)
			// The textbook treatment of unknown ops must agree.
			plain := Linearizable{noPrune: true}.Check(context.Background(), tc.b.ops, Options{})
			if plain.Valid != res.Valid {
				t.Fatalf("without pruning valid = %v, with pruning %v", plain.Valid, res.Valid)
			}
		})
	}
}

func TestLinearizableAnomalyAndVisualization(t *testing.T) {
	b := new(builder).
		nemesis("start-partition", `{"isolated":["zk3"]}`).
		write(0, "1", "1").
		read(1, "1", "1").
		write(0, "2", "2").
		read(1, "1", "1"). // stale: 2 was acknowledged before this read began
		nemesis("stop-partition", "").
		read(2, "2", "2")
	// A second key that is fine.
	b.add(5, history.Invoke, "read", "/faultline/ok", "", "").add(5, history.OK, "read", "/faultline/ok", `{"value":0,"version":0}`, "")
	res := check(t, b.ops, Options{})
	wantValidity(t, res, Invalid)
	if len(res.Anomalies) != 1 {
		t.Fatalf("%d anomalies, want 1", len(res.Anomalies))
	}
	a := res.Anomalies[0]
	if a.Kind != "nonlinearizable" || a.Key != "x" {
		t.Fatalf("anomaly %q on key %q", a.Kind, a.Key)
	}
	for _, want := range []string{"at most 3 of its 5 ops", "value 2, version 2", "read → 1 at version 1", "index 8 → 9 (ok)"} {
		if !strings.Contains(a.Message, want) {
			t.Errorf("message %q lacks %q", a.Message, want)
		}
	}
	if a.At == nil || a.At.Index != 9 || a.At.F != "read" || a.At.Type != history.OK {
		t.Errorf("anomaly at %v, want the stale read's completion, index 9", a.At)
	}
	var indexes []int64
	for _, op := range a.Ops {
		indexes = append(indexes, op.Index)
	}
	// The stale read (8, 9) and the ops linearized just before it.
	if want := []int64{2, 3, 4, 5, 6, 7, 8, 9}; !equalInts(indexes, want) {
		t.Errorf("anomaly ops %v, want %v", indexes, want)
	}
	d := res.Details.(*LinearizableDetails)
	if got := d.InvalidKeys; len(got) != 1 || got[0] != "x" {
		t.Errorf("invalid_keys %v", got)
	}
	if d.Keys != 2 {
		t.Errorf("keys = %v, want 2", d.Keys)
	}
	if res.AnomalyCounts["nonlinearizable"] != 1 {
		t.Errorf("anomaly counts %v", res.AnomalyCounts)
	}
	if res.Counts != (Counts{Calls: 6, OK: 6}) {
		t.Errorf("counts %+v", res.Counts)
	}
	if len(res.Artifacts) != 1 || res.Artifacts[0].Name() != "linearizability-x.html" {
		t.Fatalf("%d artifacts, want linearizability-x.html", len(res.Artifacts))
	}
	var html bytes.Buffer
	if _, err := res.Artifacts[0].WriteTo(&html); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"start-partition", `{\"isolated\":[\"zk3\"]}`, "first op that cannot be linearized", "read → 1 at version 1"} {
		if !strings.Contains(html.String(), want) {
			t.Errorf("visualization lacks %q", want)
		}
	}

	// A valid history draws nothing.
	res = check(t, new(builder).write(0, "1", "1").ops, Options{})
	wantValidity(t, res, Valid)
	if len(res.Artifacts) != 0 {
		t.Errorf("valid history drew %d artifacts", len(res.Artifacts))
	}
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestLinearizableCounts(t *testing.T) {
	b := new(builder).write(0, "1", "1").read(1, "1", "1").
		inv(2, "write", `{"value":2}`).info(2, "write", `{"value":2}`).
		casBadVersion(1, "0", "3").
		inv(0, "read", "")
	res := check(t, b.ops, Options{})
	wantValidity(t, res, Valid)
	if want := (Counts{Calls: 5, OK: 2, Fail: 1, Info: 1, Incomplete: 1}); res.Counts != want {
		t.Errorf("counts %+v, want %+v", res.Counts, want)
	}
	counts := res.Details.(*LinearizableDetails).ByF
	if counts["write"].OK != 1 || counts["write"].Info != 1 || counts["cas"].Fail != 1 || counts["read"].Incomplete != 1 {
		t.Errorf("counts per f %v", counts)
	}
}

func TestLinearizableMalformed(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    *builder
		want string
	}{
		{"unpaired", new(builder).ok(0, "read", `{"value":0,"version":0}`), "malformed history: op index 0: process 0 completes"},
		{"write without version", new(builder).inv(0, "write", `{"value":1}`).ok(0, "write", `{"value":1}`), `op index 1: ok write has no "version"`},
		{"read without value", new(builder).inv(0, "read", "").ok(0, "read", `{"version":1}`), `op index 1: ok read has no "value"`},
		{"cas without expected version", new(builder).inv(0, "cas", `{"value":1}`).ok(0, "cas", `{"value":1,"version":1}`), `op index 0: cas invocation has no "expected_version"`},
		{"value not an object", new(builder).inv(0, "write", `17`).ok(0, "write", `{"value":17,"version":1}`), "op index 0: write value 17 is not a zk-register value"},
		{"unknown f", new(builder).inv(0, "append", `{"value":1}`).ok(0, "append", `{"value":1}`), `unknown f "append"`},
		{"write changes its value", new(builder).inv(0, "write", `{"value":1}`).ok(0, "write", `{"value":2,"version":1}`), "says value 2 but its invocation (index 0) wrote 1"},
		{"cas changes its value", new(builder).inv(0, "cas", `{"expected_version":0,"value":1}`).ok(0, "cas", `{"expected_version":0,"value":3,"version":1}`), "says value 3 but its invocation (index 0) wrote 1"},
		{"cas changes its expected version", new(builder).inv(0, "cas", `{"expected_version":0,"value":1}`).ok(0, "cas", `{"expected_version":4,"value":1,"version":5}`), "says it expected version 4 but its invocation (index 0) expected 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := check(t, tc.b.ops, Options{})
			if res.Valid != Unknown || !strings.Contains(res.Error, tc.want) {
				t.Fatalf("valid %v, error %q; want unknown and an error containing %q", res.Valid, res.Error, tc.want)
			}
		})
	}
}

// hardHistory is a key whose written values are not unique, so the checker
// cannot prune, with many info writes open at once and reads that force the
// search to try every subset of them.
func hardHistory() []history.Op {
	b := new(builder)
	for p := range 40 {
		b.inv(history.Process(p), "write", `{"value":7}`)
	}
	for p := range 40 {
		b.info(history.Process(p), "write", `{"value":7}`)
	}
	for i := range 20 {
		b.read(history.Process(100+i), "0", "0")
	}
	return b.ops
}

func TestLinearizableTimeout(t *testing.T) {
	start := time.Now()
	res := check(t, hardHistory(), Options{Timeout: 50 * time.Millisecond})
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("took %v with a 50ms timeout", took)
	}
	wantValidity(t, res, Unknown)
	if got := res.Details.(*LinearizableDetails).UnknownKeys; len(got) != 1 || got[0] != "x" {
		t.Errorf("unknown_keys %v", got)
	}
	notes := strings.Join(res.Notes, "\n")
	if !strings.Contains(notes, "timed out after 50ms") || !strings.Contains(notes, "not unique") {
		t.Errorf("notes do not explain: %q", notes)
	}
}

func TestLinearizableCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	res := Linearizable{}.Check(ctx, hardHistory(), Options{})
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("took %v to notice the cancellation", took)
	}
	wantValidity(t, res, Unknown)
	if !strings.Contains(strings.Join(res.Notes, "\n"), "cancelled") {
		t.Errorf("notes %q do not say it was cancelled", res.Notes)
	}
}

// TestPruningAgreesWithTextbook checks the pruning rules against the
// textbook treatment of unknown ops on many small random histories, valid
// ones and ones with a read corrupted.
func TestPruningAgreesWithTextbook(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 300
	}
	var valid, invalid int
	var rules PruneStats
	for seed := range uint64(n) {
		cfg := genConfig{seed: seed, ops: 12 + int(seed%30), keys: 1 + int(seed%2), procs: 2 + int(seed%4),
			infoRate: 0.25, failRate: 0.05, applied: 0.5}
		if seed%5 == 0 {
			cfg.cutAt = 0.8
		}
		ops := generateRegister(cfg)
		switch seed % 4 {
		case 1, 3:
			corruptRead(ops, seed)
		case 2:
			if seed%8 == 2 {
				corruptVersion(ops, seed)
			}
		}
		pruned := Linearizable{}.Check(context.Background(), ops, Options{Timeout: 10 * time.Second})
		plain := Linearizable{noPrune: true}.Check(context.Background(), ops, Options{Timeout: 10 * time.Second})
		if pruned.Valid == Unknown || plain.Valid == Unknown {
			t.Fatalf("seed %d: unknown verdict (%v, %v): %s %s", seed, pruned.Valid, plain.Valid, pruned.Error, plain.Error)
		}
		if pruned.Valid != plain.Valid {
			t.Fatalf("seed %d: pruned %v, textbook %v\n%s", seed, pruned.Valid, plain.Valid, dump(ops))
		}
		st := pruned.Details.(*LinearizableDetails).InfoOps
		rules.Observed += st.Observed
		rules.Unobserved += st.Unobserved
		rules.Dropped += st.Dropped
		if uncorrupted := seed%4 == 0 || seed%8 == 6; uncorrupted && pruned.Valid != Valid {
			t.Fatalf("seed %d: generated history is not valid: %+v\n%s", seed, pruned.Anomalies, dump(ops))
		}
		if pruned.Valid == Valid {
			valid++
		} else {
			invalid++
		}
	}
	t.Logf("%d valid and %d invalid histories agree; unknown ops: %+v", valid, invalid, rules)
	if rules.Observed == 0 || rules.Unobserved == 0 || rules.Dropped == 0 {
		t.Errorf("some pruning rule never applied: %+v", rules)
	}
	if invalid < n/10 {
		t.Errorf("only %d invalid histories: the corruption is too weak to test anything", invalid)
	}
}

// corruptRead changes one OK read to return another value and version written
// on the same key (or the initial 0, 0).
func corruptRead(ops []history.Op, seed uint64) {
	type rv struct{ value, version int64 }
	seen := map[string][]rv{}
	var reads []int
	for i, op := range ops {
		if op.Type != history.OK {
			continue
		}
		var v struct{ Value, Version int64 }
		_ = json.Unmarshal(op.Value, &v)
		seen[op.Key] = append(seen[op.Key], rv{v.Value, v.Version})
		if op.F == "read" {
			reads = append(reads, i)
		}
	}
	if len(reads) == 0 {
		return
	}
	i := reads[int(seed/2)%len(reads)]
	choices := append([]rv{{0, 0}}, seen[ops[i].Key]...)
	c := choices[int(seed/7)%len(choices)]
	b, _ := json.Marshal(map[string]int64{"value": c.value, "version": c.version})
	ops[i].Value = b
}

// corruptVersion shifts the version an OK write or cas reports by one.
func corruptVersion(ops []history.Op, seed uint64) {
	var writes []int
	for i, op := range ops {
		if op.Type == history.OK && op.F != "read" {
			writes = append(writes, i)
		}
	}
	if len(writes) == 0 {
		return
	}
	i := writes[int(seed/8)%len(writes)]
	var v map[string]int64
	_ = json.Unmarshal(ops[i].Value, &v)
	v["version"] += int64(seed/8%2)*2 - 1
	ops[i].Value, _ = json.Marshal(v)
}

func dump(ops []history.Op) string {
	var sb strings.Builder
	for _, op := range ops {
		sb.WriteString(op.String())
		sb.WriteByte('\n')
	}
	return sb.String()
}

// TestLinearizableCasVersionFromTheServer: an ok cas whose new version is
// not its expected version + 1 is what the server said: not linearizable.
func TestLinearizableCasVersionFromTheServer(t *testing.T) {
	b := new(builder).inv(0, "cas", `{"expected_version":0,"value":1}`).ok(0, "cas", `{"expected_version":0,"value":1,"version":2}`)
	if res := check(t, b.ops, Options{}); res.Valid != Invalid {
		t.Errorf("a cas from version 0 that made version 2: %s %q", res.Valid, res.Error)
	}
}
