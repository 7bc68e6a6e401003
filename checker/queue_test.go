package checker

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/history"
)

// Kafka-queue calls for hand-made histories (see builder_test.go).

// send is a send of value to partition part that Kafka acknowledged at off.
func (b *builder) send(p history.Process, part int, value string, off int64) *builder {
	return b.sendInvoke(p, part, value).sendOK(p, part, value, off)
}

func (b *builder) sendInvoke(p history.Process, part int, value string) *builder {
	return b.add(p, history.Invoke, "send", strconv.Itoa(part), `{"value":"`+value+`"}`, "")
}

func (b *builder) sendOK(p history.Process, part int, value string, off int64) *builder {
	return b.add(p, history.OK, "send", strconv.Itoa(part), fmt.Sprintf(`{"value":%q,"offset":%d}`, value, off), "")
}

// sendEnd completes a send as typ (fail or info) with error err.
func (b *builder) sendEnd(p history.Process, part int, value string, typ history.Type, err string) *builder {
	return b.add(p, typ, "send", strconv.Itoa(part), `{"value":"`+value+`"}`, err)
}

// poll is a poll in mode that reads records, e.g. {"0":[[0,"0-1"]]};
// partitions is the invocation's list, e.g. [0,1], or "" for none.
func (b *builder) poll(p history.Process, mode, partitions, records string) *builder {
	return b.pollInvoke(p, mode, partitions).pollOK(p, mode, records)
}

func (b *builder) pollInvoke(p history.Process, mode, partitions string) *builder {
	v := `{"mode":"` + mode + `"`
	if partitions != "" {
		v += `,"partitions":` + partitions
	}
	return b.add(p, history.Invoke, "poll", "", v+"}", "")
}

func (b *builder) pollOK(p history.Process, mode, records string) *builder {
	return b.add(p, history.OK, "poll", "", `{"mode":"`+mode+`","records":`+records+`}`, "")
}

// final is one poll of a final read of part; end < 0 leaves out end_offset.
func (b *builder) final(p history.Process, part int, records string, end int64) *builder {
	b.pollInvoke(p, "final", fmt.Sprintf("[%d]", part))
	v := `{"mode":"final","records":` + records
	if end >= 0 {
		v += `,"end_offset":` + strconv.FormatInt(end, 10)
	}
	return b.add(p, history.OK, "poll", "", v+"}", "")
}

// finalGaveUp is the last poll of a final read that gave up.
func (b *builder) finalGaveUp(p history.Process, part int, records string) *builder {
	b.pollInvoke(p, "final", fmt.Sprintf("[%d]", part))
	return b.add(p, history.Info, "poll", "", `{"mode":"final","records":`+records+`}`, "final-read-incomplete")
}

func checkQueue(t *testing.T, ops []history.Op) Result {
	t.Helper()
	res := Queue{}.Check(context.Background(), ops, Options{})
	if _, err := json.Marshal(res); err != nil {
		t.Fatalf("result does not marshal: %v", err)
	}
	return res
}

