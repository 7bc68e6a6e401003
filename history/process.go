package history

import (
	"bytes"
	"fmt"
	"strconv"
)

// Process identifies who performed an op. Client processes are numbered from
// 0; Nemesis is the fault injector. A client whose op completed as Info is
// retired and continues under a new, unused number.
type Process int

// Nemesis is the process of every fault the nemesis starts or stops. In JSON
// it is the string "nemesis".
const Nemesis Process = -1

const nemesisJSON = `"nemesis"`

// Validate reports whether p is a client process (>= 0) or Nemesis.
func (p Process) Validate() error {
	if p < 0 && p != Nemesis {
		return fmt.Errorf("process %d is invalid: clients are numbered from 0 and the nemesis is %s", int(p), nemesisJSON)
	}
	return nil
}

// IsClient reports whether p is a client process, not the nemesis.
func (p Process) IsClient() bool { return p >= 0 }

// String returns "nemesis" or the process number.
func (p Process) String() string {
	if p == Nemesis {
		return "nemesis"
	}
	return strconv.Itoa(int(p))
}

// MarshalJSON encodes a client process as a number and Nemesis as "nemesis".
func (p Process) MarshalJSON() ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return appendProcess(nil, p), nil
}

// UnmarshalJSON accepts a non-negative integer or the string "nemesis".
func (p *Process) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if string(data) == nemesisJSON {
		*p = Nemesis
		return nil
	}
	if len(data) == 0 || data[0] < '0' || data[0] > '9' {
		return fmt.Errorf("process must be a non-negative integer or %s, not %s", nemesisJSON, truncate(data, 40))
	}
	n, err := strconv.ParseInt(string(data), 10, 32)
	if err != nil {
		return fmt.Errorf("process must be a non-negative integer or %s, not %s", nemesisJSON, truncate(data, 40))
	}
	*p = Process(n)
	return nil
}

func appendProcess(b []byte, p Process) []byte {
	if p == Nemesis {
		return append(b, nemesisJSON...)
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
