package history

import "time"

// Clock returns the current time in nanoseconds since the test's start. It
// must be monotonic and safe for concurrent use.
type Clock func() int64

// ClockSince returns a Clock counting from start, which should come from
// time.Now so that the monotonic reading is used.
func ClockSince(start time.Time) Clock {
	return func() int64 { return int64(time.Since(start)) }
}