// detailsMap returns res's details as JSON fields.
func detailsMap(t *testing.T, res Result) map[string]any {
	t.Helper()
	b, err := json.Marshal(res.Details)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// foundKinds returns the anomaly kinds res counted, with their counts.
func foundKinds(res Result) map[string]int {
	out := map[string]int{}
	for k, n := range res.AnomalyCounts {
		if n > 0 {
			out[k] = n
		}
	}
	return out
}

// queueExample is what a test expects of a kind's first example.
type queueExample struct {
	kind     string
	key      string
	at       int64    // the index of the op it shows at
	contains []string // in the message
}

func TestQueueHistories(t *testing.T) {
	all3 := `{"0":[[0,"0-1"],[1,"0-2"],[2,"0-3"]]}`
	three := func() *builder { return new(builder).send(0, 0, "0-1", 0).send(0, 0, "0-2", 1).send(0, 0, "0-3", 2) }
	for _, tc := range []struct {
		name    string
		b       *builder
		want    Validity
		kinds   map[string]int // exactly the kinds found, with their counts
		example *queueExample
		details map[string]any // some details and their values
		note    string         // in the notes
	}{
		{name: "clean, several producers and consumers",
			b: new(builder).
				sendInvoke(0, 0, "0-1").sendInvoke(1, 1, "1-1").sendOK(1, 1, "1-1", 0).sendOK(0, 0, "0-1", 0).
				pollInvoke(5, "assign", "[0,1]").send(1, 0, "1-2", 1).pollOK(5, "assign", `{"0":[[0,"0-1"]],"1":[[0,"1-1"]]}`).
				poll(6, "subscribe", "", `{"0":[[0,"0-1"],[1,"1-2"]]}`).
				poll(5, "assign", "[0,1]", `{"0":[[1,"1-2"]]}`).
				poll(5, "assign", "[0,1]", `{}`).
				final(10, 0, `{"0":[[0,"0-1"]]}`, -1).final(10, 0, `{"0":[[1,"1-2"]]}`, 2).
				final(11, 1, `{"1":[[0,"1-1"]]}`, 1),
			want: Valid,
			details: map[string]any{"unseen": 0, "lost": 0, "recovered": 0, "read_values": 3, "records_read": 8,
				"partitions": []int32{0, 1}, "max_read_offset": map[string]int64{"0": 1, "1": 0},
				"partitions_without_final_read": []int32{}}},
		{name: "info send never read is not lost",
			b: new(builder).send(0, 0, "0-1", 0).sendInvoke(0, 0, "0-2").sendEnd(0, 0, "0-2", history.Info, "timeout").
				final(10, 0, `{"0":[[0,"0-1"]]}`, 1),
			want: Valid, details: map[string]any{"unseen": 0, "recovered": 0}},
		{name: "info send read later is recovered",
			b: new(builder).send(0, 0, "0-1", 0).sendInvoke(0, 0, "0-2").sendEnd(0, 0, "0-2", history.Info, "timeout").
				final(10, 0, `{"0":[[0,"0-1"],[1,"0-2"]]}`, 2),
			want: Valid, details: map[string]any{"recovered": 1}},
		{name: "incomplete send read later is recovered",
			b:    new(builder).send(0, 0, "0-1", 0).sendInvoke(1, 0, "1-1").final(10, 0, `{"0":[[0,"0-1"],[1,"1-1"]]}`, 2),
			want: Valid, details: map[string]any{"recovered": 1}},
		{name: "failed send never read",
			b: new(builder).send(0, 0, "0-1", 0).sendInvoke(0, 0, "0-2").sendEnd(0, 0, "0-2", history.Fail, "NOT_ENOUGH_REPLICAS").
				final(10, 0, `{"0":[[0,"0-1"]]}`, 1),
			want: Valid},
		{name: "subscribe polls re-read and jump after a rebalance",
			b: three().
				poll(5, "subscribe", "", `{"0":[[0,"0-1"],[1,"0-2"]]}`).
				poll(5, "subscribe", "", `{"0":[[0,"0-1"],[1,"0-2"],[2,"0-3"]]}`).
				poll(6, "subscribe", "", `{"0":[[2,"0-3"]]}`).
				poll(6, "subscribe", "", `{"0":[[0,"0-1"]]}`).
				final(10, 0, all3, 3),
			want: Valid},
		{name: "an assign reader that drops a partition starts it afresh",
			b: three().
				poll(5, "assign", "[0,1]", `{"0":[[0,"0-1"],[1,"0-2"]]}`).
				poll(5, "assign", "[1]", `{}`).
				poll(5, "assign", "[0,1]", `{"0":[[0,"0-1"]]}`).
				final(10, 0, all3, 3).final(11, 1, `{}`, 0),
			want: Valid},
		{name: "a gap no op knows of is not a skip",
			b: new(builder).send(0, 0, "0-1", 0).send(0, 0, "0-3", 2).
				poll(5, "assign", "[0]", `{"0":[[0,"0-1"]]}`).poll(5, "assign", "[0]", `{"0":[[2,"0-3"]]}`).
				final(10, 0, `{"0":[[0,"0-1"],[2,"0-3"]]}`, 3),
			want: Valid},
		{name: "missing final read",
			b:    new(builder).send(0, 0, "0-1", 0).send(0, 1, "0-2", 0).final(10, 0, `{"0":[[0,"0-1"]]}`, 1),
			want: Unknown, note: "no complete final read of partition(s) 1",
			details: map[string]any{"unseen": 1, "lost": 0, "partitions_without_final_read": []int32{1}}},
		{name: "final read that gave up",
			b:    new(builder).send(0, 0, "0-1", 0).send(0, 0, "0-2", 1).finalGaveUp(10, 0, `{"0":[[0,"0-1"]]}`),
			want: Unknown, note: "no complete final read of partition(s) 0", details: map[string]any{"unseen": 1}},
		{name: "final read that did not reach its end offset",
			b:    new(builder).send(0, 0, "0-1", 0).send(0, 0, "0-2", 1).final(10, 0, `{"0":[[0,"0-1"]]}`, 2),
			want: Unknown, note: "no complete final read of partition(s) 0"},
		{name: "partition only an assign poll lists, not read at the end",
			b:    new(builder).send(0, 0, "0-1", 0).poll(5, "assign", "[0,3]", `{}`).final(10, 0, `{"0":[[0,"0-1"]]}`, 1),
			want: Unknown, note: "partition(s) 3"},
		{name: "no ok send",
			b: new(builder).sendInvoke(0, 0, "0-1").sendEnd(0, 0, "0-1", history.Fail, "NOT_ENOUGH_REPLICAS").
				final(10, 0, `{}`, 0),
			want: Unknown, note: "no send completed ok"},
		{name: "empty history", b: new(builder), want: Unknown, note: "no send completed ok"},
		{name: "nemesis ops are ignored",
			b: new(builder).nemesis("start-partition", `{"isolate":["kafka1"]}`).send(0, 0, "0-1", 0).
				nemesis("stop-partition", "").final(10, 0, `{"0":[[0,"0-1"]]}`, 1),
			want: Valid},

		{name: "lost write a subscribe poll read past, no final read",
			b:    three().poll(5, "subscribe", "", `{"0":[[0,"0-1"],[2,"0-3"]]}`),
			want: Invalid, kinds: map[string]int{"lost-write": 1},
			example: &queueExample{"lost-write", "0", 3, []string{`"0-2"`, "partition 0 offset 1", "up to offset 2 (op index 7)"}},
			details: map[string]any{"lost": 1, "unseen": 1}},
		{name: "lost write with an incomplete final read and a poll past it",
			b: three().poll(5, "subscribe", "", `{"0":[[0,"0-1"],[2,"0-3"]]}`).
				finalGaveUp(10, 0, `{"0":[[0,"0-1"]]}`),
			want: Invalid, kinds: map[string]int{"lost-write": 1},
			example: &queueExample{"lost-write", "0", 3, []string{`"0-2"`, "offset 1"}}},
		{name: "lost write at the tail that a complete final read did not find",
			b:    new(builder).send(0, 0, "0-1", 0).send(0, 0, "0-2", 1).final(10, 0, `{"0":[[0,"0-1"]]}`, 1),
			want: Invalid, kinds: map[string]int{"lost-write": 1, "truncated": 1},
			example: &queueExample{"lost-write", "0", 3, []string{`"0-2"`, "final read", "end offset 1"}}},
		{name: "truncated: records read are gone from the final read",
			b: three().poll(5, "assign", "[0]", all3).
				final(10, 0, `{"0":[[0,"0-1"]]}`, 1),
			want: Invalid, kinds: map[string]int{"truncated": 2},
			example: &queueExample{"truncated", "0", 9, []string{"partition 0", "ended at offset 1 (end_offset, op index 9)",
				"2 offset(s)", `offset 1 holding "0-2" (acknowledged to process 0 at op index 3)`, `offset 2 holding "0-3"`}},
			details: map[string]any{"truncated": map[string]int{"0": 2}, "lost": 0}},
		{name: "truncated: a record only a poll saw, and the final read ends at 0",
			b: new(builder).sendInvoke(0, 0, "0-1").sendEnd(0, 0, "0-1", history.Info, "timeout").send(1, 0, "1-1", 1).
				poll(5, "subscribe", "", `{"0":[[0,"0-1"]]}`).final(10, 0, `{}`, 0),
			want: Invalid, kinds: map[string]int{"truncated": 2, "lost-write": 1},
			example: &queueExample{"truncated", "0", 7, []string{"ended at offset 0", `offset 0 holding "0-1" (read by process 5 at op index 5)`, `offset 1 holding "1-1" (acknowledged`}}},
		{name: "truncated: a consumer reset after data loss",
			b: three().poll(5, "assign", "[0]", `{"0":[[0,"0-1"],[1,"0-2"]]}`).
				pollInvoke(5, "assign", "[0]").add(5, history.Info, "poll", "", `{"mode":"assign","records":{"0":[[2,"0-3"]]}}`, "data-loss-reset").
				final(10, 0, `{"0":[[0,"0-1"],[1,"0-2"]]}`, 2),
			want: Invalid, kinds: map[string]int{"truncated": 1},
			example: &queueExample{"truncated", "0", 11, []string{`offset 2 holding "0-3" (acknowledged`}}},
		{name: "a record first seen after the final read is not a truncation",
			b: new(builder).send(0, 0, "0-1", 0).sendInvoke(1, 0, "1-1").sendEnd(1, 0, "1-1", history.Info, "timeout").
				final(10, 0, `{"0":[[0,"0-1"]]}`, 1).poll(5, "subscribe", "", `{"0":[[1,"1-1"]]}`),
			want: Valid, details: map[string]any{"truncated": map[string]int{}, "recovered": 1}},
		{name: "lost write the final read skipped over",
			b:    three().final(10, 0, `{"0":[[0,"0-1"],[2,"0-3"]]}`, 3),
			want: Invalid, kinds: map[string]int{"lost-write": 1, "poll-skip": 1},
			example: &queueExample{"poll-skip", "0", 7, []string{"offset 0", "then offset 2", `"0-2"`, "final mode"}}},
		{name: "duplicate",
			b:    new(builder).send(0, 0, "0-1", 0).final(10, 0, `{"0":[[0,"0-1"],[1,"0-1"]]}`, 2),
			want: Invalid, kinds: map[string]int{"duplicate": 1},
			example: &queueExample{"duplicate", "0", 3, []string{`"0-1"`, "partition 0 offset 0", "partition 0 offset 1", "acknowledged"}}},
		{name: "inconsistent offsets between reads",
			b: new(builder).sendInvoke(0, 0, "0-1").sendEnd(0, 0, "0-1", history.Info, "timeout").
				sendInvoke(1, 0, "1-1").sendEnd(1, 0, "1-1", history.Info, "timeout").
				poll(5, "assign", "[0]", `{"0":[[0,"0-1"]]}`).final(10, 0, `{"0":[[0,"1-1"]]}`, 1),
			want: Invalid, kinds: map[string]int{"inconsistent-offsets": 1},
			example: &queueExample{"inconsistent-offsets", "0", 7, []string{"partition 0 offset 0", `"0-1"`, `"1-1"`}},
			details: map[string]any{"recovered": 2}},
		{name: "inconsistent offsets between acknowledgements",
			b:    new(builder).send(0, 0, "0-1", 0).send(1, 0, "1-1", 0).final(10, 0, `{"0":[[0,"0-1"]]}`, 1),
			want: Invalid, kinds: map[string]int{"inconsistent-offsets": 1, "lost-write": 1},
			example: &queueExample{"inconsistent-offsets", "0", 3, []string{"partition 0 offset 0", `"0-1"`, `"1-1"`}}},
		{name: "unexpected: a value no send wrote",
			b:    new(builder).send(0, 0, "0-1", 0).final(10, 0, `{"0":[[0,"0-1"],[1,"x"]]}`, 2),
			want: Invalid, kinds: map[string]int{"unexpected": 1},
			example: &queueExample{"unexpected", "0", 3, []string{`"x"`, "offset 1", "no send"}}},
		{name: "unexpected: a failed send read",
			b: new(builder).sendInvoke(0, 0, "0-1").sendEnd(0, 0, "0-1", history.Fail, "NOT_ENOUGH_REPLICAS").send(1, 0, "1-1", 1).
				final(10, 0, `{"0":[[0,"0-1"],[1,"1-1"]]}`, 2),
			want: Invalid, kinds: map[string]int{"unexpected": 1},
			example: &queueExample{"unexpected", "0", 5, []string{`"0-1"`, "offset 0", "send failed", "NOT_ENOUGH_REPLICAS"}}},
		{name: "unexpected: read from another partition",
			b: new(builder).sendInvoke(0, 0, "0-1").sendEnd(0, 0, "0-1", history.Info, "timeout").send(1, 1, "1-1", 0).
				final(10, 0, `{}`, 0).final(11, 1, `{"1":[[0,"1-1"],[1,"0-1"]]}`, 2),
			want: Invalid, kinds: map[string]int{"unexpected": 1},
			example: &queueExample{"unexpected", "1", 7, []string{`"0-1"`, "partition 1 offset 1", "sent to partition 0"}}},
		{name: "unexpected: read before its send",
			b: new(builder).poll(5, "subscribe", "", `{"0":[[0,"0-1"]]}`).send(0, 0, "0-1", 0).
				final(10, 0, `{"0":[[0,"0-1"]]}`, 1),
			want: Invalid, kinds: map[string]int{"unexpected": 1},
			example: &queueExample{"unexpected", "0", 1, []string{`"0-1"`, "before its send was invoked (op index 2)"}}},
		{name: "nonmonotonic send",
			b:    new(builder).send(0, 0, "0-1", 1).send(0, 0, "0-2", 0).final(10, 0, `{"0":[[0,"0-2"],[1,"0-1"]]}`, 2),
			want: Invalid, kinds: map[string]int{"nonmonotonic-send": 1},
			example: &queueExample{"nonmonotonic-send", "0", 3, []string{"process 0", "from offset 1", "to offset 0"}}},
		{name: "nonmonotonic poll: an assign reader repeats an offset",
			b: new(builder).send(0, 0, "0-1", 0).send(0, 0, "0-2", 1).
				poll(5, "assign", "[0]", `{"0":[[0,"0-1"],[1,"0-2"]]}`).poll(5, "assign", "[0]", `{"0":[[1,"0-2"]]}`).
				final(10, 0, `{"0":[[0,"0-1"],[1,"0-2"]]}`, 2),
			want: Invalid, kinds: map[string]int{"nonmonotonic-poll": 1},
			example: &queueExample{"nonmonotonic-poll", "0", 7, []string{"process 5", "assign mode", "offset 1", "repeated"}}},
		{name: "nonmonotonic poll: a final reader goes back",
			b:    new(builder).send(0, 0, "0-1", 0).send(0, 0, "0-2", 1).final(10, 0, `{"0":[[1,"0-2"],[0,"0-1"]]}`, 2),
			want: Invalid, kinds: map[string]int{"nonmonotonic-poll": 1, "poll-skip": 1},
			example: &queueExample{"nonmonotonic-poll", "0", 5, []string{"final mode", "offset 1", "then offset 0", "went back"}}},
		{name: "poll skip: an assign reader starts past the beginning",
			b:    three().poll(5, "assign", "[0]", `{"0":[[1,"0-2"],[2,"0-3"]]}`).final(10, 0, all3, 3),
			want: Invalid, kinds: map[string]int{"poll-skip": 1},
			example: &queueExample{"poll-skip", "0", 7, []string{"process 5 (assign mode) began reading partition 0 at offset 1 (op index 7)",
				"from its start", `offset 0 holding "0-1" (acknowledged to process 0 at op index 1)`}}},
		{name: "poll skip: a final read that starts past the beginning is not complete",
			b: new(builder).sendInvoke(0, 0, "0-1").sendEnd(0, 0, "0-1", history.Info, "timeout").send(1, 0, "1-1", 1).
				poll(5, "subscribe", "", `{"0":[[0,"0-1"],[1,"1-1"]]}`).final(10, 0, `{"0":[[1,"1-1"]]}`, 2),
			want: Invalid, kinds: map[string]int{"poll-skip": 1},
			example: &queueExample{"poll-skip", "0", 7, []string{"process 10 (final mode) began reading partition 0 at offset 1", `offset 0 holding "0-1" (read by process 5`}},
			details: map[string]any{"partitions_without_final_read": []int32{0}}},
		{name: "a reader may start at the lowest offset known",
			b: new(builder).sendInvoke(0, 0, "0-1").sendEnd(0, 0, "0-1", history.Info, "timeout").send(1, 0, "1-1", 1).
				poll(5, "assign", "[0]", `{"0":[[1,"1-1"]]}`).final(10, 0, `{"0":[[1,"1-1"]]}`, 2),
			want: Valid, details: map[string]any{"partitions_without_final_read": []int32{}}},
		{name: "a subscriber may start anywhere, even after an assign poll",
			b: three().poll(6, "subscribe", "", `{"0":[[2,"0-3"]]}`).poll(6, "assign", "[0]", `{"0":[[1,"0-2"]]}`).
				final(10, 0, all3, 3),
			want: Valid},
		{name: "after a data-loss reset the successor reads from the start",
			b: three().poll(5, "assign", "[0]", `{"0":[[0,"0-1"],[1,"0-2"]]}`).
				pollInvoke(5, "assign", "[0]").add(5, history.Info, "poll", "", `{"mode":"assign","records":{"0":[[2,"0-3"]]}}`, "data-loss-reset").
				poll(15, "assign", "[0]", all3).final(10, 0, all3, 3),
			want: Valid},
		{name: "after a data-loss reset a successor that starts past the beginning skips",
			b: three().poll(5, "assign", "[0]", `{"0":[[0,"0-1"],[1,"0-2"]]}`).
				pollInvoke(5, "assign", "[0]").add(5, history.Info, "poll", "", `{"mode":"assign","records":{}}`, "data-loss-reset").
				poll(15, "assign", "[0]", `{"0":[[2,"0-3"]]}`).final(10, 0, all3, 3),
			want: Invalid, kinds: map[string]int{"poll-skip": 1},
			example: &queueExample{"poll-skip", "0", 11, []string{"process 15 (assign mode) began reading partition 0 at offset 2", "skipped 2 offset(s)"}}},
		{name: "poll skip",
			b: three().
				poll(5, "assign", "[0]", `{"0":[[0,"0-1"]]}`).poll(5, "assign", "[0]", `{"0":[[2,"0-3"]]}`).
				final(10, 0, all3, 3),
			want: Invalid, kinds: map[string]int{"poll-skip": 1},
			example: &queueExample{"poll-skip", "0", 9, []string{"process 5", "offset 0", "then offset 2", `offset 1 holding "0-2"`}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := checkQueue(t, tc.b.ops)
			if res.Valid != tc.want || res.Error != "" {
				b, _ := json.MarshalIndent(res, "", "  ")
				t.Fatalf("valid = %v, want %v\n%s", res.Valid, tc.want, b)
			}
			kinds := tc.kinds
			if kinds == nil {
				kinds = map[string]int{}
			}
			if got := foundKinds(res); !maps.Equal(got, kinds) {
				t.Errorf("anomaly counts %v, want %v", got, kinds)
			}
			for _, a := range res.Anomalies {
				if _, ok := kinds[a.Kind]; !ok {
					t.Errorf("unexpected anomaly %+v", a)
				}
				if a.At == nil || len(a.Ops) == 0 || !slices.IsSortedFunc(a.Ops, func(x, y history.Op) int { return int(x.Index - y.Index) }) {
					t.Errorf("anomaly %s lacks its ops, or they are out of order: %+v", a.Kind, a)
				}
			}
			if ex := tc.example; ex != nil {
				i := slices.IndexFunc(res.Anomalies, func(a Anomaly) bool { return a.Kind == ex.kind })
				if i < 0 {
					t.Fatalf("no %s example in %+v", ex.kind, res.Anomalies)
				}
				a := res.Anomalies[i]
				if a.Key != ex.key || a.At.Index != ex.at {
					t.Errorf("%s example on key %q at op %d, want key %q at op %d: %s", ex.kind, a.Key, a.At.Index, ex.key, ex.at, a.Message)
				}
				for _, want := range ex.contains {
					if !strings.Contains(a.Message, want) {
						t.Errorf("message %q lacks %q", a.Message, want)
					}
				}
			}
			details := detailsMap(t, res)
			for k, want := range tc.details {
				if got := details[k]; fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("details[%q] = %v, want %v", k, got, want)
				}
			}
			if notes := strings.Join(res.Notes, "\n"); !strings.Contains(notes, tc.note) || (tc.note == "" && notes != "") {
				t.Errorf("notes %q, want %q", notes, tc.note)
			}
		})
	}
}

