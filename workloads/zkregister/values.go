package zkregister

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// The JSON values of the history, as the zk-register checkers read them
// (docs/history.md). Every ok completion carries "zxid": the znode's Mzxid
// that ZooKeeper returned with it, the zxid of the write that made the
// version read or written. Zxids order all writes, across all keys.
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
	// readResult is a read's completion, {"value":v,"version":n,"zxid":z}.
	readResult struct {
		Value   int64 `json:"value"`
		Version int32 `json:"version"`
		Zxid    int64 `json:"zxid"`
	}
	// writeResult is a write's completion.
	writeResult struct {
		Value   int64 `json:"value"`
		Version int32 `json:"version"`
		Zxid    int64 `json:"zxid"`
	}
	// casResult is a cas's completion.
	casResult struct {
		ExpectedVersion int32 `json:"expected_version"`
		Value           int64 `json:"value"`
		Version         int32 `json:"version"`
		Zxid            int64 `json:"zxid"`
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
