//go:build linux

package history

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// repeatReader repeats head once and then fill for ever.
type repeatReader struct {
	head []byte
	fill []byte
	i    int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(r.head) > 0 {
			c := copy(p[n:], r.head)
			r.head = r.head[c:]
			n += c
			continue
		}
		c := copy(p[n:], r.fill[r.i:])
		r.i = (r.i + c) % len(r.fill)
		n += c
	}
	return n, nil
}

// TestReadUnderMemoryLimit reads endless adversarial inputs in a child
// process whose address space is capped 256 MiB above what it has mapped
// when it starts, and whose Go heap is limited to 96 MiB: each read must end
// with an error, not a crash ("fatal error: out of memory") or a hang.
func TestReadUnderMemoryLimit(t *testing.T) {
	if os.Getenv("FAULTLINE_READ_CHILD") == "1" {
		readAdversarial(t)
		return
	}
	if testing.Short() {
		t.Skip("reads several hundred MB")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestReadUnderMemoryLimit$", "-test.v")
	cmd.Env = append(os.Environ(), "FAULTLINE_READ_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the child failed (%v):\n%s", err, tail(out, 3000))
	}
	if !bytes.Contains(out, []byte("all inputs ended in an error")) {
		t.Fatalf("the child did not finish:\n%s", tail(out, 3000))
	}
	t.Logf("%s", out)
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// readAdversarial is TestReadUnderMemoryLimit's child.
func readAdversarial(t *testing.T) {
	vm := vmSize(t)
	limit := vm + 256<<20
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: limit, Max: limit}); err != nil {
		t.Fatalf("cap the address space: %v", err)
	}
	debug.SetMemoryLimit(96 << 20)
	t.Logf("address space capped at %d MiB (%d MiB mapped at the start)", limit>>20, vm>>20)
	op := `{"index":0,"time":1,"process":0,"type":"ok","f":"poll","value":`
	for _, tc := range []struct {
		name string
		r    func() (io.Reader, func())
		opts ReadOptions
		want error // nil: any error but these two
	}{
		{"/dev/zero", openFile("/dev/zero"), ReadOptions{}, ErrLineTooLong},
		{"/dev/zero with a 1 GiB limit", openFile("/dev/zero"), ReadOptions{MaxLine: 1 << 30}, ErrLineTooLong},
		{"an endless string value", endless(op+`"`, "a"), ReadOptions{}, ErrLineTooLong},
		{"endless records", endless(op+`{"mode":"final","records":{"0":[`, `[1234567,"12-345678"],`), ReadOptions{}, ErrLineTooLong},
		{"endless nesting", endless(op, "["), ReadOptions{}, ErrLineTooLong},
		{"endless NUL lines", endless("", "\x00\x00\x00\n"), ReadOptions{}, nil},
		{"endless empty lines", endless("", "\n"), ReadOptions{}, nil},
		{"endless cut objects", endless("", `{"index":`+"\n"), ReadOptions{}, nil},
	} {
		r, done := tc.r()
		start := time.Now()
		ops, err := ReadWith(r, tc.opts)
		done()
		switch {
		case err == nil:
			t.Fatalf("%s: no error, %d ops", tc.name, len(ops))
		case tc.want != nil && !errors.Is(err, tc.want):
			t.Fatalf("%s: %v, want %v", tc.name, err, tc.want)
		case tc.want == nil && (errors.Is(err, ErrLineTooLong) || errors.Is(err, ErrTruncatedTail)):
			t.Fatalf("%s: %v", tc.name, err)
		}
		t.Logf("%s: %v after %v; %d MiB mapped", tc.name, err, time.Since(start).Round(time.Millisecond), vmSize(t)>>20)
	}
	fmt.Println("all inputs ended in an error")
}

func openFile(path string) func() (io.Reader, func()) {
	return func() (io.Reader, func()) {
		f, err := os.Open(path)
		if err != nil {
			return strings.NewReader(""), func() {}
		}
		return f, func() { f.Close() }
	}
}

func endless(head, fill string) func() (io.Reader, func()) {
	return func() (io.Reader, func()) {
		return &repeatReader{head: []byte(head), fill: []byte(strings.Repeat(fill, 4096))}, func() {}
	}
}

// vmSize returns the process's mapped address space.
func vmSize(t *testing.T) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmSize:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmSize in /proc/self/status")
	return 0
}