func TestQueueCounts(t *testing.T) {
	b := new(builder).send(0, 0, "0-1", 0).
		sendInvoke(1, 0, "1-1").sendEnd(1, 0, "1-1", history.Info, "timeout").
		sendInvoke(2, 1, "2-1").sendEnd(2, 1, "2-1", history.Fail, "NOT_ENOUGH_REPLICAS").
		pollInvoke(5, "assign", "[0]").add(5, history.Info, "poll", "", `{"mode":"assign","partitions":[0]}`, "timeout").
		pollInvoke(6, "subscribe", "").add(6, history.Fail, "poll", "", "", "client-closed").
		nemesis("start-kill", `{"nodes":["kafka1"]}`).
		final(10, 0, `{"0":[[0,"0-1"]]}`, 1).
		sendInvoke(3, 0, "3-1")
	res := checkQueue(t, b.ops)
	if want := (Counts{Calls: 7, OK: 2, Fail: 2, Info: 2, Incomplete: 1}); res.Counts != want {
		t.Errorf("counts %+v, want %+v", res.Counts, want)
	}
	counts := res.Details.(*QueueDetails).ByF
	if want := (Counts{Calls: 4, OK: 1, Fail: 1, Info: 1, Incomplete: 1}); counts["send"] != want {
		t.Errorf("send counts %v, want %v", counts["send"], want)
	}
	if want := (Counts{Calls: 3, OK: 1, Fail: 1, Info: 1}); counts["poll"] != want {
		t.Errorf("poll counts %v, want %v", counts["poll"], want)
	}
}

