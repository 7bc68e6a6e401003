package checker

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/faultline/faultline/history"
)

// sendResult and pollResult are decoded values in a form to compare.
type sendResult struct {
	Value     string
	HasValue  bool
	Offset    int64
	HasOffset bool
}

type pollResult struct {
	Mode       queueMode
	Partitions []int32
	Records    map[int32][]string // "offset:value"
	EndOffset  int64
}

func toSendResult(v sendValue) sendResult {
	return sendResult{string(v.value), v.hasValue, v.offset, v.hasOffset}
}

func toPollResult(v *pollValue) pollResult {
	r := pollResult{Mode: v.mode, Partitions: slices.Clone(v.partitions), EndOffset: v.endOffset, Records: map[int32][]string{}}
	if len(r.Partitions) == 0 {
		r.Partitions = nil
	}
	for _, g := range v.groups {
		recs := []string{}
		for _, rec := range v.records[g.start:g.end] {
			recs = append(recs, fmt.Sprintf("%d:%s", rec.offset, rec.value))
		}
		r.Records[g.partition] = recs
	}
	return r
}

// compareSendPaths checks that when the scanner accepts b, encoding/json
// reads it the same way, and returns whether the scanner accepted it.
func compareSendPaths(t *testing.T, b []byte) bool {
	t.Helper()
	var fast, slow sendValue
	if !scanSend(b, &fast) {
		return false
	}
	if err := decodeSend(b, &slow); err != nil {
		t.Fatalf("%s: the scanner accepts it, encoding/json says %v", b, err)
	}
	if f, s := toSendResult(fast), toSendResult(slow); f != s {
		t.Fatalf("%s: the scanner reads %+v, encoding/json %+v", b, f, s)
	}
	return true
}

// comparePollPaths is compareSendPaths for polls.
func comparePollPaths(t *testing.T, b []byte) bool {
	t.Helper()
	var fast, slow pollValue
	fast.reset()
	if !scanPoll(b, &fast) {
		return false
	}
	if err := decodePoll(b, &slow); err != nil {
		t.Fatalf("%s: the scanner accepts it, encoding/json says %v", b, err)
	}
	if f, s := toPollResult(&fast), toPollResult(&slow); !reflect.DeepEqual(f, s) {
		t.Fatalf("%s: the scanner reads %+v, encoding/json %+v", b, f, s)
	}
	return true
}

func TestQueueParsePaths(t *testing.T) {
	for _, tc := range []struct {
		value string
		fast  bool // the scanner takes it
		ok    bool // it decodes
	}{
		{`{"value":"3-17"}`, true, true},
		{`{"value":"3-17","offset":1021}`, true, true},
		{` { "offset" : 0 , "value" : "" } `, true, true},
		{`{}`, true, true},
		{`{"value":"a\"b"}`, false, true},
		{`{"value":"\u0033-17"}`, false, true},
		{`{"value":"é"}`, false, true},
		{`{"value":"3-17","node":"kafka1"}`, false, true},
		{`{"value":"1","value":"2"}`, false, true},
		{`{"Value":"3-17"}`, false, true},
		{`{"value":"3-17","offset":01}`, false, false},
		{`{"value":"3-17","offset":1.5}`, false, false},
		{`{"value":"3-17","offset":1e3}`, false, false},
		{`{"value":"3-17","offset":-1}`, false, false},
		{`{"value":"3-17","offset":9223372036854775808}`, false, false},
		{`{"value":17}`, false, false},
		{`{"value":"3-17"`, false, false},
		{`{"value":"3-17"} x`, false, false},
		{`null`, false, true},
		{`[1]`, false, false},
	} {
		if got := compareSendPaths(t, []byte(tc.value)); got != tc.fast {
			t.Errorf("send %s: scanner took it: %v, want %v", tc.value, got, tc.fast)
		}
		var v sendValue
		if err := parseSend([]byte(tc.value), &v); (err == nil) != tc.ok {
			t.Errorf("send %s: error %v, want ok %v", tc.value, err, tc.ok)
		}
	}
	for _, tc := range []struct {
		value string
		fast  bool
		ok    bool
	}{
		{`{"mode":"assign","partitions":[0,1,2]}`, true, true},
		{`{"mode":"subscribe"}`, true, true},
		{`{"mode":"final","partitions":[7]}`, true, true},
		{`{"mode":"assign","records":{"0":[[1020,"4-9"],[1021,"3-17"]],"2":[[7,"1-2"]]}}`, true, true},
		{`{"mode":"final","records":{"1":[[0,"1-1"],[1,"2-1"]]},"end_offset":2}`, true, true},
		{`{"mode":"final","records":{},"end_offset":0}`, true, true},
		{`{ "records" : { "0" : [ ] , "1" : [ [ 5 , "x" ] ] } , "mode" : "assign" }`, true, true},
		{`{"mode":"assign","records":{"0":[[1,"a"]],"0":[[2,"b"]]}}`, false, true},
		{`{"mode":"assign","records":{"0":[[1,"a\nb"]]}}`, false, true},
		{`{"mode":"assign","records":{"0":null}}`, false, true},
		{`{"mode":"assign","partitions":null}`, false, true},
		{`{"mode":"assign","records":{"00":[]}}`, false, false},
		{`{"mode":"assign","records":{"-1":[]}}`, false, false},
		{`{"mode":"assign","records":{"0":[[1]]}}`, false, false},
		{`{"mode":"assign","records":{"0":[[1,"a",2]]}}`, false, false},
		{`{"mode":"assign","records":{"0":[[null,"a"]]}}`, false, false},
		{`{"mode":"assign","records":{"0":[[1,null]]}}`, false, false},
		{`{"mode":"assign","partitions":[2147483648]}`, false, false},
		{`{"mode":"assign","partitions":[null]}`, false, false},
		{`{"mode":"tail"}`, false, false},
		{`{"mode":"final","end_offset":-1}`, false, false},
		{`{"mode":"assign","records":[]}`, false, false},
	} {
		if got := comparePollPaths(t, []byte(tc.value)); got != tc.fast {
			t.Errorf("poll %s: scanner took it: %v, want %v", tc.value, got, tc.fast)
		}
		var v pollValue
		if err := parsePoll([]byte(tc.value), &v); (err == nil) != tc.ok {
			t.Errorf("poll %s: error %v, want ok %v", tc.value, err, tc.ok)
		}
	}
}

