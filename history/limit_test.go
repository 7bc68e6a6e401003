package history

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
)

// zeros is an endless stream of NUL bytes, like /dev/zero, that counts what
// was read from it.
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	clear(p)
	z.n += int64(len(p))
	return len(p), nil
}

// allocated returns the bytes allocated on the heap so far.
func allocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestReadZeroesIsBounded reads 256 MiB of NUL bytes with no newline: the
// reader must give up after the 64 MiB default limit on a line, holding
// nothing of it (NUL is never JSON), and say how to raise the limit.
func TestReadZeroesIsBounded(t *testing.T) {
	z := &zeros{}
	runtime.GC()
	before := allocated()
	ops, err := Read(io.LimitReader(z, 256<<20))
	alloc := allocated() - before
	if err == nil || !strings.Contains(err.Error(), "line 1 is longer than 64 MiB") || !strings.Contains(err.Error(), "raise it with --max-line") {
		t.Fatalf("err = %v, want line 1 longer than 64 MiB, raise it with --max-line", err)
	}
	if ops != nil {
		t.Errorf("%d ops with the error", len(ops))
	}
	if z.n > 64<<20+128<<10 {
		t.Errorf("read %d bytes, want no more than the limit and a buffer", z.n)
	}
	if alloc > 4<<20 {
		t.Errorf("allocated %d bytes reading NULs, want under 4 MiB", alloc)
	}
}

// TestReadLineLimit checks ReadOptions.MaxLine: a line of exactly the limit
// (newline not counted) is read, one byte more is ErrLineTooLong naming the
// line, with or without a newline after it.
func TestReadLineLimit(t *testing.T) {
	mk := func(index, size int) string {
		head := `{"index":` + string(rune('0'+index)) + `,"time":1,"process":0,"type":"invoke","f":"write","value":"`
		return head + strings.Repeat("v", size-len(head)-2) + `"}`
	}
	const limit = 100 << 10 // longer than the reader's buffer
	for _, tc := range []struct {
		name  string
		input string
		line  int // the line too long; 0 if none
	}{
		{"at the limit", mk(0, limit) + "\n" + mk(1, 200) + "\n", 0},
		{"at the limit, CR LF", mk(0, limit-1) + "\r\n", 0},
		{"at the limit, no newline", mk(0, 200) + "\n" + mk(1, limit), 0},
		{"one byte over", mk(0, 200) + "\n" + mk(1, limit+1) + "\n", 2},
		{"one byte over, no newline", mk(0, 200) + "\n" + mk(1, limit+1), 2},
		{"longer than the buffer", mk(0, 64<<10+1) + "\n", 0},
		{"far over", mk(0, 3*limit) + "\n", 1},
		{"over and cut short", mk(0, 200) + "\n" + mk(1, 2*limit)[:limit+5], 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ops, err := ReadWith(strings.NewReader(tc.input), ReadOptions{MaxLine: limit})
			if tc.line == 0 {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				if want := strings.Count(tc.input, "\n") + boolInt(!strings.HasSuffix(tc.input, "\n")); len(ops) != want {
					t.Fatalf("%d ops, want %d", len(ops), want)
				}
				return
			}
			if !errors.Is(err, ErrLineTooLong) {
				t.Fatalf("err = %v, want ErrLineTooLong", err)
			}
			want := "line " + string(rune('0'+tc.line)) + " is longer than 100 KiB, the longest line the history reader takes; raise it with --max-line"
			if err.Error() != want {
				t.Fatalf("err = %q, want %q", err, want)
			}
			if ops != nil {
				t.Fatalf("%d ops with the error", len(ops))
			}
		})
	}
	// The default is DefaultMaxLine.
	if (ReadOptions{}).maxLine() != DefaultMaxLine || (ReadOptions{MaxLine: -1}).maxLine() != DefaultMaxLine || DefaultMaxLine != 64<<20 {
		t.Error("the default limit is not 64 MiB")
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestReadGarbageLines checks lines of NUL bytes and other bytes JSON never
// allows: the error names the first such line as bad JSON, whether it is
// short or longer than the reader's buffer, and a long one is not held.
func TestReadGarbageLines(t *testing.T) {
	for _, tc := range []struct {
		name, input, want string
	}{
		{"NULs with newlines", strings.Repeat(strings.Repeat("\x00", 1000)+"\n", 1000), `line 1: bad JSON: invalid character '\x00' looking for beginning of value`},
		{"long NUL line", line0 + "\n" + strings.Repeat("\x00", 1<<20) + "\n" + line1 + "\n", `line 2: bad JSON: invalid character '\x00' looking for beginning of value`},
		{"NUL late in a long line", line0 + "\n" + `{"index":1,"time":9,"process":0,"type":"ok","f":"read","value":"` + strings.Repeat("v", 1<<20) + "\x01" + strings.Repeat("v", 1<<20) + "\"}\n", `line 2: bad JSON: invalid character '\x01' in string literal`},
		{"long NUL line, no newline", line0 + "\n" + strings.Repeat("\x00", 1<<20), `line 2: bad JSON: invalid character '\x00' looking for beginning of value`},
		{"object, then NULs", line0 + "\n" + line1 + strings.Repeat("\x00", 1<<20) + "\n", `line 2: bad JSON: text after the object`},
		{"newlines only", strings.Repeat("\n", 1<<20), `line 1: empty line`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runtime.GC()
			before := allocated()
			ops, err := Read(strings.NewReader(tc.input))
			alloc := allocated() - before
			if err == nil || err.Error() != tc.want {
				t.Fatalf("err = %v, want %s", err, tc.want)
			}
			if errors.Is(err, ErrTruncatedTail) || errors.Is(err, ErrLineTooLong) || ops != nil {
				t.Fatalf("err = %v with %d ops", err, len(ops))
			}
			if tc.name == "long NUL line" && alloc > 1<<20 {
				t.Errorf("allocated %d bytes for a line of NULs", alloc)
			}
		})
	}
}