func TestQueueExamplesAreBounded(t *testing.T) {
	b := new(builder)
	var recs []string
	for i := range 15 {
		v := fmt.Sprintf("0-%d", i+1)
		b.send(0, 0, v, int64(i))
		recs = append(recs, fmt.Sprintf(`[%d,%q],[%d,%q]`, 2*i+100, v, 2*i+101, v))
	}
	b.poll(5, "subscribe", "", `{"0":[`+strings.Join(recs, ",")+`]}`)
	res := checkQueue(t, b.ops)
	if res.Valid != Invalid {
		t.Fatalf("valid = %v", res.Valid)
	}
	if got := foundKinds(res)["duplicate"]; got != 15 {
		t.Errorf("%d duplicates counted, want 15", got)
	}
	n := 0
	for _, a := range res.Anomalies {
		if a.Kind == "duplicate" {
			n++
		}
	}
	if n != maxQueueExamples {
		t.Errorf("%d duplicate examples, want %d", n, maxQueueExamples)
	}
}

func TestQueueUnseenSeries(t *testing.T) {
	// Two sends acknowledged at times 10 and 30; the first is read at time
	// 50, the second never; the history ends at time 70.
	b := new(builder).send(0, 0, "0-1", 0).send(0, 0, "0-2", 1).poll(5, "assign", "[0]", `{"0":[[0,"0-1"]]}`).
		final(10, 0, `{"0":[[0,"0-1"],[1,"0-2"]]}`, -1)
	res := checkQueue(t, b.ops)
	series := res.Details.(*QueueDetails).UnseenSeries
	if len(series) != 71 || series[len(series)-1].Time != 70 {
		t.Fatalf("%d points ending at %v, want one per time unit, 0 to 70", len(series), series[len(series)-1])
	}
	at := func(tm int64) int {
		i, _ := slices.BinarySearchFunc(series, tm, func(p UnseenPoint, t int64) int { return int(p.Time - t) })
		return series[i].Unseen
	}
	for _, want := range []struct {
		time   int64
		unseen int
	}{{9, 0}, {10, 1}, {29, 1}, {30, 2}, {49, 2}, {50, 1}, {69, 1}, {70, 0}} {
		if got := at(want.time); got != want.unseen {
			t.Errorf("unseen at %d = %d, want %d", want.time, got, want.unseen)
		}
	}
	// A long history has unseenPoints points, the last at its end.
	long := new(builder).send(0, 0, "0-1", 0)
	long.ops[1].Time = 1e12
	got := checkQueue(t, long.ops).Details.(*QueueDetails).UnseenSeries
	if len(got) != unseenPoints || got[0] != (UnseenPoint{5e9, 0}) || got[unseenPoints-1] != (UnseenPoint{1e12, 1}) {
		t.Errorf("series of a long history: %d points, %v ... %v", len(got), got[0], got[len(got)-1])
	}
}

