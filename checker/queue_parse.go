package checker

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// This file decodes the values of kafka-queue ops (docs/history.md). Decoding
// is most of the queue checker's work, so the shapes the workload writes go
// through a small scanner that allocates nothing; anything it does not
// understand (escapes in strings, unknown fields, a malformed value) goes
// through encoding/json, which decides what the value means and says what is
// wrong with it. Both paths give the same result for every value the scanner
// accepts.

// queueMode is how a poll reads.
type queueMode uint8

const (
	modeUnset queueMode = iota // the value did not say
	modeAssign
	modeSubscribe
	modeFinal
)

// String returns the mode as the history writes it.
func (m queueMode) String() string {
	switch m {
	case modeAssign:
		return "assign"
	case modeSubscribe:
		return "subscribe"
	case modeFinal:
		return "final"
	}
	return "unset"
}

// ordered reports whether a reader in mode m must read each partition in
// order with nothing skipped.
func (m queueMode) ordered() bool { return m == modeAssign || m == modeFinal }

// parseMode maps a mode's name to its queueMode.
func parseMode(b []byte) (queueMode, bool) {
	switch string(b) {
	case "assign":
		return modeAssign, true
	case "subscribe":
		return modeSubscribe, true
	case "final":
		return modeFinal, true
	}
	return modeUnset, false
}

// sendValue is a send's value: {"value":"3-17"}, and on an ok completion
// {"value":"3-17","offset":1021}.
type sendValue struct {
	value     []byte // the record's value; may alias the op's JSON
	hasValue  bool
	offset    int64
	hasOffset bool
}

// pollValue is a poll's value: {"mode":"assign","partitions":[0,1]} on
// invocation, {"mode":"assign","records":{"0":[[7,"1-2"]]}} on completion,
// with "end_offset" on the last poll of a complete final read. Its slices are
// buffers reused from one op to the next.
type pollValue struct {
	mode       queueMode
	partitions []int32       // the partitions to read
	groups     []recordGroup // the records read, per partition
	records    []record
	endOffset  int64 // -1 when absent
}

// recordGroup is the records a poll read from one partition:
// pollValue.records[start:end].
type recordGroup struct {
	partition  int32
	start, end int
}

// record is one [offset, value] pair a poll read.
type record struct {
	offset int64
	value  []byte // may alias the op's JSON
}

// reset empties v, keeping its buffers.
func (v *pollValue) reset() {
	*v = pollValue{partitions: v.partitions[:0], groups: v.groups[:0], records: v.records[:0], endOffset: -1}
}

// parseSend decodes a send's value into v.
func parseSend(b []byte, v *sendValue) error {
	*v = sendValue{}
	if scanSend(b, v) {
		return nil
	}
	return decodeSend(b, v)
}