// TestReadTruncatedLongTail checks that a long last line cut short is still
// a truncated tail, found without decoding it.
func TestReadTruncatedLongTail(t *testing.T) {
	long := `{"index":1,"time":9,"process":0,"type":"ok","f":"poll","value":{"records":[` + strings.Repeat(`[1,"2-3"],`, 1<<20)
	ops, err := Read(strings.NewReader(line0 + "\n" + long))
	if !errors.Is(err, ErrTruncatedTail) || len(ops) != 1 {
		t.Fatalf("%d ops, err %v", len(ops), err)
	}
	// A last line that is not an object cut short is garbage.
	_, err = Read(strings.NewReader(line0 + "\n[1,2"))
	if err == nil || errors.Is(err, ErrTruncatedTail) {
		t.Fatalf("[1,2 as the last line: %v", err)
	}
}

var _ = bytes.NewReader

// TestReadLongLineHeldOnce reads a 32 MiB poll line: the reader must take
// little more than twice the line's size in all (its parts, and the line
// joined once, which the op's value then shares), not several copies of it.
func TestReadLongLineHeldOnce(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"index":1,"time":9,"process":3,"type":"ok","f":"poll","value":{"mode":"assign","records":{"0":[`)
	for i := 0; b.Len() < 32<<20; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`[1234567,"12-345678"]`)
	}
	b.WriteString(`]}},"node":"kafka1"}`)
	long := b.String()
	input := line0 + "\n" + long + "\n"
	runtime.GC()
	before := allocated()
	ops, err := Read(strings.NewReader(input))
	alloc := allocated() - before
	if err != nil || len(ops) != 2 {
		t.Fatalf("%d ops, %v", len(ops), err)
	}
	if v := ops[1].Value; !bytes.HasPrefix(v, []byte(`{"mode":"assign"`)) || !bytes.HasSuffix(v, []byte(`]}}`)) || ops[1].Node != "kafka1" {
		t.Fatalf("value %.40s...%s, node %q", v, v[len(v)-10:], ops[1].Node)
	}
	t.Logf("allocated %d MiB reading a %d MiB line", alloc>>20, len(long)>>20)
	if limit := uint64(len(long)) * 9 / 4; alloc > limit {
		t.Errorf("allocated %d MiB reading a %d MiB line, want at most %d MiB", alloc>>20, len(long)>>20, limit>>20)
	}
	// Lines of other forms go the general way and read the same.
	for _, line := range []string{
		`{"index":1,"time":9,"process":3,"type":"ok","f":"poll","value":"` + strings.Repeat("v", 100<<10) + `","Node":"n"}`,
		`{"index":1,"time":9,"process":3,"type":"ok","f":"poll","value":"` + strings.Repeat("v", 100<<10) + `","value":1}`,
		`{"index":1,"time":9,"process":3,"type":"ok","f":"poll","\u0076alue":"` + strings.Repeat("v", 100<<10) + `"}`,
		` {"index":1,"time":9,"process":3,"type":"ok","f":"poll","value":["` + strings.Repeat("v", 100<<10) + `", {"a":[1,{}]}] } ` + "\t\r",
	} {
		general, gerr := parseLine([]byte(line))
		owned, oerr := parseOwnedLine([]byte(line))
		if fmt.Sprint(gerr) != fmt.Sprint(oerr) || !reflect.DeepEqual(general, owned) {
			t.Errorf("%.80s...: general way %.20s, %v; owned %.20s, %v", line, general.Value, gerr, owned.Value, oerr)
		}
	}
}