func TestQueueMalformed(t *testing.T) {
	inv := func(f, key, value string) *builder { return new(builder).add(0, history.Invoke, f, key, value, "") }
	for _, tc := range []struct {
		name string
		b    *builder
		want string
	}{
		{"unpaired completion", new(builder).sendOK(0, 0, "0-1", 0), "malformed history: op index 0: process 0 completes"},
		{"two invocations", new(builder).sendInvoke(0, 0, "0-1").sendInvoke(0, 0, "0-2"), "op index 1: process 0 invokes \"send\" while"},
		{"retired process", new(builder).sendInvoke(0, 0, "0-1").sendEnd(0, 0, "0-1", history.Info, "timeout").sendInvoke(0, 0, "0-2"), "retired"},
		{"key differs", new(builder).sendInvoke(0, 0, "0-1").sendOK(0, 1, "0-1", 0), `completes key "1" but invoked key "0"`},
		{"negative time", new(builder).add(0, history.Invoke, "send", "0", `{"value":"0-1"}`, "").add(0, history.OK, "send", "0", `{"value":"0-1","offset":0}`, "").
			add(1, history.Invoke, "send", "0", `{"value":"1-1"}`, ""), ""},
		{"invalid JSON", inv("send", "0", `{"value":`), "op index 0: send value {\"value\": is not a kafka-queue send value"},
		{"invalid JSON in a nemesis value", new(builder).add(history.Nemesis, history.Invoke, "start-kill", "", `{`, ""), "op index 0: value is not valid JSON"},
		{"unknown f", inv("append", "0", `{"value":"0-1"}`), `op index 0: unknown f "append"`},
		{"send key not a partition", inv("send", "p0", `{"value":"0-1"}`), `op index 0: send key "p0" is not a partition number`},
		{"send key with a leading zero", inv("send", "01", `{"value":"0-1"}`), `send key "01" is not a partition number`},
		{"send without value", inv("send", "0", `{}`), `op index 0: send invocation has no "value"`},
		{"send value not a string", inv("send", "0", `{"value":17}`), "op index 0: send value {\"value\":17} is not a kafka-queue send value"},
		{"value sent twice", new(builder).send(0, 0, "0-1", 0).sendInvoke(1, 0, "0-1"), `op index 2: value "0-1" was already sent by op index 0`},
		{"ok send without offset", new(builder).sendInvoke(0, 0, "0-1").add(0, history.OK, "send", "0", `{"value":"0-1"}`, ""), `op index 1: ok send has no "offset"`},
		{"ok send with a negative offset", new(builder).sendInvoke(0, 0, "0-1").add(0, history.OK, "send", "0", `{"value":"0-1","offset":-1}`, ""), "negative offset -1"},
		{"ok send of another value", new(builder).sendInvoke(0, 0, "0-1").sendOK(0, 0, "0-2", 0), `op index 1: ok send says value "0-2" but its invocation (index 0) sent "0-1"`},
		{"poll without mode", inv("poll", "", `{"partitions":[0]}`), `op index 0: poll invocation has no "mode"`},
		{"poll without value", inv("poll", "", ""), "op index 0: poll invocation has no value"},
		{"unknown mode", inv("poll", "", `{"mode":"tail"}`), `op index 0: poll value {"mode":"tail"} is not a kafka-queue poll value: unknown mode "tail"`},
		{"final poll of two partitions", inv("poll", "", `{"mode":"final","partitions":[0,1]}`), "op index 0: a final poll reads one partition, but its invocation lists 2"},
		{"negative partition", inv("poll", "", `{"mode":"assign","partitions":[-1]}`), `"partitions" must list partition numbers`},
		{"mode changes", new(builder).pollInvoke(5, "assign", "[0]").pollOK(5, "subscribe", `{}`), "op index 1: poll completes in mode subscribe but was invoked in mode assign (index 0)"},
		{"ok poll without value", new(builder).pollInvoke(5, "assign", "[0]").add(5, history.OK, "poll", "", "", ""), "op index 1: ok poll has no value"},
		{"record not a pair", new(builder).pollInvoke(5, "assign", "[0]").pollOK(5, "assign", `{"0":[[1]]}`), "op index 1: poll value"},
		{"record value not a string", new(builder).pollInvoke(5, "assign", "[0]").pollOK(5, "assign", `{"0":[[1,2]]}`), `partition 0: a record must be [offset, "value"]`},
		{"records key not a partition", new(builder).pollInvoke(5, "assign", "[0]").pollOK(5, "assign", `{"zero":[]}`), `records key "zero" is not a partition number`},
		{"negative record offset", new(builder).pollInvoke(5, "assign", "[0]").pollOK(5, "assign", `{"0":[[-3,"0-1"]]}`), "partition 0: negative offset -3"},
		{"negative end offset", new(builder).final(10, 0, `{}`, 0).add(11, history.Invoke, "poll", "", `{"mode":"final","partitions":[0]}`, "").
			add(11, history.OK, "poll", "", `{"mode":"final","records":{},"end_offset":-2}`, ""), "op index 3: poll value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ops := tc.b.ops
			if tc.name == "negative time" {
				ops[2].Time = -1
				tc.want = "malformed history: op index 2: negative time -1"
			}
			res := checkQueue(t, ops)
			if res.Valid != Unknown || !strings.Contains(res.Error, tc.want) {
				t.Fatalf("valid %v, error %q; want unknown and an error containing %q", res.Valid, res.Error, tc.want)
			}
		})
	}
}

