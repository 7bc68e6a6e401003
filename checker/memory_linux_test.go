//go:build linux

package checker

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestQueueUnderAddressLimit checks a history that does not fit: a child
// process makes a history whose final read is one poll of 8 million
// records, then caps its address space (RLIMIT_AS) 256 MiB above what it
// has mapped, less than checking the poll needs (some 450 MiB). The check must end with
// the one-line out-of-memory error, not the runtime's "fatal error: out of
// memory" and a goroutine dump.
func TestQueueUnderAddressLimit(t *testing.T) {
	if os.Getenv("FAULTLINE_QUEUE_OOM_CHILD") == "1" {
		queueUnderAddressLimit(t)
		return
	}
	if testing.Short() {
		t.Skip("builds a history of 8 million records")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestQueueUnderAddressLimit$", "-test.v")
	cmd.Env = append(os.Environ(), "FAULTLINE_QUEUE_OOM_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil || bytes.Contains(out, []byte("fatal error")) {
		t.Fatalf("the child failed (%v):\n%s", err, tailOf(out, 2000))
	}
	if !bytes.Contains(out, []byte("RESULT: out of memory: the check stopped after reading ")) {
		t.Fatalf("the child did not report running out of memory:\n%s", tailOf(out, 2000))
	}
	t.Logf("%s", out)
}

func tailOf(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func queueUnderAddressLimit(t *testing.T) {
	ops := hugePoll(8_000_000, false)
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Fatal(err)
	}
	pages, _ := strconv.ParseUint(strings.Fields(string(b))[0], 10, 64)
	limit := pages*uint64(os.Getpagesize()) + 256<<20
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: limit, Max: limit}); err != nil {
		t.Fatalf("cap the address space: %v", err)
	}
	res := Queue{}.Check(context.Background(), ops, Options{})
	fmt.Printf("RESULT: %s (valid %v)\n", res.Error, res.Valid)
}
