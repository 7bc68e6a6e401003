package checker

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestLinearizableWritesHistories(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    *builder
		want Validity
	}{
		{"empty: nothing tested", &builder{}, Unknown},
		{"reads alone test no write", new(builder).read(0, "0", "0").read(1, "0", "0"), Unknown},
		{"sequential writes", new(builder).write(0, "1", "1").cas(1, "1", "2", "2").write(0, "3", "3"), Valid},
		{"a stale read is left out", new(builder).write(0, "1", "1").read(1, "0", "0"), Valid},
		{"a read of a value never written is left out (Sequential's business)", new(builder).write(0, "1", "1").read(1, "5", "1"), Valid},
		{"two writes make one version", new(builder).write(0, "1", "1").write(1, "2", "1"), Invalid},
		{"a write makes version 2 on a fresh znode", new(builder).write(0, "1", "2"), Invalid},
		{"versions go back in real time", new(builder).write(0, "1", "2").write(1, "2", "1"), Invalid},
		{"cas ok whose expected version cannot have matched", new(builder).write(0, "1", "1").cas(1, "0", "2", "2"), Invalid},
		{"bad-version although the version matched", new(builder).write(0, "1", "1").casBadVersion(1, "1", "2"), Invalid},
		{"bad-version explained by an info write", new(builder).write(0, "1", "1").inv(1, "write", `{"value":2}`).info(1, "write", `{"value":2}`).
			casBadVersion(2, "1", "3"), Valid},
		{"an info write fills a version", new(builder).inv(0, "write", `{"value":1}`).info(0, "write", `{"value":1}`).write(1, "2", "2"), Valid},
		{"an info write revealed by a worker's read", new(builder).inv(0, "write", `{"value":1}`).info(0, "write", `{"value":1}`).
			read(1, "1", "1").write(2, "2", "2"), Valid},
		{"final read sees the last write", new(builder).write(0, "1", "1").write(1, "2", "2").read(5, "2", "2").on(finalNode), Valid},
		{"final read misses an acknowledged write: lost", new(builder).write(0, "1", "1").write(1, "2", "2").read(5, "1", "1").on(finalNode), Invalid},
		{"final read reveals an info write", new(builder).write(0, "1", "1").inv(1, "write", `{"value":2}`).info(1, "write", `{"value":2}`).
			read(5, "2", "2").on(finalNode), Valid},
		{"final read of a value never written", new(builder).write(0, "1", "1").read(5, "7", "1").on(finalNode), Invalid},
		{"a read on the ensemble by a process that wrote is not final", new(builder).write(5, "1", "1").write(1, "2", "2").read(5, "1", "1").on(finalNode), Valid},
		{"a read below a writer's process is not final", new(builder).write(6, "1", "1").write(6, "2", "2").read(5, "1", "1").on(finalNode), Valid},
		// The final reads on each server: the invocation is marked, the
		// completion names the server.
		{"every server's final read sees the last write", new(builder).write(0, "1", "1").write(1, "2", "2").
			inv(5, "read", `{"final":true}`).ok(5, "read", `{"value":2,"version":2}`).on("zk1").
			inv(6, "read", `{"final":true}`).ok(6, "read", `{"value":2,"version":2}`).on("zk2"), Valid},
		{"one server's final read misses an acknowledged write: lost there", new(builder).write(0, "1", "1").write(1, "2", "2").
			inv(5, "read", `{"final":true}`).ok(5, "read", `{"value":2,"version":2}`).on("zk1").
			inv(6, "read", `{"final":true}`).ok(6, "read", `{"value":1,"version":1}`).on("zk2"), Invalid},
		{"one server's final read finds no znode: the create is lost there", new(builder).write(0, "1", "1").
			inv(5, "read", `{"final":true}`).ok(5, "read", `{"value":0,"version":-1}`).on("zk3"), Invalid},
		{"an unmarked read on one server is not final", new(builder).write(0, "1", "1").write(1, "2", "2").
			inv(5, "read", ``).ok(5, "read", `{"value":1,"version":1}`).on("zk2"), Valid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := checkWith(t, LinearizableWrites{}, tc.b.ops)
			wantValidity(t, res, tc.want)
			plain := LinearizableWrites{noPrune: true}.Check(context.Background(), tc.b.ops, Options{})
			if plain.Valid != res.Valid {
				t.Fatalf("without pruning valid = %v, with pruning %v", plain.Valid, res.Valid)
			}
		})
	}
}

