package runner

import (
	"fmt"
	"time"
)

// Progress is the state of a running test, reported about once a second.
type Progress struct {
	Phase   string        // "run" while the workload runs, then "final reads", "check"
	Elapsed time.Duration // since the workload started
	Limit   time.Duration
	OK      int64
	Fail    int64
	Info    int64
}

// OpsPerSecond is the completion rate so far.
func (p Progress) OpsPerSecond() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.OK+p.Fail+p.Info) / p.Elapsed.Seconds()
}

// String renders the one-line progress.
func (p Progress) String() string {
	return fmt.Sprintf("[%5.1fs/%.0fs] %-11s ok %d  fail %d  info %d  %.0f ops/s",
		p.Elapsed.Seconds(), p.Limit.Seconds(), p.Phase, p.OK, p.Fail, p.Info, p.OpsPerSecond())
}

// ProgressSink receives progress reports.
type ProgressSink func(Progress)
