package history

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	line0 = `{"index":0,"time":5,"process":0,"type":"invoke","f":"read","key":"r1"}`
	line1 = `{"index":1,"time":9,"process":0,"type":"ok","f":"read","key":"r1","value":{"value":0,"version":0}}`
)

func TestReadErrors(t *testing.T) {
	for _, tc := range []struct {
		name, input, want string
	}{
		{"bad JSON", line0 + "\n{\"index\":1,\n", `line 2: bad JSON`},
		{"not an object", line0 + "\n[1,2]\n", `line 2: bad JSON: a line must be one JSON object, not a JSON array`},
		{"text after the object", line0 + "\n" + line1 + " x\n", `line 2: bad JSON: text after the object`},
		{"two objects", line1 + line1 + "\n", `line 1: bad JSON: text after the object`},
		{"unknown field", `{"index":0,"time":1,"process":0,"type":"ok","f":"read","vlaue":1}` + "\n", `line 1: unknown field "vlaue"`},
		{"unknown type", `{"index":0,"time":1,"process":0,"type":"oks","f":"read"}` + "\n", `line 1: unknown type "oks" (want invoke, ok, fail or info)`},
		{"missing f", `{"index":0,"time":1,"process":0,"type":"ok"}` + "\n", `line 1: missing "f"`},
		{"empty f", `{"index":0,"time":1,"process":0,"type":"ok","f":""}` + "\n", `line 1: missing "f"`},
		{"missing index", `{"time":1,"process":0,"type":"ok","f":"read"}` + "\n", `line 1: missing "index"`},
		{"missing time", `{"index":0,"process":0,"type":"ok","f":"read"}` + "\n", `line 1: missing "time"`},
		{"missing process", `{"index":0,"time":1,"type":"ok","f":"read"}` + "\n", `line 1: missing "process"`},
		{"missing type", `{"index":0,"time":1,"process":0,"f":"read"}` + "\n", `line 1: missing "type"`},
		{"negative time", `{"index":0,"time":-3,"process":0,"type":"ok","f":"read"}` + "\n", `line 1: negative time -3`},
		{"negative index", `{"index":-1,"time":3,"process":0,"type":"ok","f":"read"}` + "\n", `line 1: negative index -1`},
		{"bad process", `{"index":0,"time":3,"process":"client","type":"ok","f":"read"}` + "\n", `line 1: process must be a non-negative integer, "nemesis" or "observer", not "client"`},
		{"negative process", `{"index":0,"time":3,"process":-1,"type":"ok","f":"read"}` + "\n", `line 1: process must be a non-negative integer, "nemesis" or "observer"`},
		{"index repeats", line0 + "\n" + line0 + "\n", `line 2: index 0 is not greater than the previous line's index 0`},
		{"index decreases", line1 + "\n" + line0 + "\n", `line 2: index 0 is not greater than the previous line's index 1`},
		{"time is a string", `{"index":0,"time":"5","process":0,"type":"ok","f":"read"}` + "\n", `line 1: field "time" is a JSON string, want an integer`},
		{"type is a number", `{"index":0,"time":5,"process":0,"type":1,"f":"read"}` + "\n", `line 1: field "type" is a JSON number, want a string`},
		{"fractional index", `{"index":0.5,"time":5,"process":0,"type":"ok","f":"read"}` + "\n", `line 1: field "index" is a JSON number 0.5, want an integer`},
		{"empty line", line0 + "\n\n" + line1 + "\n", `line 2: empty line`},
		{"truncated line in the middle", line0[:30] + "\n" + line1 + "\n", `line 1: bad JSON`},
		{"garbage last line without newline", line0 + "\nxyz", `line 2: bad JSON`},
		{"complete but invalid last line", line0 + "\n" + `{"index":1,"time":1,"process":0,"type":"ok"}`, `line 2: missing "f"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ops, err := Read(strings.NewReader(tc.input))
			if err == nil {
				t.Fatalf("no error, read %d ops", len(ops))
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
			if errors.Is(err, ErrTruncatedTail) {
				t.Fatalf("reported as a truncated tail: %v", err)
			}
			if ops != nil {
				t.Fatalf("returned %d ops with the error", len(ops))
			}
		})
	}
}

func TestReadTruncatedTail(t *testing.T) {
	for cut := 1; cut < len(line1); cut++ {
		input := line0 + "\n" + line1[:cut]
		ops, err := Read(strings.NewReader(input))
		if !errors.Is(err, ErrTruncatedTail) {
			t.Fatalf("cut at %d (%q): err = %v, want ErrTruncatedTail", cut, line1[:cut], err)
		}
		if !strings.HasPrefix(err.Error(), "line 2: ") {
			t.Fatalf("cut at %d: error %q does not name line 2", cut, err)
		}
		if len(ops) != 1 || ops[0].Index != 0 {
			t.Fatalf("cut at %d: got %d ops, want the 1 complete op", cut, len(ops))
		}
	}
	// A complete last line without a newline is simply the last op.
	ops, err := Read(strings.NewReader(line0 + "\n" + line1))
	if err != nil || len(ops) != 2 {
		t.Fatalf("complete last line without newline: %d ops, %v", len(ops), err)
	}
}

func TestReadEmptyAndLongLines(t *testing.T) {
	ops, err := Read(strings.NewReader(""))
	if err != nil || len(ops) != 0 {
		t.Fatalf("empty input: %d ops, %v", len(ops), err)
	}
	for _, size := range []int{64 << 10, 200 << 10, 3 << 20} {
		long := `{"index":1,"time":9,"process":0,"type":"ok","f":"poll","value":"` + strings.Repeat("v", size) + `"}`
		input := line0 + "\n" + long + "\n" + `{"index":2,"time":10,"process":1,"type":"invoke","f":"read"}` + "\n"
		ops, err := Read(strings.NewReader(input))
		if err != nil {
			t.Fatalf("%d-byte line: %v", len(long), err)
		}
		if len(ops) != 3 || len(ops[1].Value) != size+2 || ops[2].Index != 2 {
			t.Fatalf("%d-byte line: read %d ops", len(long), len(ops))
		}
		// The same long line, cut short at the end of the file.
		_, err = Read(strings.NewReader(line0 + "\n" + long[:len(long)-2]))
		if !errors.Is(err, ErrTruncatedTail) {
			t.Fatalf("truncated %d-byte line: %v", len(long), err)
		}
	}
}

func TestReadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.jsonl")
	if err := os.WriteFile(path, []byte(line0+"\n"+line1[:20]), 0o644); err != nil {
		t.Fatal(err)
	}
	ops, err := ReadFile(path)
	if !errors.Is(err, ErrTruncatedTail) || len(ops) != 1 || !strings.Contains(err.Error(), path) {
		t.Fatalf("ReadFile: %d ops, %v", len(ops), err)
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing.jsonl")); err == nil {
		t.Fatal("missing file: no error")
	}
}

func BenchmarkRead(b *testing.B) {
	var buf bytes.Buffer
	w := NewWriter(&buf, nil)
	for i := range 100_000 {
		op := Op{Time: int64(i), Process: Process(i % 32), Type: Invoke, F: "write", Key: "r7", Value: json.RawMessage(`{"value":17}`)}
		if i%2 == 1 {
			op.Type, op.Value = OK, json.RawMessage(`{"value":17,"version":4}`)
		}
		if _, err := w.Append(op); err != nil {
			b.Fatal(err)
		}
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Read(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(100_000*float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}