func TestQueueValuesIntern(t *testing.T) {
	var vs queueValues
	names := []string{"3-17", "x", "0-0", "3-017", "", "99999999-1", "3-17", "2147483648-1", "1-99999999", "x"}
	ids := map[string]int32{}
	for _, n := range names {
		id := vs.intern([]byte(n))
		if prev, ok := ids[n]; ok && prev != id {
			t.Fatalf("%q interned as %d and %d", n, prev, id)
		}
		ids[n] = id
		if got := vs.name(id); got != n {
			t.Fatalf("name(%d) = %q, want %q", id, got, n)
		}
	}
	if len(vs.info) != 8 {
		t.Errorf("%d values, want 8", len(vs.info))
	}
	if vs.cells > 8*len(vs.info)+1<<16 {
		t.Errorf("the table grew to %d cells for %d values", vs.cells, len(vs.info))
	}
	// A value the table could not hold at first is still found once the
	// table has grown past it.
	var grow queueValues
	first := grow.intern([]byte("0-200000"))
	for i := range 100_000 {
		grow.intern(fmt.Appendf(nil, "0-%d", i))
	}
	if again := grow.intern([]byte("0-200000")); again != first {
		t.Errorf("0-200000 interned as %d, then %d", first, again)
	}
}

// FuzzQueue checks arbitrary send and poll values: the checker must return
// a result, never panic, and the scanner must read whatever it accepts as
// encoding/json does.
func FuzzQueue(f *testing.F) {
	for _, seed := range []struct {
		key                     string
		send, ack, inv, records string
	}{
		{"0", `{"value":"0-1"}`, `{"value":"0-1","offset":0}`, `{"mode":"assign","partitions":[0]}`, `{"mode":"assign","records":{"0":[[0,"0-1"]]}}`},
		{"0", `{"value":"0-1"}`, `{"value":"0-1","offset":3}`, `{"mode":"final","partitions":[0]}`, `{"mode":"final","records":{"0":[[0,"0-1"],[0,"0-1"]]},"end_offset":1}`},
		{"1", `{"value":"a\"b"}`, `{"value":"a\"b","offset":9223372036854775807}`, `{"mode":"subscribe"}`, `{"records":{"1":[[9223372036854775807,"a\"b"]]}}`},
		{"x", `{"value":1}`, `{"offset":-1}`, `{"mode":"final","partitions":[0,1]}`, `{"mode":"final","records":{"0":[[1]]}}`},
		{"0", `{`, `null`, `[]`, `{"mode":"assign","records":{"00":[]}}`},
		{"2147483647", `{"value":""}`, `{"value":"","offset":0}`, `{"mode":"assign","partitions":[2147483647]}`, `{"mode":"assign","records":{"2147483647":[[4611686018427387904,""]]}}`},
	} {
		f.Add(seed.key, []byte(seed.send), []byte(seed.ack), []byte(seed.inv), []byte(seed.records))
	}
	f.Fuzz(func(t *testing.T, key string, send, ack, inv, records []byte) {
		for _, b := range [][]byte{send, ack} {
			compareSendPaths(t, b)
		}
		for _, b := range [][]byte{inv, records} {
			comparePollPaths(t, b)
		}
		ops := []history.Op{
			{Process: 0, Type: history.Invoke, F: "send", Key: key, Value: send},
			{Process: 0, Type: history.OK, F: "send", Key: key, Value: ack},
			{Process: 1, Type: history.Invoke, F: "poll", Value: inv},
			{Process: 1, Type: history.OK, F: "poll", Value: records},
			{Process: 2, Type: history.Invoke, F: "poll", Value: inv},
			{Process: 2, Type: history.Info, F: "poll", Value: records, Error: "final-read-incomplete"},
			{Process: 3, Type: history.Invoke, F: "send", Key: key, Value: send},
		}
		for i := range ops {
			ops[i].Index, ops[i].Time = int64(i), int64(i)
		}
		res := Queue{}.Check(context.Background(), ops, Options{})
		if _, err := json.Marshal(res); err != nil {
			t.Fatalf("result does not marshal: %v", err)
		}
		if res.Error != "" && res.Valid != Unknown {
			t.Fatalf("error %q with verdict %v", res.Error, res.Valid)
		}
		if (res.Valid == Invalid) != (len(res.Anomalies) > 0) {
			t.Fatalf("verdict %v with %d anomalies", res.Valid, len(res.Anomalies))
		}
	})
}
