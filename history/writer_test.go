package history

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestWriterRoundTrip(t *testing.T) {
	in := []Op{
		{Time: 10, Process: Nemesis, Type: Invoke, F: "start-partition", Value: json.RawMessage(`{"isolated":["zk1"]}`)},
		{Time: 11, Process: 0, Type: Invoke, F: "write", Key: "r1", Value: json.RawMessage(`{"value":17}`)},
		{Time: 12, Process: 1, Type: Invoke, F: "read", Key: "r1"},
		{Time: 13, Process: Nemesis, Type: Info, F: "start-partition", Value: json.RawMessage(`{"isolated":["zk1"]}`)},
		{Time: 20, Process: 0, Type: OK, F: "write", Key: "r1", Value: json.RawMessage(`{"value":17,"version":1}`), Node: "zk2"},
		{Time: 21, Process: 1, Type: Info, F: "read", Key: "r1", Error: "timeout: \"session\"\nexpired"},
		{Time: 22, Process: 2, Type: Invoke, F: "cas", Key: "r1", Value: json.RawMessage(`{"expected_version":1,"value":18}`)},
		{Time: 30, Process: 2, Type: Fail, F: "cas", Key: "r1", Value: json.RawMessage(`{"expected_version":1,"value":18}`), Error: "bad-version"},
		{Time: 31, Process: 3, Type: Invoke, F: "read", Key: "r1", Value: json.RawMessage(`null`)},
		{Time: 32, Process: Observer, Type: Invoke, F: "zk-mode", Value: json.RawMessage(`{"node":"zk1"}`)},
		{Time: 33, Process: Observer, Type: OK, F: "zk-mode", Value: json.RawMessage(`{"node":"zk1","mode":"follower","epoch":5,"zxid":123}`), Node: "zk1"},
	}
	var buf bytes.Buffer
	w := NewWriter(&buf, nil)
	for i, op := range in {
		got, err := w.Append(op)
		if err != nil {
			t.Fatalf("Append(%d): %v", i, err)
		}
		if got.Index != int64(i) {
			t.Fatalf("Append(%d) gave index %d", i, got.Index)
		}
		in[i].Index = int64(i)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(buf.Bytes(), []byte("\n")); n != len(in) {
		t.Fatalf("%d lines, want %d", n, len(in))
	}
	out, err := Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Fatalf("round trip differs\n got %+v\nwant %+v", out, in)
	}
}

func TestWriterStampsClock(t *testing.T) {
	var now atomic.Int64
	clock := func() int64 { return now.Add(5) }
	var buf bytes.Buffer
	w := NewWriter(&buf, clock)
	a, _ := w.Append(Op{Time: 999, Process: 0, Type: Invoke, F: "read", Key: "k"})
	b, _ := w.Append(Op{Process: 0, Type: OK, F: "read", Key: "k"})
	if a.Time != 5 || b.Time != 10 || a.Index != 0 || b.Index != 1 {
		t.Fatalf("stamped %d@%d and %d@%d, want 0@5 and 1@10", a.Index, a.Time, b.Index, b.Time)
	}
	real := ClockSince(time.Now())
	if t1, t2 := real(), real(); t1 < 0 || t2 < t1 {
		t.Fatalf("ClockSince not monotonic: %d then %d", t1, t2)
	}
}

func TestWriterConcurrent(t *testing.T) {
	const procs, each = 16, 500
	path := filepath.Join(t.TempDir(), "history.jsonl")
	w, err := Create(path, ClockSince(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for p := range procs {
		wg.Go(func() {
			for i := range each {
				typ := Invoke
				if i%2 == 1 {
					typ = OK
				}
				if _, err := w.Append(Op{Process: Process(p), Type: typ, F: "write", Key: "k",
					Value: json.RawMessage(`{"value":1}`)}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ops, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != procs*each {
		t.Fatalf("read %d ops, want %d", len(ops), procs*each)
	}
	perProc := map[Process]int{}
	for i, op := range ops {
		if op.Index != int64(i) {
			t.Fatalf("line %d has index %d", i+1, op.Index)
		}
		if i > 0 && op.Time < ops[i-1].Time {
			t.Fatalf("line %d: time %d < previous %d", i+1, op.Time, ops[i-1].Time)
		}
		perProc[op.Process]++
	}
	for p := range procs {
		if perProc[Process(p)] != each {
			t.Errorf("process %d: %d ops, want %d", p, perProc[Process(p)], each)
		}
	}
	if _, err := Pair(ops); err != nil {
		t.Errorf("Pair: %v", err)
	}
}

func TestCreateRefusesExistingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.jsonl")
	if err := os.WriteFile(path, []byte("precious\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Create(path, nil)
	if err == nil || !strings.Contains(err.Error(), "fresh store directory") {
		t.Fatalf("Create over an existing file: %v, want an error saying what to do", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "precious\n" {
		t.Fatalf("existing file changed: %q", b)
	}
}

type failingWriter struct{ after int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.after == 0 {
		return 0, errors.New("disk full")
	}
	f.after--
	return len(p), nil
}

func TestWriterErrors(t *testing.T) {
	w := NewWriter(&failingWriter{after: 1}, nil)
	op := Op{Process: 0, Type: Invoke, F: "read", Key: "k"}
	if _, err := w.Append(op); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Append(op); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("second append: %v, want disk full", err)
	}
	// The first write error sticks, even if the writer would work again.
	if _, err := w.Append(op); err == nil {
		t.Fatal("append after a write error succeeded")
	}
	if err := w.Close(); err == nil {
		t.Fatal("Close hid the write error")
	}

	w = NewWriter(&bytes.Buffer{}, nil)
	if _, err := w.Append(Op{Process: 0, Type: "done", F: "read"}); err == nil {
		t.Error("invalid type accepted")
	}
	if _, err := w.Append(Op{Process: 0, Type: OK}); err == nil {
		t.Error("missing f accepted")
	}
	// Rejected ops do not use up an index.
	got, err := w.Append(op)
	if err != nil || got.Index != 0 {
		t.Fatalf("append after rejected ops: index %d, %v; want 0", got.Index, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Append(op); err == nil {
		t.Error("append after Close succeeded")
	}
}

func BenchmarkWriterAppend(b *testing.B) {
	path := filepath.Join(b.TempDir(), "history.jsonl")
	w, err := Create(path, ClockSince(time.Now()))
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	op := Op{Process: 17, Type: OK, F: "cas", Key: "/faultline/r7",
		Value: json.RawMessage(`{"expected_version":3,"value":18,"version":4}`), Node: "zk2"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := w.Append(op); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
