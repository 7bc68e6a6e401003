package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/faultline/faultline/runner"
)

// terminal is a run's standard error: the log's lines and the progress
// line share it without mixing. On a terminal the progress line is
// redrawn in place, and a log line is written above it (the progress line
// is cleared, the log line written, the progress line drawn again);
// elsewhere each progress report is a line of its own, every ten
// seconds or when the phase changes.
type terminal struct {
	mu   sync.Mutex
	w    io.Writer
	tty  bool
	line string // the progress line on the screen, "" when none

	last      time.Duration // non-terminals: the last progress printed
	lastPhase string
}

func newTerminal(w io.Writer) *terminal { return &terminal{w: w, tty: isTerminal(w), last: -1} }

// Write writes a log line above the progress line.
func (t *terminal) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tty && t.line != "" {
		io.WriteString(t.w, "\r\033[K")
	}
	n, err := t.w.Write(p)
	if t.tty && t.line != "" {
		io.WriteString(t.w, t.line)
	}
	return n, err
}

// progress shows a progress report; "done" ends the line.
func (t *terminal) progress(p runner.Progress) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tty {
		s := p.String()
		if p.Phase == "done" {
			fmt.Fprintf(t.w, "\r\033[K%s\n", s)
			t.line = ""
			return
		}
		fmt.Fprintf(t.w, "\r\033[K%s", s)
		t.line = s
		return
	}
	if p.Phase != t.lastPhase || t.last < 0 || p.Elapsed-t.last >= 10*time.Second {
		fmt.Fprintln(t.w, p)
		t.last, t.lastPhase = p.Elapsed, p.Phase
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
