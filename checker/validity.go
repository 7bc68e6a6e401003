package checker

import (
	"bytes"
	"fmt"
)

// Validity is a checker's verdict: Valid, Invalid or Unknown. The zero value
// is Unknown, so a verdict nobody set never reads as valid.
//
// In JSON it is true, false or "unknown", like Jepsen's :valid?.
type Validity int8

// The verdicts.
const (
	// Unknown means the checker could not decide, e.g. it timed out.
	Unknown Validity = iota
	// Valid means the checker found no anomaly.
	Valid
	// Invalid means the checker found at least one anomaly.
	Invalid
)

// String returns "true", "false" or "unknown".
func (v Validity) String() string {
	switch v {
	case Valid:
		return "true"
	case Invalid:
		return "false"
	}
	return "unknown"
}

// Merge combines verdicts like Jepsen's compose: Invalid if any is Invalid,
// else Unknown if any is Unknown, else Valid. Merging nothing is Valid.
func Merge(vs ...Validity) Validity {
	out := Valid
	for _, v := range vs {
		switch {
		case v == Invalid:
			return Invalid
		case v != Valid:
			out = Unknown
		}
	}
	return out
}

// MarshalJSON encodes Valid as true, Invalid as false and Unknown as "unknown".
func (v Validity) MarshalJSON() ([]byte, error) {
	switch v {
	case Valid:
		return []byte("true"), nil
	case Invalid:
		return []byte("false"), nil
	}
	return []byte(`"unknown"`), nil
}

// UnmarshalJSON accepts true, false and "unknown".
func (v *Validity) UnmarshalJSON(data []byte) error {
	switch string(bytes.TrimSpace(data)) {
	case "true":
		*v = Valid
	case "false":
		*v = Invalid
	case `"unknown"`:
		*v = Unknown
	default:
		return fmt.Errorf("validity must be true, false or \"unknown\", not %s", data)
	}
	return nil
}
