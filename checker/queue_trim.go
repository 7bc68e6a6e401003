package checker

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"

	"github.com/faultline/faultline/history"
)

// trimThreshold is the number of records above which an example poll is
// trimmed.
const trimThreshold = 8

// trimWindow is how far from a focus offset a kept record may be.
const trimWindow = 2

// trimMaxNear bounds the records near the focus offsets that one trimmed
// poll keeps (a poll that read one offset many times has many).
const trimMaxNear = 64

// trimRequest asks for a poll trimmed around focus offsets, falling back
// to partition part's ends (see trimPoll).
type trimRequest struct {
	part  int32
	focus []int64
}

// needsTrim reports whether op may have to be trimmed for an example: a
// poll whose value is long enough to hold more than trimThreshold records.
func needsTrim(op *history.Op) bool { return op.F == "poll" && len(op.Value) >= 200 }

// trimPoll returns op for an anomaly's example. A poll with many records
// keeps only the records within trimWindow of a focus offset (at most
// trimMaxNear of them), or, when none is near, the two first and two last
// of partition part; its value says how many it left out in "elided". The
// history keeps the whole op.
func trimPoll(op history.Op, part int32, focus []int64) history.Op {
	out, _ := trimPollFor(op, []trimRequest{{part, focus}}, nil)
	return out[0]
}

// trimPollFor trims op for each of reqs (see trimPoll) in one pass over its
// records, the ones it returns in reqs' order. stop, if not nil, is asked
// now and then whether to give up; then trimPollFor returns false.
func trimPollFor(op history.Op, reqs []trimRequest, stop func() bool) ([]history.Op, bool) {
	out := make([]history.Op, len(reqs))
	for i := range out {
		out[i] = op
	}
	if !needsTrim(&op) {
		return out, true
	}
	v := pollValue{stop: stop}
	switch err := parsePoll(op.Value, &v); {
	case errors.Is(err, errParseStopped):
		return out, false
	case err != nil || v.records <= trimThreshold:
		return out, true
	}
	sink := &trimSink{stop: stop}
	for _, r := range reqs {
		sink.reqs = append(sink.reqs, &trimState{trimRequest: r, kept: map[string][][2]json.RawMessage{}})
	}
	if err := v.eachRecord(op.Value, sink); err != nil {
		return out, false
	}
	mode := ""
	if v.mode != modeUnset {
		mode = v.mode.String()
	}
	var end *int64
	if v.endOffset >= 0 {
		end = &v.endOffset
	}
	for i, st := range sink.reqs {
		kept, n := st.kept, st.near
		if n == 0 {
			recs := slices.Clone(st.first)
			for _, r := range st.last {
				recs = append(recs, trimRecord(r.off, r.value))
			}
			if len(recs) > 0 {
				kept[formatPartition(st.part)] = recs
				n = len(recs)
			}
		}
		trimmed := struct {
			Mode       string                          `json:"mode"`
			Partitions []int32                         `json:"partitions,omitempty"`
			Records    map[string][][2]json.RawMessage `json:"records"`
			EndOffset  *int64                          `json:"end_offset,omitempty"`
			Elided     int                             `json:"elided"`
		}{mode, v.partitions, kept, end, v.records - n}
		if b, err := json.Marshal(trimmed); err == nil {
			out[i].Value = b
		}
	}
	return out, true
}

// trimSink keeps, for each request, the records near its focus and the ends
// of its partition.
type trimSink struct {
	reqs []*trimState
	part int32 // the partition being read
	key  string
	seen int
	stop func() bool
}

// trimState is what one request keeps.
type trimState struct {
	trimRequest
	kept  map[string][][2]json.RawMessage
	near  int                  // records kept in kept
	first [][2]json.RawMessage // the first two of part
	last  []trimLast           // the two after them, or the last two of part, oldest first
}

// trimLast is one of the last records of a partition.
type trimLast struct {
	off   int64
	value []byte
}

func (s *trimSink) group(p int32) bool {
	s.part, s.key = p, formatPartition(p)
	return true
}

func (s *trimSink) record(off int64, value []byte) bool {
	if s.seen++; s.seen&(1<<16-1) == 0 && s.stop != nil && s.stop() {
		return false
	}
	for _, st := range s.reqs {
		if st.near < trimMaxNear && nearFocus(off, st.focus) {
			st.kept[s.key] = append(st.kept[s.key], trimRecord(off, value))
			st.near++
		}
		if s.part != st.part {
			continue
		}
		switch {
		case len(st.first) < 2:
			st.first = append(st.first, trimRecord(off, value))
		case len(st.last) < 2:
			st.last = append(st.last, trimLast{off, slices.Clone(value)})
		default:
			// Reuse the older slot's buffer: no allocation per record.
			old := st.last[0]
			st.last[0] = st.last[1]
			st.last[1] = trimLast{off, append(old.value[:0], value...)}
		}
	}
	return true
}

// nearFocus reports whether off is within trimWindow of a focus offset.
func nearFocus(off int64, focus []int64) bool {
	for _, f := range focus {
		if f >= 0 && off >= f-trimWindow && off <= f+trimWindow {
			return true
		}
	}
	return false
}

// trimRecord renders a record as [offset, "value"] JSON.
func trimRecord(off int64, value []byte) [2]json.RawMessage {
	return [2]json.RawMessage{strconv.AppendInt(nil, off, 10), jsonString(value)}
}

// jsonString renders value as a JSON string.
func jsonString(value []byte) []byte {
	s, err := json.Marshal(string(value))
	if err != nil { // cannot happen for a string
		return []byte(`""`)
	}
	return s
}
