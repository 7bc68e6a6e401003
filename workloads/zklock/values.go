package zklock

import (
	"encoding/json"
	"fmt"
)

// The JSON values of the history, as docs/history.md ("The zk-lock
// workload") gives them and checker.Lock reads them. Tokens and zxids are
// JSON integers; sessions are ZooKeeper's session ids in hex ("0x1a2b").
type (
	// acquireValue is an acquire's invocation: the client's kind and the
	// session the acquire runs in, when it has one yet.
	acquireValue struct {
		Client  ClientKind `json:"client"`
		Session string     `json:"session,omitempty"`
	}
	// heldValue is an ok acquire's completion: the lock is held.
	heldValue struct {
		Token   int64  `json:"token"`
		Node    string `json:"node"`
		Session string `json:"session"`
	}
	// tokenValue is a release's invocation (and completion).
	tokenValue struct {
		Token int64 `json:"token"`
	}
	// loseValue is a lose op's invocation and completion.
	loseValue struct {
		Token int64  `json:"token"`
		Why   string `json:"why"`
	}
	// writeValue is a write's invocation; resourceData is what the
	// resource znode holds, the same fields.
	writeValue struct {
		Token int64 `json:"token"`
		Value int64 `json:"value"`
	}
	// writtenValue is an ok write's completion: zxid is the resource's
	// write's, which orders the resource's writes.
	writtenValue struct {
		Token int64 `json:"token"`
		Value int64 `json:"value"`
		Zxid  int64 `json:"zxid"`
	}
	// locksValue is the final locks read's invocation: the session
	// timeout the clients asked for.
	locksValue struct {
		SessionTimeoutMS int64 `json:"session_timeout_ms"`
	}
	// lockNode is a lock node the final read found, with its session.
	lockNode struct {
		Node    string `json:"node"`
		Session string `json:"session"`
	}
)

// The two reasons a careful client stops believing it holds a lock, a
// lose op's "why".
const (
	whyDisconnected = "disconnected"
	whyExpired      = "expired"
)

// sessionHex names a session as the history does.
func sessionHex(id int64) string { return fmt.Sprintf("0x%x", id) }

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("marshal %T: %v", v, err)) // plain structs of numbers and strings always marshal
	}
	return b
}
