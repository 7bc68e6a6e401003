package checker

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/faultline/faultline/history"
)

// TestQueuePrefetchAgrees checks the queue checker with the prefetcher
// against the checker without it, on generated histories long enough for
// it, intact and damaged: the results must be the same, errors included.
func TestQueuePrefetchAgrees(t *testing.T) {
	n := 120
	if testing.Short() {
		n = 20
	}
	var errs, invalid int
	for seed := range uint64(n) {
		ops := generateQueue(queueGenConfig{seed: seed, calls: 1500 + int(seed%7)*400, partitions: 1 + int(seed%4), producers: 5, assigners: 2,
			subscribers: 2, sendShare: 0.5, perPoll: 1 + int(seed%30), infoRate: 0.02, failRate: 0.02, rebalance: 0.05, finalChunk: 10 + int(seed%200),
			noFinal: seed%5 == 0})
		rng := rand.New(rand.NewPCG(seed, 99))
		what := "intact"
		switch seed % 4 {
		case 1:
			what = shiftAck(ops, rng)
		case 2, 3:
			what = damageQueue(ops, rng)
		}
		with := queueResult(ops)
		queuePrefetch = false
		without := queueResult(ops)
		queuePrefetch = true
		if with != without {
			t.Fatalf("seed %d (%s):\nprefetched: %s\nnot:        %s", seed, what, with, without)
		}
		var r Result
		_ = json.Unmarshal([]byte(with), &r)
		if r.Error != "" {
			errs++
		} else if r.Valid == Invalid {
			invalid++
		}
	}
	t.Logf("%d histories, %d malformed, %d invalid", n, errs, invalid)
	if errs == 0 || invalid == 0 {
		t.Errorf("%d malformed and %d invalid: the damage does not test every way", errs, invalid)
	}
}

// queueResult checks ops and renders the result as JSON, less its time.
func queueResult(ops []history.Op) string {
	res := Queue{}.Check(context.Background(), ops, Options{})
	res.DurationMS = 0
	b, err := json.Marshal(res)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// shiftAck moves an ok send's acknowledged offset by one, which a poll
// then contradicts.
func shiftAck(ops []history.Op, rng *rand.Rand) string {
	var acks []int
	for i, op := range ops {
		if op.F == "send" && op.Type == history.OK {
			acks = append(acks, i)
		}
	}
	i := acks[rng.IntN(len(acks))]
	var v struct {
		Value  string `json:"value"`
		Offset int64  `json:"offset"`
	}
	_ = json.Unmarshal(ops[i].Value, &v)
	v.Offset++
	ops[i].Value, _ = json.Marshal(v)
	return fmt.Sprintf("op %d now %v", i, ops[i])
}

// damageQueue changes a few ops of a kafka-queue history the ways a value
// can be odd or wrong, and says how.
func damageQueue(ops []history.Op, rng *rand.Rand) string {
	var what string
	for range 1 + rng.IntN(3) {
		i := rng.IntN(len(ops))
		op := &ops[i]
		switch rng.IntN(12) {
		case 8, 9, 10: // an ok send acknowledged at another offset
			if op.F == "send" && op.Type == history.OK {
				var v struct {
					Value  string `json:"value"`
					Offset int64  `json:"offset"`
				}
				if json.Unmarshal(op.Value, &v) == nil {
					v.Offset += int64(rng.IntN(3)) - 1
					op.Value, _ = json.Marshal(v)
				}
			}
		case 0:
			op.Value = json.RawMessage([]string{`{"value":`, `nul`, `{"mode":"tail"}`, `{"value":"1-2","offset":01}`, `{"mode":"assign","records":{"0":[[1]]}}`}[rng.IntN(5)])
		case 1: // the same meaning, written otherwise
			var v any
			if json.Unmarshal(op.Value, &v) == nil {
				op.Value, _ = json.MarshalIndent(v, "", " ")
			}
		case 2:
			op.Value = append(json.RawMessage(" "), op.Value...)
		case 3: // a record read twice, or at another offset
			if op.F == "poll" && op.Type == history.OK {
				op.Value = json.RawMessage(fmt.Sprintf(`{"mode":"assign","records":{"0":[[%d,"0-%d"]]}}`, rng.IntN(50), rng.IntN(50)))
			}
		case 4:
			op.Type = []history.Type{history.Info, history.Fail, history.OK}[rng.IntN(3)]
		case 5: // a value the workload did not write
			if op.F == "send" {
				op.Value = json.RawMessage(fmt.Sprintf(`{"value":"x%d"}`, rng.IntN(5)))
			}
		case 6:
			op.Value = json.RawMessage(`{"mode":"assign","records":{"0":[[1,"a\"b"],[2,"0-1"]]}}`)
		case 7:
			op.Value = nil
		default:
			if op.Type == history.OK && op.F == "poll" {
				op.Value = json.RawMessage(`{"mode":"assign","records":{"0":[[0,"1-1"],[0,"1-2"]]}}`)
			}
		}
		what += fmt.Sprintf("op %d now %v; ", i, op)
	}
	return what
}
