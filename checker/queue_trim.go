package checker

import (
	"encoding/json"
	"strconv"

	"github.com/faultline/faultline/history"
)

// trimThreshold is the number of records above which an example poll is
// trimmed.
const trimThreshold = 8

// trimWindow is how far from a focus offset a kept record may be.
const trimWindow = 2

// trimPoll returns op for an anomaly's example. A poll with many records
// keeps only the records within trimWindow of a focus offset, or, when none
// is near, the two lowest and two highest of partition part; its value says
// how many it left out in "elided". The history keeps the whole op.
func trimPoll(op history.Op, part int32, focus []int64) history.Op {
	if op.F != "poll" || len(op.Value) < 200 {
		return op
	}
	var v struct {
		Mode       string                          `json:"mode"`
		Partitions []int32                         `json:"partitions,omitempty"`
		Records    map[string][][2]json.RawMessage `json:"records"`
		EndOffset  *int64                          `json:"end_offset,omitempty"`
	}
	if err := json.Unmarshal(op.Value, &v); err != nil {
		return op
	}
	total := 0
	for _, rs := range v.Records {
		total += len(rs)
	}
	if total <= trimThreshold {
		return op
	}
	near := func(off int64) bool {
		for _, f := range focus {
			if f >= 0 && off >= f-trimWindow && off <= f+trimWindow {
				return true
			}
		}
		return false
	}
	kept := map[string][][2]json.RawMessage{}
	n := 0
	for p, rs := range v.Records {
		for _, r := range rs {
			if off, err := strconv.ParseInt(string(r[0]), 10, 64); err == nil && near(off) {
				kept[p] = append(kept[p], r)
				n++
			}
		}
	}
	if n == 0 {
		rs := v.Records[strconv.Itoa(int(part))]
		if len(rs) > 4 {
			rs = append(rs[:2:2], rs[len(rs)-2:]...)
		}
		if len(rs) > 0 {
			kept[strconv.Itoa(int(part))] = rs
			n = len(rs)
		}
	}
	out := struct {
		Mode       string                          `json:"mode"`
		Partitions []int32                         `json:"partitions,omitempty"`
		Records    map[string][][2]json.RawMessage `json:"records"`
		EndOffset  *int64                          `json:"end_offset,omitempty"`
		Elided     int                             `json:"elided"`
	}{v.Mode, v.Partitions, kept, v.EndOffset, total - n}
	b, err := json.Marshal(out)
	if err != nil {
		return op
	}
	op.Value = b
	return op
}
