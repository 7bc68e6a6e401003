package checker

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
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

// collect is a recordSink that gathers what it is given as "offset:value".
type collect struct {
	recs map[int32][]string
	cur  int32
}

func (c *collect) group(p int32) bool {
	c.cur = p
	if c.recs[p] == nil {
		c.recs[p] = []string{}
	}
	return true
}

func (c *collect) record(off int64, v []byte) bool {
	c.recs[c.cur] = append(c.recs[c.cur], fmt.Sprintf("%d:%s", off, v))
	return true
}

// toPollResult returns what v, parsed from b, holds.
func toPollResult(t *testing.T, b []byte, v *pollValue) pollResult {
	t.Helper()
	r := pollResult{Mode: v.mode, Partitions: slices.Clone(v.partitions), EndOffset: v.endOffset, Records: map[int32][]string{}}
	if len(r.Partitions) == 0 {
		r.Partitions = nil
	}
	c := &collect{recs: r.Records}
	if err := v.eachRecord(b, c); err != nil {
		t.Fatalf("%s: eachRecord: %v", b, err)
	}
	n := 0
	for _, recs := range r.Records {
		n += len(recs)
	}
	if n != v.records {
		t.Fatalf("%s: %d records handed out, %d counted", b, n, v.records)
	}
	return r
}

