package history

import (
	"bytes"
	"fmt"
	"strconv"
)

// Process identifies who performed an op. Client processes are numbered from
// 0; Nemesis is the fault injector and Observer the leadership observer. A
// client whose op completed as Info is retired and continues under a new,
// unused number; Nemesis and Observer are never retired.
type Process int

// The special processes, which are not clients: each invokes one op at a
// time and completes it, like a client, but is never retired.
const (
	// Nemesis is the process of every fault the nemesis starts or
	// stops. In JSON it is the string "nemesis".
	Nemesis Process = -1
	// Observer is the process of the leadership observer, which asks
	// each node, about once a second, what it believes (its ZooKeeper
	// mode, a broker's view of the controller and of partition leaders).
	// In JSON it is the string "observer".
	Observer Process = -2
)

const (
	nemesisJSON  = `"nemesis"`
	observerJSON = `"observer"`
)

// processWant says what a process may be, for error messages.
const processWant = `a non-negative integer, "nemesis" or "observer"`

// Validate reports whether p is a client process (>= 0), Nemesis or
// Observer.
func (p Process) Validate() error {
	if p < 0 && p != Nemesis && p != Observer {
		return fmt.Errorf("process %d is invalid: clients are numbered from 0, the nemesis is %s and the observer %s", int(p), nemesisJSON, observerJSON)
	}
	return nil
}

// IsClient reports whether p is a client process, not the nemesis or the
// observer.
func (p Process) IsClient() bool { return p >= 0 }

// String returns "nemesis", "observer" or the process number.
func (p Process) String() string {
	switch p {
	case Nemesis:
		return "nemesis"
	case Observer:
		return "observer"
	}
	return strconv.Itoa(int(p))
}

// MarshalJSON encodes a client process as a number, Nemesis as "nemesis"
// and Observer as "observer".
func (p Process) MarshalJSON() ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return appendProcess(nil, p), nil
}

// UnmarshalJSON accepts a non-negative integer, "nemesis" or "observer".
func (p *Process) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] >= '0' && data[0] <= '9' {
		n, err := strconv.ParseInt(string(data), 10, 32)
		if err != nil {
			return fmt.Errorf("process must be %s, not %s", processWant, truncate(data, 40))
		}
		*p = Process(n)
		return nil
	}
	switch string(data) {
	case nemesisJSON:
		*p = Nemesis
	case observerJSON:
		*p = Observer
	default:
		return fmt.Errorf("process must be %s, not %s", processWant, truncate(data, 40))
	}
	return nil
}

func appendProcess(b []byte, p Process) []byte {
	switch p {
	case Nemesis:
		return append(b, nemesisJSON...)
	case Observer:
		return append(b, observerJSON...)
	}
	return strconv.AppendInt(b, int64(p), 10)
}

// truncate shortens b for an error message.
func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "..."
}