// decodeSend is parseSend with encoding/json: it decides what a value means.
func decodeSend(b []byte, v *sendValue) error {
	*v = sendValue{}
	var w struct {
		Value  *string `json:"value"`
		Offset *int64  `json:"offset"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if w.Value != nil {
		v.value, v.hasValue = []byte(*w.Value), true
	}
	if w.Offset != nil {
		if *w.Offset < 0 {
			return fmt.Errorf("negative offset %d", *w.Offset)
		}
		v.offset, v.hasOffset = *w.Offset, true
	}
	return nil
}

// parsePoll decodes a poll's value into v.
func parsePoll(b []byte, v *pollValue) error {
	v.reset()
	if scanPoll(b, v) {
		return nil
	}
	return decodePoll(b, v)
}

// decodePoll is parsePoll with encoding/json: it decides what a value means.
func decodePoll(b []byte, v *pollValue) error {
	v.reset()
	var w struct {
		Mode       *string                        `json:"mode"`
		Partitions []*int64                       `json:"partitions"`
		Records    map[string][][]json.RawMessage `json:"records"`
		EndOffset  *int64                         `json:"end_offset"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if w.Mode != nil {
		m, ok := parseMode([]byte(*w.Mode))
		if !ok {
			return fmt.Errorf("unknown mode %q (want assign, subscribe or final)", *w.Mode)
		}
		v.mode = m
	}
	for _, p := range w.Partitions {
		if p == nil || *p < 0 || *p > math.MaxInt32 {
			return errors.New(`"partitions" must list partition numbers`)
		}
		v.partitions = append(v.partitions, int32(*p))
	}
	if w.EndOffset != nil {
		if *w.EndOffset < 0 {
			return fmt.Errorf("negative end_offset %d", *w.EndOffset)
		}
		v.endOffset = *w.EndOffset
	}
	for key, pairs := range w.Records {
		p, ok := parsePartition([]byte(key))
		if !ok {
			return fmt.Errorf("records key %q is not a partition number", key)
		}
		g := recordGroup{partition: p, start: len(v.records)}
		for _, pair := range pairs {
			var off *int64
			var val *string
			if len(pair) != 2 || json.Unmarshal(pair[0], &off) != nil || json.Unmarshal(pair[1], &val) != nil ||
				off == nil || val == nil {
				return fmt.Errorf("partition %d: a record must be [offset, \"value\"]", p)
			}
			if *off < 0 {
				return fmt.Errorf("partition %d: negative offset %d", p, *off)
			}
			v.records = append(v.records, record{offset: *off, value: []byte(*val)})
		}
		g.end = len(v.records)
		v.groups = append(v.groups, g)
	}
	slices.SortFunc(v.groups, func(a, b recordGroup) int { return int(a.partition) - int(b.partition) })
	return nil
}

// parsePartition parses a partition number written in decimal with no sign
// and no leading zeros, as send keys and records keys are.
func parsePartition(b []byte) (int32, bool) {
	n, ok := decimal(b)
	return int32(n), ok
}

// formatPartition renders a partition as a send key does.
func formatPartition(p int32) string { return strconv.Itoa(int(p)) }

// scanSend is parseSend's fast path: it reports false for anything but the
// plain shapes the workload writes, leaving the value to encoding/json.
func scanSend(b []byte, v *sendValue) bool {
	s := jsonScanner{b: b}
	if !s.consume('{') {
		return false
	}
	if s.consume('}') {
		return s.atEnd()
	}
	for {
		key, ok := s.plainString()
		if !ok || !s.consume(':') {
			return false
		}
		switch string(key) {
		case "value":
			if v.hasValue {
				return false
			}
			if v.value, ok = s.plainString(); !ok {
				return false
			}
			v.hasValue = true
		case "offset":
			if v.hasOffset {
				return false
			}
			if v.offset, ok = s.natural(math.MaxInt64); !ok {
				return false
			}
			v.hasOffset = true
		default:
			return false
		}
		if !s.consume(',') {
			return s.consume('}') && s.atEnd()
		}
	}
}

// scanPoll is parsePoll's fast path; see scanSend.
func scanPoll(b []byte, v *pollValue) bool {
	s := jsonScanner{b: b}
	if !s.consume('{') {
		return false
	}
	if s.consume('}') {
		return s.atEnd()
	}
	var seen [4]bool // mode, partitions, records, end_offset
	for {
		key, ok := s.plainString()
		if !ok || !s.consume(':') {
			return false
		}
		field := -1
		switch string(key) {
		case "mode":
			field = 0
		case "partitions":
			field = 1
		case "records":
			field = 2
		case "end_offset":
			field = 3
		}
		if field < 0 || seen[field] {
			return false
		}
		seen[field] = true
		switch field {
		case 0:
			name, ok := s.plainString()
			if !ok {
				return false
			}
			if v.mode, ok = parseMode(name); !ok {
				return false
			}
		case 1:
			if !s.scanPartitions(v) {
				return false
			}
		case 2:
			if !s.scanRecords(v) {
				return false
			}
		case 3:
			if v.endOffset, ok = s.natural(math.MaxInt64); !ok {
				return false
			}
		}
		if !s.consume(',') {
			return s.consume('}') && s.atEnd()
		}
	}
}

// scanPartitions reads [0,1,2].
func (s *jsonScanner) scanPartitions(v *pollValue) bool {
	if !s.consume('[') {
		return false
	}
	if s.consume(']') {
		return true
	}
	for {
		p, ok := s.natural(math.MaxInt32)
		if !ok {
			return false
		}
		v.partitions = append(v.partitions, int32(p))
		if !s.consume(',') {
			return s.consume(']')
		}
	}
}

// scanRecords reads {"0":[[1020,"4-9"],[1021,"3-17"]],"2":[[7,"1-2"]]}.
func (s *jsonScanner) scanRecords(v *pollValue) bool {
	if !s.consume('{') {
		return false
	}
	if s.consume('}') {
		return true
	}
	for {
		key, ok := s.plainString()
		if !ok || !s.consume(':') || !s.consume('[') {
			return false
		}
		p, ok := parsePartition(key)
		if !ok {
			return false
		}
		for _, g := range v.groups {
			if g.partition == p { // a repeated key: encoding/json keeps the last
				return false
			}
		}
		g := recordGroup{partition: p, start: len(v.records)}
		if !s.consume(']') {
			for {
				if !s.consume('[') {
					return false
				}
				off, ok := s.natural(math.MaxInt64)
				if !ok || !s.consume(',') {
					return false
				}
				val, ok := s.plainString()
				if !ok || !s.consume(']') {
					return false
				}
				v.records = append(v.records, record{offset: off, value: val})
				if !s.consume(',') {
					if !s.consume(']') {
						return false
					}
					break
				}
			}
		}
		g.end = len(v.records)
		v.groups = append(v.groups, g)
		if !s.consume(',') {
			return s.consume('}')
		}
	}
}

// jsonScanner reads the few JSON forms the fast paths accept. Each method
// skips white space first and reports false on anything else.
type jsonScanner struct {
	b []byte
	i int
}

func (s *jsonScanner) skipSpace() {
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c > ' ':
			return
		case c == ' ', c == '\t', c == '\n', c == '\r':
			s.i++
		default:
			return
		}
	}
}

// consume reads the byte c.
func (s *jsonScanner) consume(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	s.skipSpace()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// atEnd reports whether only white space is left.
func (s *jsonScanner) atEnd() bool {
	s.skipSpace()
	return s.i == len(s.b)
}

// plainString reads a string of printable ASCII with no escapes and returns
// its bytes, which are then exactly the string's value.
func (s *jsonScanner) plainString() ([]byte, bool) {
	if !s.consume('"') {
		return nil, false
	}
	start := s.i
	for ; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			return s.b[start : s.i-1], true
		case c < 0x20 || c == '\\' || c >= 0x80:
			return nil, false
		}
	}
	return nil, false
}

// natural reads a non-negative integer no larger than limit, written as
// JSON writes integers (no leading zeros, no fraction, no exponent).
func (s *jsonScanner) natural(limit int64) (int64, bool) {
	s.skipSpace()
	start := s.i
	var n int64
	for ; s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9'; s.i++ {
		d := int64(s.b[s.i] - '0')
		if n > (limit-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	switch {
	case s.i == start, s.b[start] == '0' && s.i-start > 1:
		return 0, false
	case s.i < len(s.b) && (s.b[s.i] == '.' || s.b[s.i] == 'e' || s.b[s.i] == 'E'):
		return 0, false
	}
	return n, true
}