// TestQueuePairingAgreesWithPair checks that the checker's own pairing finds
// what history.Pair finds, on histories mangled at random.
func TestQueuePairingAgreesWithPair(t *testing.T) {
	base := generateQueue(queueGenConfig{seed: 3, calls: 300, partitions: 3, producers: 4, assigners: 2, subscribers: 1,
		sendShare: 0.6, perPoll: 5, infoRate: 0.05, failRate: 0.05, rebalance: 0.1, finalChunk: 7})
	compared := 0
	for seed := range 300 {
		ops := slices.Clone(base)
		i, j := seed*7919%len(ops), seed*104729%len(ops)
		switch seed % 5 {
		case 0:
			ops[i].Process, ops[j].Process = ops[j].Process, ops[i].Process
		case 1:
			ops = slices.Delete(ops, i, i+1)
		case 2:
			ops[i].Type = history.Invoke
		case 3:
			ops[i].Time, ops[j].Time = ops[j].Time, ops[i].Time
		case 4:
			ops[i].F = "poll"
		}
		_, pairErr := history.Pair(ops)
		res := Queue{}.Check(context.Background(), ops, Options{})
		// The checker may find a value it cannot read before the op Pair
		// stops at; a pairing error must be Pair's.
		if pairErr != nil && (res.Error == "" || (strings.HasPrefix(res.Error, "malformed history:") && res.Error != "malformed history: "+pairErr.Error())) {
			t.Fatalf("seed %d: Pair says %q, the checker %q", seed, pairErr, res.Error)
		}
		if pairErr == nil && strings.HasPrefix(res.Error, "malformed history:") {
			t.Fatalf("seed %d: Pair accepts the history, the checker says %q", seed, res.Error)
		}
		if strings.HasPrefix(res.Error, "malformed history:") {
			compared++
		}
	}
	if compared < 100 {
		t.Errorf("only %d of 300 mangled histories had pairing errors: the mangling is too weak", compared)
	}
}

