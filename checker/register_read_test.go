package checker

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/faultline/faultline/history"
)

// TestRegisterReadAgreesWithLongWay checks the register checks' one pass
// over the history against the long way (history.Pair, then each call
// decoded in turn) on generated histories, well formed and damaged in
// every way the pass must notice: both must give the same result, error
// and counts included.
func TestRegisterReadAgreesWithLongWay(t *testing.T) {
	n := 1500
	if testing.Short() {
		n = 200
	}
	var fast, errs, invalid int
	for seed := range uint64(n) {
		var ops []history.Op
		if seed%2 == 0 {
			ops = generateZK(zkGenConfig{seed: seed, procs: 2 + int(seed%4), servers: 3, slots: 1 + int(seed%3), opsPerKey: 5 + int(seed%20),
				calls: 10 + int(seed%40), readShare: 0.4, infoRate: 0.1, failRate: 0.05, applied: 0.5, maxLag: int64(seed % 3 * 200),
				final: seed%3 != 0, cutAt: int(seed % 7 * 10)})
		} else {
			ops = generateRegister(genConfig{seed: seed, ops: 10 + int(seed%30), keys: 1 + int(seed%3), procs: 2 + int(seed%4),
				infoRate: 0.2, failRate: 0.05, applied: 0.5, nemesis: seed%3 == 1, cutAt: float64(seed%4) * 0.3})
		}
		rng := rand.New(rand.NewPCG(seed, 77))
		what := "intact"
		switch {
		case len(ops) == 0 || seed%8 == 0:
		case seed%4 == 2:
			what = "a read corrupted"
			corruptRead(ops, seed)
		default:
			what = damage(ops, rng)
		}
		for _, rc := range []registerCheck{
			{name: "linearizable", artifact: "linearizability-"},
			{name: "linearizable-writes", writesOnly: true, artifact: "linearizability-writes-"},
		} {
			got := registerResult(rc, ops)
			rc.longWay = true
			want := registerResult(rc, ops)
			if got != want {
				t.Fatalf("seed %d (%s), %s:\none pass: %s\nlong way: %s\n%s", seed, what, rc.name, got, want, dump(ops))
			}
			if rc.name == "linearizable" {
				var r struct{ Error string }
				_ = json.Unmarshal([]byte(got), &r)
				switch {
				case r.Error != "":
					errs++
				case strings.Contains(got, `"valid":false`):
					invalid++
					fallthrough
				default:
					fast++
				}
			}
		}
	}
	t.Logf("%d histories well formed (%d of them not linearizable), %d malformed", fast, invalid, errs)
	if errs < n/4 || fast < n/4 || invalid < n/20 {
		t.Errorf("%d well formed (%d not linearizable) and %d malformed: the damage does not test every way", fast, invalid, errs)
	}
}

// registerResult runs rc on ops and renders the result as JSON, less
// the times, with the names of its artifacts and, for a writes-only check,
// what LinearizableWrites adds.
func registerResult(rc registerCheck, ops []history.Op) string {
	res, d, out := rc.check(context.Background(), ops, Options{})
	res.DurationMS, d.KeyDurationMS = 0, nil
	res.Details = d
	if rc.writesOnly && res.Error == "" {
		checkZxidRealtime(out, &res)
	}
	for _, a := range res.Artifacts {
		res.Files = append(res.Files, a.Name())
	}
	b, err := json.Marshal(struct {
		Result
		Left, Final, NoZxid, Obs int
	}{res, out.left, out.final, out.noZxid, len(out.obs)})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// damage changes one or two ops of ops in a way a history can be wrong (or
// harmlessly odd), and says how.
func damage(ops []history.Op, rng *rand.Rand) string {
	var what string
	for range 1 + rng.IntN(2) {
		i := rng.IntN(len(ops))
		op := &ops[i]
		switch rng.IntN(24) {
		case 0:
			op.Type = []history.Type{history.Invoke, history.OK, history.Fail, history.Info, "oks"}[rng.IntN(5)]
		case 1:
			op.F = []string{"read", "write", "cas", "append", ""}[rng.IntN(5)]
		case 2:
			op.Key = []string{"", "r0", "x", op.Key + "'"}[rng.IntN(4)]
		case 3:
			op.Value = json.RawMessage([]string{`{"value":`, `{"value":1,}`, `nul`, `{"value":1}x`, "\x00"}[rng.IntN(5)])
		case 4:
			op.Value = json.RawMessage([]string{`null`, `[]`, `{}`, `17`, `"x"`, `{"value":"x"}`, `{"value":1e3}`, `{"value":-1}`,
				`{"other":1}`, `{ "value" : 3 , "version":1 }`, `{"value":3,"value":4}`, `{"value":12345678901234567890}`}[rng.IntN(12)])
		case 5:
			op.Time = []int64{-1, 0, op.Time - 1000, op.Time + 1000}[rng.IntN(4)]
		case 6:
			op.Index = -1
		case 7:
			op.Process = []history.Process{-2, history.Nemesis, op.Process + 1, op.Process + 100, 0}[rng.IntN(5)]
		case 8:
			copy(ops[i:], ops[i+1:]) // drop it
			ops[len(ops)-1] = *op
			ops[len(ops)-1].Type = history.Invoke
		case 9:
			op.Error = []string{"", errBadVersion, "timeout"}[rng.IntN(3)]
		case 10:
			if op.Type != history.Invoke {
				op.Value = nil
			}
		case 11:
			op.Node = finalNode
		default:
			// Reword the value as another writer might: same meaning,
			// or a field less.
			var v map[string]int64
			if json.Unmarshal(op.Value, &v) != nil || v == nil {
				continue
			}
			switch rng.IntN(4) {
			case 0:
				delete(v, "version")
			case 1:
				delete(v, "zxid")
			case 2:
				delete(v, "expected_version")
			default:
				v["value"]++
			}
			op.Value, _ = json.Marshal(v)
			if rng.IntN(2) == 0 {
				op.Value = append(json.RawMessage(" "), op.Value...)
			}
		}
		what += fmt.Sprintf("op %d now %v; ", i, op)
	}
	return what
}
