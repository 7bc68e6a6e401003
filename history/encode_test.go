package history

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// marshalStd encodes op with encoding/json, without HTML escaping, the
// reference appendOp must match.
func marshalStd(t testing.TB, op Op) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(op); err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func TestAppendOpMatchesEncodingJSON(t *testing.T) {
	strs := []string{
		"", "read", "k1", "/faultline/r 1", `quote " and \ backslash`,
		"new\nline\ttab\rret", "ctrl \x00\x01\x1f\x7f \b \f", "<html> & co",
		"héllo wörld ✓ 𝄞", "bad utf8 \xff\xfe end", "line sep \u2028 para \u2029",
		strings.Repeat("x", 300),
	}
	for _, s := range strs {
		op := Op{Index: 7, Time: 123456789, Process: 4, Type: Info, F: s, Key: s, Node: s, Error: s,
			Value: json.RawMessage(`{"value":17,"version":3}`)}
		got, err := appendOp(nil, op)
		if err != nil {
			t.Fatalf("appendOp(%q): %v", s, err)
		}
		if want := marshalStd(t, op); !bytes.Equal(got, want) {
			t.Errorf("appendOp(%q)\n got %s\nwant %s", s, got, want)
		}
	}
	nem := Op{Index: 0, Time: 0, Process: Nemesis, Type: Invoke, F: "start-partition"}
	got, _ := appendOp(nil, nem)
	if want := `{"index":0,"time":0,"process":"nemesis","type":"invoke","f":"start-partition"}`; string(got) != want {
		t.Errorf("nemesis op: got %s, want %s", got, want)
	}
	obs := Op{Index: 1, Time: 2, Process: Observer, Type: OK, F: "zk-mode", Value: json.RawMessage(`{"node":"zk1","mode":"leader"}`)}
	got, _ = appendOp(nil, obs)
	if want := marshalStd(t, obs); !bytes.Equal(got, want) || !bytes.Contains(got, []byte(`"process":"observer"`)) {
		t.Errorf("observer op: got %s, want %s", got, want)
	}
}

func TestAppendOpCompactsValue(t *testing.T) {
	op := Op{Index: 1, Time: 2, Process: 0, Type: OK, F: "read",
		Value: json.RawMessage("{\n  \"value\": 17,\n  \"version\": 3\n}\n")}
	got, err := appendOp(nil, op)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.ContainsRune(got, '\n') {
		t.Fatalf("line contains a newline: %q", got)
	}
	if !bytes.Contains(got, []byte(`"value":{"value":17,"version":3}`)) {
		t.Errorf("value not compacted: %s", got)
	}
	op.Value = json.RawMessage(`{"value":`)
	if _, err := appendOp(nil, op); err == nil {
		t.Error("invalid value: no error")
	}
}

func BenchmarkAppendOp(b *testing.B) {
	op := Op{Index: 123456, Time: 98765432100, Process: 17, Type: OK, F: "cas", Key: "/faultline/r7",
		Value: json.RawMessage(`{"expected_version":3,"value":18,"version":4}`), Node: "zk2"}
	b.Run("appendOp", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 256)
		for b.Loop() {
			var err error
			if buf, err = appendOp(buf[:0], op); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(op); err != nil {
				b.Fatal(err)
			}
		}
	})
}