// referenceDecodePoll is how the checker once decoded a poll, all at once
// with encoding/json; decodePoll must read every value the same way.
func referenceDecodePoll(b []byte) (pollResult, error) {
	r := pollResult{EndOffset: -1, Records: map[int32][]string{}}
	var w struct {
		Mode       *string                        `json:"mode"`
		Partitions []*int64                       `json:"partitions"`
		Records    map[string][][]json.RawMessage `json:"records"`
		EndOffset  *int64                         `json:"end_offset"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return r, err
	}
	if w.Mode != nil {
		m, ok := parseMode([]byte(*w.Mode))
		if !ok {
			return r, fmt.Errorf("unknown mode %q", *w.Mode)
		}
		r.Mode = m
	}
	for _, p := range w.Partitions {
		if p == nil || *p < 0 || *p > math.MaxInt32 {
			return r, fmt.Errorf("bad partition")
		}
		r.Partitions = append(r.Partitions, int32(*p))
	}
	if w.EndOffset != nil {
		if *w.EndOffset < 0 {
			return r, fmt.Errorf("negative end_offset")
		}
		r.EndOffset = *w.EndOffset
	}
	for key, pairs := range w.Records {
		p, ok := parsePartition([]byte(key))
		if !ok {
			return r, fmt.Errorf("bad key")
		}
		recs := []string{}
		for _, pair := range pairs {
			var off *int64
			var val *string
			if len(pair) != 2 || json.Unmarshal(pair[0], &off) != nil || json.Unmarshal(pair[1], &val) != nil ||
				off == nil || val == nil || *off < 0 {
				return r, fmt.Errorf("bad record")
			}
			recs = append(recs, fmt.Sprintf("%d:%s", *off, *val))
		}
		r.Records[p] = recs
	}
	return r, nil
}

// compareDecodePoll checks that decodePoll reads b as referenceDecodePoll
// does.
func compareDecodePoll(t *testing.T, b []byte) {
	t.Helper()
	want, werr := referenceDecodePoll(b)
	var v pollValue
	err := decodePoll(b, &v)
	if (err == nil) != (werr == nil) {
		t.Fatalf("%s: decodePoll says %v, encoding/json at once %v", b, err, werr)
	}
	if err != nil {
		return
	}
	if got := toPollResult(t, b, &v); !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: decodePoll reads %+v, encoding/json at once %+v", b, got, want)
	}
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
	compareDecodePoll(t, b)
	var fast, slow pollValue
	fast.reset()
	if !scanPoll(b, &fast, nil) {
		return false
	}
	fast.fast = true
	if err := decodePoll(b, &slow); err != nil {
		t.Fatalf("%s: the scanner accepts it, encoding/json says %v", b, err)
	}
	if f, s := toPollResult(t, b, &fast), toPollResult(t, b, &slow); !reflect.DeepEqual(f, s) {
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
		{`{"mode":"assign","records":{"0":[[1]],"0":[]}}`, false, true},
		{`{"mode":"assign","records":{"0":5,"0":[]}}`, false, false},
		{`{"mode":"assign","records":{"0":[[1,"a"]]},"Records":{"1":[[2,"b"]]}}`, false, true},
		{`{"mode":"assign","records":{"0":[[1,"a"]]},"records":null}`, false, true},
		{`{"mode":"assign","records":{"0":[null]}}`, false, false},
		{`{"mode":"assign","records":{"0":[5]}}`, false, false},
		{`{"mode":"assign","records":{"\u0030":[[1,"\u0061"]], "1" : [ [ 2 , "b" ] ] }}`, false, true},
		{`{"mode":"assign","records":{"0":[[-0,"a"]]}}`, false, true},
		{`{"mode":"assign","records":{"0":[[1,"a"]],"1":[[1,"a"]],"2":[[1,"a"]],"3":[],"4":[],"5":[],"6":[],"7":[],"8":[],"9":[],"10":[],"11":[],"12":[],"13":[],"14":[],"15":[],"16":[],"17":[],"18":[],"19":[],"20":[],"21":[],"22":[],"23":[],"24":[],"25":[],"26":[],"27":[],"28":[],"29":[],"30":[],"31":[],"32":[],"33":[],"0":[]}}`, false, true},
		{`{"mode":"final","records":{"0":[[1,"a"]]},"end_offset":2,"note":{"x":[1,2]}}`, false, true},
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
	if vs.info.len() != 8 {
		t.Errorf("%d values, want 8", vs.info.len())
	}
	if vs.cells > 8*vs.info.len()+1<<16 {
		t.Errorf("the table grew to %d cells for %d values", vs.cells, vs.info.len())
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

// TestQueueCompactRecordValues checks that the scanner reads a record's
// value as workloadValue does while it scans it, for workload values and
// for the plain strings that come close to one.
func TestQueueCompactRecordValues(t *testing.T) {
	values := []string{"1-2", "0-0", "3-17", "12-0", "01-2", "1-02", "00-1", "1-", "-1", "-", "", "1", "12",
		"1-2-3", "1--2", "a-1", "1-a", "1-2a", "1a-2", " 1-2", "1-2 ", "1.5-2",
		"2147483647-2147483647", "2147483648-1", "1-2147483648", "9999999999-1", "1-9999999999",
		"12345678901-1", "1-12345678901", "99999999999999999999-1", "1-99999999999999999999",
		"1234567890-1234567890", "0-2147483647"}
	for _, v := range values {
		b := []byte(`[7,"` + v + `"],`)
		s := jsonScanner{b: b}
		r, ok := s.compactRecord()
		if !ok || r.offset != 7 || string(r.value) != v || s.i != len(b)-1 {
			t.Errorf("%s: compactRecord = %+v, %v at %d", b, r, ok, s.i)
			continue
		}
		proc, seq, wok := workloadValue([]byte(v))
		if r.workload != wok || int(r.proc) != proc || int(r.seq) != seq {
			t.Errorf("%q: the scanner read proc %d seq %d workload %v, workloadValue %d %d %v", v, r.proc, r.seq, r.workload, proc, seq, wok)
		}
	}
	// Each record of a poll the scanner keeps carries its value read, on
	// the compact path and on the one with white space.
	var pv pollValue
	b := []byte(`{"mode":"assign","records":{"0":[[1,"3-17"],[2,"x"], [ 3 , "4-9" ],[4,"04-9"]]}}`)
	if err := parsePoll(b, &pv); err != nil || !pv.fast || len(pv.recs) != 4 {
		t.Fatalf("parsePoll: %v, fast %v, %d records", err, pv.fast, len(pv.recs))
	}
	for _, r := range pv.recs {
		proc, seq, ok := workloadValue(r.value)
		if r.workload != ok || int(r.proc) != proc || int(r.seq) != seq {
			t.Errorf("record %d %q: read as %d %d %v, workloadValue says %d %d %v", r.offset, r.value, r.proc, r.seq, r.workload, proc, seq, ok)
		}
	}
}
