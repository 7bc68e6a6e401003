package history

import "fmt"

// Type says whether an op is an invocation or how it completed.
type Type string

// The op types. A completion is OK, Fail or Info.
const (
	// Invoke starts an operation.
	Invoke Type = "invoke"
	// OK completes an operation that happened.
	OK Type = "ok"
	// Fail completes an operation that certainly did not happen.
	Fail Type = "fail"
	// Info completes an operation whose outcome is unknown: it may have
	// happened, at any time after its invocation, or not at all.
	Info Type = "info"
)

// Validate reports whether t is one of the four op types.
func (t Type) Validate() error {
	switch t {
	case Invoke, OK, Fail, Info:
		return nil
	}
	return fmt.Errorf("unknown type %q (want invoke, ok, fail or info)", string(t))
}

// IsCompletion reports whether t completes an invocation (OK, Fail or Info).
func (t Type) IsCompletion() bool {
	return t == OK || t == Fail || t == Info
}
