package zkregister

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// The JSON values of the history, as checker.Linearizable reads them.
type (
	// writeValue is a write's invocation: {"value":v}.
	writeValue struct {
		Value int64 `json:"value"`
	}
	// casValue is a cas's invocation: {"expected_version":e,"value":v}.
	casValue struct {
		ExpectedVersion int32 `json:"expected_version"`
		Value           int64 `json:"value"`
	}
	// readResult is a read's completion, {"value":v,"version":n}.
	readResult struct {
		Value   int64 `json:"value"`
		Version int32 `json:"version"`
	}
	// writeResult is a write's completion.
	writeResult struct {
		Value   int64 `json:"value"`
		Version int32 `json:"version"`
	}
	// casResult is a cas's completion.
	casResult struct {
		ExpectedVersion int32 `json:"expected_version"`
		Value           int64 `json:"value"`
		Version         int32 `json:"version"`
	}
)

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("marshal %T: %v", v, err)) // plain structs of numbers always marshal
	}
	return b
}

// A register's znode holds its value as decimal text.
func encodeData(v int64) []byte { return strconv.AppendInt(nil, v, 10) }

func decodeData(b []byte) (int64, error) {
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("znode holds %q, not a number", truncate(b))
	}
	return v, nil
}

func truncate(b []byte) string {
	if len(b) > 32 {
		return string(b[:32]) + "..."
	}
	return string(b)
}