func TestLinearizableWritesDetails(t *testing.T) {
	// Two writes make version 1; two reads are left out, one final read kept.
	b := new(builder).write(0, "1", "1").read(1, "0", "0").write(0, "2", "1").
		read(2, "2", "1").read(7, "2", "1").on(finalNode)
	res := checkWith(t, LinearizableWrites{}, b.ops)
	wantValidity(t, res, Invalid)
	d := res.Details.(*LinearizableWritesDetails)
	if d.Keys != 1 || d.ReadsLeftOut != 2 || d.FinalReads != 1 || d.ByF["read"].OK != 3 || len(d.InvalidKeys) != 1 {
		t.Errorf("details %+v", d)
	}
	head, lines := d.Summary()
	if head != "1 keys" || len(lines) != 1 || !strings.Contains(lines[0], "1 final reads; 2 other ok reads left out") {
		t.Errorf("summary %q %q", head, lines)
	}
	if res.AnomalyCounts["nonlinearizable"] != 1 || len(res.Artifacts) != 1 || res.Artifacts[0].Name() != "linearizability-writes-x.html" {
		t.Errorf("anomalies %v, artifacts %v", res.AnomalyCounts, res.Artifacts)
	}
	// The whole-history check names its own visualization.
	if res := checkWith(t, Linearizable{}, b.ops); len(res.Artifacts) != 1 || res.Artifacts[0].Name() != "linearizability-x.html" {
		t.Errorf("linearizable artifacts %v", res.Artifacts)
	}
}

// TestLinearizableWritesFollowsLinearizable: leaving reads out never makes
// a linearizable history's writes nonlinearizable, and the pruning agrees
// with the textbook treatment on writes alone too.
func TestLinearizableWritesFollowsLinearizable(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 200
	}
	var valid, invalid int
	for seed := range uint64(n) {
		cfg := genConfig{seed: seed, ops: 12 + int(seed%30), keys: 1 + int(seed%2), procs: 2 + int(seed%4),
			infoRate: 0.25, failRate: 0.05, applied: 0.5}
		ops := generateRegister(cfg)
		if seed%2 == 1 {
			corruptVersion(ops, seed)
		}
		whole := Linearizable{}.Check(context.Background(), ops, Options{Timeout: 10 * time.Second})
		writes := LinearizableWrites{}.Check(context.Background(), ops, Options{Timeout: 10 * time.Second})
		plain := LinearizableWrites{noPrune: true}.Check(context.Background(), ops, Options{Timeout: 10 * time.Second})
		if whole.Valid == Valid && writes.Valid == Invalid {
			t.Fatalf("seed %d: linearizable, but its writes are not\n%s", seed, dump(ops))
		}
		if writes.Valid != plain.Valid {
			t.Fatalf("seed %d: writes pruned %v, textbook %v\n%s", seed, writes.Valid, plain.Valid, dump(ops))
		}
		switch writes.Valid {
		case Valid:
			valid++
		case Invalid:
			invalid++
		}
	}
	t.Logf("writes: %d valid, %d invalid", valid, invalid)
	if invalid < n/10 {
		t.Errorf("only %d invalid: the corruption tests little", invalid)
	}
}

func TestZxidRealtime(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    *builder
		want Validity
	}{
		{"writes in real-time order", new(builder).zwrite(0, "x", 1, 1, z+11).zwrite(1, "y", 2, 1, z+12).zwrite(2, "x", 3, 2, z+13), Valid},
		{"concurrent writes acknowledged out of zxid order",
			new(builder).add(0, "invoke", "write", "x", `{"value":1}`, "").zwrite(1, "y", 2, 1, z+11).
				add(0, "ok", "write", "x", fmt.Sprintf(`{"value":1,"version":1,"zxid":%d}`, z+12), ""), Valid},
		{"a write ordered before one acknowledged before it began",
			new(builder).zwrite(0, "x", 1, 1, z+20).zwrite(1, "y", 2, 1, z+15), Invalid},
		{"a write ordered before one a read had seen (an info write)",
			// Sequential: no session saw both. Linearizable key by key.
			new(builder).zinfo(0, "x", 1).zread(1, "x", 1, 1, z+20).zwrite(2, "y", 2, 1, z+15), Invalid},
		{"a stale read observes an older zxid: nothing wrong",
			new(builder).zwrite(0, "x", 1, 1, z+20).zread(1, "y", 0, 0, z+5).zwrite(2, "y", 2, 1, z+21), Valid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := checkWith(t, LinearizableWrites{}, tc.b.ops)
			wantValidity(t, res, tc.want)
			if tc.want == Invalid {
				wantKinds(t, res, "zxid-realtime")
			}
		})
	}
	res := checkWith(t, Sequential{}, new(builder).zinfo(0, "x", 1).zread(1, "x", 1, 1, z+20).zwrite(2, "y", 2, 1, z+15).ops)
	wantValidity(t, res, Valid)

	// Without zxids, key by key only, and a note says so.
	res = checkWith(t, LinearizableWrites{}, new(builder).write(0, "1", "1").ops)
	if res.Valid != Valid || !strings.Contains(strings.Join(res.Notes, " "), "no zxids") {
		t.Errorf("valid %v, notes %q", res.Valid, res.Notes)
	}
}
