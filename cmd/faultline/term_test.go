package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/runner"
)

// TestTerminalKeepsLogLinesOffTheProgressLine: on a terminal a log line
// clears the progress line, takes a line of its own, and the progress
// line is drawn again under it; "done" ends the progress line.
func TestTerminalKeepsLogLinesOffTheProgressLine(t *testing.T) {
	var b bytes.Buffer
	term := &terminal{w: &b, tty: true, last: -1}
	log := slog.New(slog.NewTextHandler(term, nil))
	p := runner.Progress{Phase: "run", Elapsed: 3 * time.Second, Limit: 10 * time.Second, OK: 30}
	term.progress(p)
	log.Info("nemesis", "f", "start-kill")
	p.Elapsed, p.OK = 4*time.Second, 40
	term.progress(p)
	p.Phase = "done"
	term.progress(p)
	log.Info("after")
	// What the screen shows: carriage returns and erases applied.
	var screen []string
	for _, line := range strings.Split(b.String(), "\n") {
		parts := strings.Split(line, "\r\033[K")
		screen = append(screen, parts[len(parts)-1])
	}
	if len(screen) != 4 || !strings.Contains(screen[0], "msg=nemesis") || !strings.Contains(screen[1], "done") ||
		!strings.Contains(screen[2], "msg=after") || screen[3] != "" {
		t.Errorf("screen:\n%q", screen)
	}
	if !strings.Contains(b.String(), "ops/s\r\033[Ktime=") {
		t.Errorf("the progress line is not cleared before the log line:\n%q", b.String())
	}
	// The progress line drawn again after the log line.
	if !strings.Contains(b.String(), "msg=nemesis f=start-kill\n[  3.0s/10s] run") {
		t.Errorf("the progress line is not redrawn under the log line:\n%q", b.String())
	}
}

// TestTerminalElsewhere: not on a terminal, progress is a line every ten
// seconds or at a new phase, and log lines are whole lines.
func TestTerminalElsewhere(t *testing.T) {
	var b bytes.Buffer
	term := newTerminal(&b)
	for s := 0; s <= 25; s++ {
		term.progress(runner.Progress{Phase: "run", Elapsed: time.Duration(s) * time.Second, Limit: 25 * time.Second})
		if s == 12 {
			fmt.Fprintln(term, "a log line")
		}
	}
	term.progress(runner.Progress{Phase: "checking", Elapsed: 25 * time.Second, Limit: 25 * time.Second})
	got := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(got) != 5 || got[2] != "a log line" || strings.Contains(b.String(), "\r") {
		t.Errorf("output:\n%s", b.String())
	}
}
