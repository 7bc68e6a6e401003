package checker

import (
	"context"
	"time"

	"github.com/faultline/faultline/history"
)

// A Checker checks one aspect of a history.
type Checker interface {
	// Name names the checker in results, e.g. "linearizable".
	Name() string
	// Check checks ops, a whole history in index order as history.Read
	// returns it. It never panics on a malformed history: it returns an
	// Unknown result whose Error says what is wrong. When ctx is done or
	// opts.Timeout passes, it stops and returns Unknown, never Valid.
	Check(ctx context.Context, ops []history.Op, opts Options) Result
}

// Options are what every checker may use.
type Options struct {
	// Timeout bounds the check; zero means no bound but ctx's.
	Timeout time.Duration
}

// All returns a Checker that runs each of checkers in turn on the same history
// and composes their results (see Compose).
func All(checkers ...Checker) Checker { return all(checkers) }

type all []Checker

func (all) Name() string { return "compose" }

// Check runs the checkers one after the other within one deadline:
// Options.Timeout bounds them all, not each.
func (a all) Check(ctx context.Context, ops []history.Op, opts Options) Result {
	var deadline time.Time
	if opts.Timeout > 0 {
		deadline = time.Now().Add(opts.Timeout)
	}
	results := make([]Result, len(a))
	for i, c := range a {
		o := opts
		if !deadline.IsZero() {
			// What is left, and never zero (which would mean no bound):
			// a checker given a moment gives up at once, unknown.
			o.Timeout = max(time.Until(deadline), time.Nanosecond)
		}
		results[i] = c.Check(ctx, ops, o)
	}
	return Compose(results...)
}
