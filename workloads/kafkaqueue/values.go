package kafkaqueue

import (
	"encoding/json"
	"slices"
	"strconv"
	"unicode/utf8"
)

// The poll modes recorded in the history (docs/history.md).
const (
	modeAssign    = "assign"
	modeSubscribe = "subscribe"
	modeFinal     = "final"
)

// sendValue is a send's value: {"value":"3-17"} on invocation, with
// "offset" added on ok.
type sendValue struct {
	Value  string `json:"value"`
	Offset *int64 `json:"offset,omitempty"`
}

// pollRequest is a poll's invocation value.
type pollRequest struct {
	Mode       string  `json:"mode"`
	Partitions []int32 `json:"partitions,omitempty"`
}

// record is one record a poll returned.
type record struct {
	Offset int64
	Value  string
}

// encodePoll renders a poll's completion value:
// {"mode":"assign","records":{"0":[[1020,"4-9"]]},"end_offset":12}. Partitions
// appear in ascending order; records in the order the consumer returned
// them. end is omitted when negative.
func encodePoll(mode string, recs map[int32][]record, end int64) json.RawMessage {
	b := make([]byte, 0, 64+len(recs)*32)
	b = append(b, `{"mode":`...)
	b = appendString(b, mode)
	b = append(b, `,"records":{`...)
	parts := make([]int32, 0, len(recs))
	for p := range recs {
		parts = append(parts, p)
	}
	slices.Sort(parts)
	for i, p := range parts {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = strconv.AppendInt(b, int64(p), 10)
		b = append(b, `":[`...)
		for j, r := range recs[p] {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			b = strconv.AppendInt(b, r.Offset, 10)
			b = append(b, ',')
			b = appendString(b, r.Value)
			b = append(b, ']')
		}
		b = append(b, ']')
	}
	b = append(b, '}')
	if end >= 0 {
		b = append(b, `,"end_offset":`...)
		b = strconv.AppendInt(b, end, 10)
	}
	return append(b, '}')
}

// appendString appends s as a JSON string; the workload's own values need
// no escaping, anything else goes through encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			enc, _ := json.Marshal(s) // a Go string always marshals
			return append(b, enc...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own plain structs are marshalled
	}
	return b
}