func TestQueueGenerated(t *testing.T) {
	for seed := range uint64(20) {
		cfg := queueGenConfig{seed: seed, calls: 2000 + int(seed)*100, partitions: 1 + int(seed%4), producers: 2 + int(seed%5),
			assigners: int(seed % 3), subscribers: 1 + int(seed%2), sendShare: 0.5, perPoll: 1 + int(seed%7),
			infoRate: 0.05, failRate: 0.05, rebalance: 0.2, finalChunk: 3 + int(seed%50)}
		res := checkQueue(t, generateQueue(cfg))
		if res.Valid != Valid {
			t.Fatalf("seed %d: valid = %v: %v %v %+v", seed, res.Valid, res.Error, res.Notes, res.Anomalies)
		}
		cfg.noFinal = true
		if res := checkQueue(t, generateQueue(cfg)); res.Valid != Unknown || len(res.Notes) == 0 {
			t.Fatalf("seed %d without final reads: valid = %v: %v", seed, res.Valid, res.Notes)
		}
	}
}

func TestQueueCancelledAndTimeout(t *testing.T) {
	ops := generateQueue(queueGenConfig{seed: 1, calls: 200_000, partitions: 4, producers: 8, assigners: 2, subscribers: 2,
		sendShare: 0.5, perPoll: 10, finalChunk: 100})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := Queue{}.Check(ctx, ops, Options{})
	if res.Valid != Unknown || !strings.Contains(strings.Join(res.Notes, "\n"), "cancelled") {
		t.Errorf("cancelled check: valid %v, notes %q", res.Valid, res.Notes)
	}
	res = Queue{}.Check(context.Background(), ops, Options{Timeout: time.Nanosecond})
	if res.Valid != Unknown || !strings.Contains(strings.Join(res.Notes, "\n"), "timed out after 1ns") {
		t.Errorf("timed-out check: valid %v, notes %q", res.Valid, res.Notes)
	}
	if res := (Queue{}).Check(context.Background(), ops, Options{Timeout: time.Minute}); res.Valid != Valid {
		t.Errorf("check with time to spare: valid %v, %v %v", res.Valid, res.Error, res.Notes)
	}
}

