package history

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"
)

// FuzzRead feeds Read arbitrary input: it must return ops or an error, never
// panic, and whatever it accepts must survive a write and a second read.
func FuzzRead(f *testing.F) {
	for _, seed := range []string{
		"",
		line0 + "\n",
		line0 + "\n" + line1 + "\n",
		line0 + "\n" + line1[:17],
		`{"index":0,"time":1,"process":"nemesis","type":"invoke","f":"start-partition","value":{"isolated":["zk1"]}}` + "\n",
		`{"index":0,"time":1,"process":"observer","type":"ok","f":"zk-mode","value":{"node":"zk1","mode":"leader","epoch":5,"zxid":123}}` + "\n",
		`{"index":3,"time":7,"process":2,"type":"fail","f":"cas","key":"r1","value":{"expected_version":3,"value":18},"error":"bad-version"}` + "\n",
		`{"index":0,"time":1,"process":0,"type":"ok","f":"read","value":null}`,
		`{"index":0,"time":-1,"process":0,"type":"ok","f":"read"}` + "\n",
		`{"index":0,"time":1,"process":-1,"type":"ok","f":"read"}` + "\n",
		`{"index":0,"time":1,"process":0,"type":"oks","f":"read"}` + "\n",
		`{"index":0,"time":1,"process":0,"type":"ok"}` + "\n",
		`{"index":0,"time":1,"process":0,"type":"ok","f":"read","extra":true}` + "\n",
		line1 + "\n" + line0 + "\n",
		"\n\n",
		"{\"index\":0\n",
		"[1,2,3]\n",
		"null\n",
		`{"index":0,"time":1e3,"process":0,"type":"ok","f":"read"}` + "\n",
		`{"index":0,"time":1,"process":0,"type":"ok","f":"read","key":"\u2028\ud800"}` + "\n",
		"\xff\xfe\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// A line the reader allocated for itself is parsed keeping its
		// bytes; that must read every line as the general way does.
		for line := range bytes.SplitSeq(data, []byte("\n")) {
			general, gerr := parseLine(line)
			owned, oerr := parseOwnedLine(bytes.Clone(line))
			if fmt.Sprint(gerr) != fmt.Sprint(oerr) || !reflect.DeepEqual(general, owned) {
				t.Fatalf("%q: general way %+v, %v; owned %+v, %v", line, general, gerr, owned, oerr)
			}
		}
		ops, err := Read(bytes.NewReader(data))
		if err != nil && !errors.Is(err, ErrTruncatedTail) {
			if ops != nil {
				t.Fatalf("error %v came with %d ops", err, len(ops))
			}
			return
		}
		var buf bytes.Buffer
		w := NewWriter(&buf, nil)
		for _, op := range ops {
			if _, err := w.Append(op); err != nil {
				t.Fatalf("Read accepted an op the Writer rejects: %v", err)
			}
		}
		again, err := Read(&buf)
		if err != nil {
			t.Fatalf("rewritten history does not read back: %v", err)
		}
		if len(again) != len(ops) {
			t.Fatalf("rewritten history has %d ops, want %d", len(again), len(ops))
		}
		_, _ = Pair(ops) // must not panic either
	})
}
