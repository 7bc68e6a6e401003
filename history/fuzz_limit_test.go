package history

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"testing"
)

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// FuzzReadLimits reads data followed by a run of one byte, with a small
// limit on a line, so that inputs of every shape (garbage, JSON cut short,
// a valid op) grow past the limit. The reader must never panic; it must
// report ErrLineTooLong exactly when the first line it cannot take is
// longer than the limit, stop reading within a buffer of that line's
// limit, and allocate within a small multiple of what it read.
func FuzzReadLimits(f *testing.F) {
	for _, seed := range []struct {
		data string
		fill byte
		max  uint16
		n    uint32
	}{
		{"", 0, 0, 5000},
		{line0 + "\n", '\n', 10, 100},
		{line0 + "\n{\"index\":1,\"time\":2,\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":\"", 'a', 200, 9000},
		{"{", '[', 100, 20000},
		{line0, ' ', 50, 3000},
		{"\x00\n", 0, 0, 70000},
		{line1 + "\n" + line0 + "\n", '\n', 4000, 2},
	} {
		f.Add([]byte(seed.data), seed.fill, seed.max, seed.n)
	}
	f.Fuzz(func(t *testing.T, data []byte, fill byte, max16 uint16, n32 uint32) {
		limit := 64 + int(max16)%(8<<10)
		n := int(n32 % uint32(4*limit+(128<<10)))
		input := append(bytes.Clone(data), bytes.Repeat([]byte{fill}, n)...)
		cr := &countingReader{r: bytes.NewReader(input)}
		before := allocated()
		ops, err := ReadWith(cr, ReadOptions{MaxLine: limit})
		alloc := allocated() - before

		lines := bytes.SplitAfter(input, []byte("\n"))
		length := func(i int) int { return len(bytes.TrimSuffix(lines[i], []byte("\n"))) }
		// The first line too long, if any, and where it starts.
		long, longStart := -1, 0
		for i, start := 0, 0; i < len(lines); i++ {
			if length(i) > limit {
				long, longStart = i, start
				break
			}
			start += len(lines[i])
		}
		var lineErr int // the line an error names
		if err != nil {
			if _, after, ok := bytes.Cut([]byte(err.Error()), []byte("line ")); ok {
				end := bytes.IndexAny(after, ": ")
				if end < 0 {
					end = len(after)
				}
				lineErr, _ = strconv.Atoi(string(after[:end]))
			}
		}
		switch {
		case err == nil:
			if long >= 0 {
				t.Fatalf("read line %d of %d bytes with a limit of %d", long+1, length(long), limit)
			}
		case errors.Is(err, ErrLineTooLong):
			if lineErr != long+1 {
				t.Fatalf("%v, but the first line over %d bytes is line %d", err, limit, long+1)
			}
			if ops != nil {
				t.Fatalf("%d ops with %v", len(ops), err)
			}
			if cr.n > longStart+limit+2*readBufSize {
				t.Fatalf("read %d bytes, the long line starts at %d: want no more than the limit and a buffer past it", cr.n, longStart)
			}
		default:
			if lineErr < 1 || lineErr > len(lines) || (long >= 0 && lineErr > long+1) {
				t.Fatalf("%v names a line it cannot have read whole (first long line %d)", err, long+1)
			}
			if lineErr == long+1 {
				t.Fatalf("%v, but line %d is longer than the limit", err, lineErr)
			}
		}
		if bound := uint64(16*cr.n + 1<<20); alloc > bound {
			t.Fatalf("allocated %d bytes reading %d", alloc, cr.n)
		}
	})
}