func TestQueueInAll(t *testing.T) {
	b := new(builder).send(0, 0, "0-1", 0).final(10, 0, `{"0":[[0,"0-1"]]}`, 1)
	res := All(Queue{}).Check(context.Background(), b.ops, Options{})
	if res.Valid != Valid || res.Results[0].Checker != "queue" {
		t.Fatalf("All(Queue) = %v, %+v", res.Valid, res.Results)
	}
}

// TestQueueTruncatedExamplesAreBounded truncates 12 partitions by 7 offsets
// each: the count is per offset, the examples one per partition, at most
// 10, each naming a few offsets.
func TestQueueTruncatedExamplesAreBounded(t *testing.T) {
	b := new(builder)
	for part := range 12 {
		var recs []string
		for off := range 8 {
			v := fmt.Sprintf("%d-%d", part, off+1)
			b.send(history.Process(part), part, v, int64(off))
			recs = append(recs, fmt.Sprintf(`[%d,%q]`, off, v))
		}
		b.poll(history.Process(100+part), "assign", fmt.Sprintf("[%d]", part), fmt.Sprintf(`{"%d":[%s]}`, part, strings.Join(recs, ",")))
		b.final(history.Process(200+part), part, fmt.Sprintf(`{"%d":[%s]}`, part, recs[0]), 1)
	}
	res := checkQueue(t, b.ops)
	if res.Valid != Invalid || res.AnomalyCounts["truncated"] != 12*7 || len(foundKinds(res)) != 1 {
		t.Fatalf("valid %v, counts %v", res.Valid, res.AnomalyCounts)
	}
	n := 0
	for _, a := range res.Anomalies {
		n++
		if !strings.Contains(a.Message, "7 offset(s)") || !strings.Contains(a.Message, "and 2 more, up to offset 7") {
			t.Errorf("message %q", a.Message)
		}
	}
	if n != maxQueueExamples {
		t.Errorf("%d examples, want %d", n, maxQueueExamples)
	}
	if got := res.Details.(*QueueDetails).Truncated; len(got) != 12 || got["11"] != 7 {
		t.Errorf("details: truncated %v", got)
	}
}
