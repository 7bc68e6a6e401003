package checker

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
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
//
// A poll's records are never gathered: a poll may hold millions of them (a
// final read in one poll), so parsePoll only checks them, and eachRecord then
// hands them one at a time to a recordSink, reading them again from the op's
// JSON. Either way the memory a poll takes does not grow with its records:
// the scanner's record values are slices of the op's JSON, and encoding/json
// decodes one record at a time.

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
// with "end_offset" on the last poll of a complete final read. parsePoll
// fills in all but the records, which eachRecord hands out. Its slices are
// buffers reused from one op to the next.
type pollValue struct {
	mode       queueMode
	partitions []int32 // the partitions to read
	endOffset  int64   // -1 when absent
	records    int     // how many records the value holds

	fast      bool               // the scanner read the value
	recs      []record           // the scanner: the records, while there are at most maxBuffered
	recGroups []recordGroup      // and how they group by partition
	spilled   bool               // the scanner: there were more: read them again
	rescan    *pollValue         // the scanner's buffers for reading them again
	keys      []int32            // the scanner: records keys seen, to refuse a repeat
	keySet    map[int32]struct{} // the same, once there are many
	rawGroups []rawGroup         // encoding/json: each partition's records, by partition
	pair      []json.RawMessage  // encoding/json: one record
	winners   map[int32][]byte   // encoding/json: the last records given per partition, while reading

	// stop, if not nil, is asked every stopEvery records whether to give
	// up; then parsePoll returns errParseStopped. reset keeps it.
	stop func() bool
}

// rawGroup is the JSON of one partition's records, [[offset,"value"],...] or
// null: a slice of the poll's value.
type rawGroup struct {
	partition int32
	raw       []byte
}

// maxBuffered is how many records of a poll the scanner keeps, to hand them
// out without reading the value again: most polls hold a few.
const maxBuffered = 4096

// recordGroup is the records the scanner kept of one partition:
// pollValue.recs[start:end].
type recordGroup struct {
	partition  int32
	start, end int
}

// record is one [offset, value] pair a poll read.
type record struct {
	offset int64
	value  []byte // a slice of the op's JSON
	// The value as workloadValue reads it, read by the scanner for the
	// records it keeps (pollValue.recs).
	proc, seq int32
	workload  bool
}

// recordSink takes a poll's records from eachRecord, partition by
// partition, in the order the value lists them (by partition number when
// encoding/json read it). Either method returns false to stop.
type recordSink interface {
	// group starts partition p's records (there may be none).
	group(p int32) bool
	// record is one record of the current partition; value may be a slice
	// of the op's JSON, valid until the next call.
	record(offset int64, value []byte) bool
}

// readRecordSink is a recordSink that takes the records the scanner kept
// as they are, their values read as workloadValue does (record.proc, seq
// and workload), rather than read them again.
type readRecordSink interface {
	recordSink
	readRecord(r *record) bool
}

// errParseStopped is the error of parsePoll when pollValue.stop stopped it,
// and of eachRecord when the sink did.
var errParseStopped = errors.New("stopped before the value was read")

// stopEvery is how many records parsing a poll reads between two looks at
// pollValue.stop, slowStopEvery when encoding/json reads them (some 30
// times slower): a poll of millions of records is stopped within a fraction
// of a second.
const (
	stopEvery     = 1 << 16
	slowStopEvery = 1 << 12
)

// reset empties v, keeping its buffers.
func (v *pollValue) reset() {
	clear(v.keySet)
	clear(v.recs) // let go of the last op's JSON
	*v = pollValue{partitions: v.partitions[:0], endOffset: -1, recs: v.recs[:0], recGroups: v.recGroups[:0],
		rescan: v.rescan, keys: v.keys[:0], keySet: v.keySet, rawGroups: v.rawGroups[:0], pair: v.pair[:0],
		winners: v.winners, stop: v.stop}
}

// newKey notes records key p and reports whether it is new. It looks
// through the first 32 keys and puts any more in a set.
func (v *pollValue) newKey(p int32) bool {
	if len(v.keys) < 32 {
		if slices.Contains(v.keys, p) {
			return false
		}
		v.keys = append(v.keys, p)
		return true
	}
	if len(v.keySet) == 0 {
		if v.keySet == nil {
			v.keySet = map[int32]struct{}{}
		}
		for _, k := range v.keys {
			v.keySet[k] = struct{}{}
		}
	}
	if _, ok := v.keySet[p]; ok {
		return false
	}
	v.keySet[p] = struct{}{}
	return true
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

// parsePoll decodes a poll's value into v and checks its records, which
// eachRecord then hands out.
func parsePoll(b []byte, v *pollValue) error {
	v.reset()
	s := jsonScanner{b: b}
	if s.scanPollValue(v, nil) {
		v.fast = true
		return nil
	}
	if s.stopped {
		return errParseStopped
	}
	return decodePoll(b, v)
}

// stopNow reports, every stopEvery records read, whether v.stop says to
// give up.
func (v *pollValue) stopNow() bool {
	return v.records&(stopEvery-1) == 0 && v.stop != nil && v.stop()
}

// eachRecord hands the records of b, which parsePoll(b, v) accepted, to sink.
// It returns errParseStopped if the sink stopped it.
func (v *pollValue) eachRecord(b []byte, sink recordSink) error {
	if v.fast && !v.spilled {
		read, _ := sink.(readRecordSink)
		for _, g := range v.recGroups {
			if !sink.group(g.partition) {
				return errParseStopped
			}
			for i := range v.recs[g.start:g.end] {
				r := &v.recs[g.start+i]
				if read != nil && !read.readRecord(r) || read == nil && !sink.record(r.offset, r.value) {
					return errParseStopped
				}
			}
		}
		return nil
	}
	if v.fast {
		if v.rescan == nil {
			v.rescan = new(pollValue)
		}
		w := v.rescan
		w.reset()
		defer w.reset()
		s := jsonScanner{b: b}
		if !s.scanPollValue(w, sink) {
			if s.stopped {
				return errParseStopped
			}
			return errors.New("the scanner failed on a value it had accepted") // cannot happen
		}
		return nil
	}
	for _, g := range v.rawGroups {
		if err := v.decodeGroup(g, sink); err != nil {
			return err
		}
	}
	return nil
}

// recordsRaw keeps the "records" of a poll's value as JSON, slices of the
// value. encoding/json matches a key to a field whatever its case and
// decodes a repeated one again, into the same map: so each "records" it
// finds is kept, and a null one empties the map.
type recordsRaw [][]byte

// UnmarshalJSON keeps b.
func (r *recordsRaw) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*r = (*r)[:0]
		return nil
	}
	*r = append(*r, b)
	return nil
}

// decodePoll is parsePoll with encoding/json: it decides what a value means.
// It reads the value as json.Unmarshal would into
//
//	struct {
//		Mode       *string                        `json:"mode"`
//		Partitions []*int64                       `json:"partitions"`
//		Records    map[string][][]json.RawMessage `json:"records"`
//		EndOffset  *int64                         `json:"end_offset"`
//	}
//
// but one record at a time: a poll's records are not held.
func decodePoll(b []byte, v *pollValue) error {
	v.reset()
	var w struct {
		Mode       *string    `json:"mode"`
		Partitions []*int64   `json:"partitions"`
		Records    recordsRaw `json:"records"`
		EndOffset  *int64     `json:"end_offset"`
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
	// Each partition's records as the map would hold them: the last given.
	// The groups a repeat replaced must still be lists of lists.
	if v.winners == nil {
		v.winners = map[int32][]byte{}
	}
	clear(v.winners)
	for _, raw := range w.Records {
		if err := v.decodeRecordsObject(raw); err != nil {
			return err
		}
	}
	for _, p := range slices.Sorted(maps.Keys(v.winners)) {
		v.rawGroups = append(v.rawGroups, rawGroup{partition: p, raw: v.winners[p]})
	}
	clear(v.winners)
	// Then the records themselves.
	for _, g := range v.rawGroups {
		if err := v.decodeGroup(g, nil); err != nil {
			return err
		}
	}
	return nil
}

// errRecordsShape is the error for records that are not an object of
// lists of lists.
var errRecordsShape = errors.New(`"records" must map partition numbers to lists of [offset, "value"] records`)

// decodeRecordsObject reads one "records" object, valid JSON, noting each
// partition's records in v.winners.
func (v *pollValue) decodeRecordsObject(raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return errRecordsShape
	}
	for dec.More() {
		tok, err := dec.Token()
		key, ok := tok.(string)
		if err != nil || !ok {
			return errRecordsShape
		}
		p, ok := parsePartition([]byte(key))
		if !ok {
			return fmt.Errorf("records key %q is not a partition number", key)
		}
		start := dec.InputOffset()
		switch tok, err := dec.Token(); {
		case err != nil:
			return errRecordsShape
		case tok == nil: // null: no records
		case tok == json.Delim('['):
			for n := 1; dec.More(); n++ {
				if err := dec.Decode(&v.pair); err != nil {
					return fmt.Errorf("partition %d: a record must be [offset, \"value\"]", p)
				}
				if n%slowStopEvery == 0 && v.stop != nil && v.stop() {
					return errParseStopped
				}
			}
			if _, err := dec.Token(); err != nil {
				return errRecordsShape
			}
		default:
			return fmt.Errorf("partition %d: %w", p, errRecordsShape)
		}
		v.winners[p] = bytes.TrimLeft(raw[start:dec.InputOffset()], " \t\r\n:")
	}
	return nil
}

// decodeGroup reads the records of g, checking each, and hands them to sink
// if it is not nil.
func (v *pollValue) decodeGroup(g rawGroup, sink recordSink) error {
	if sink != nil && !sink.group(g.partition) {
		return errParseStopped
	}
	dec := json.NewDecoder(bytes.NewReader(g.raw))
	if tok, err := dec.Token(); err != nil || tok == nil {
		return err
	}
	for dec.More() {
		if err := dec.Decode(&v.pair); err != nil {
			return err
		}
		var (
			off int64
			val string
		)
		if len(v.pair) != 2 || string(v.pair[0]) == "null" || string(v.pair[1]) == "null" ||
			json.Unmarshal(v.pair[0], &off) != nil || json.Unmarshal(v.pair[1], &val) != nil {
			return fmt.Errorf("partition %d: a record must be [offset, \"value\"]", g.partition)
		}
		if off < 0 {
			return fmt.Errorf("partition %d: negative offset %d", g.partition, off)
		}
		if sink == nil {
			if v.records++; v.records%slowStopEvery == 0 && v.stop != nil && v.stop() {
				return errParseStopped
			}
		} else if !sink.record(off, []byte(val)) {
			return errParseStopped
		}
	}
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
	if compactSend(b, v) {
		return true
	}
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

// compactSend is scanSend for a value as the workload writes it,
// {"value":"3-17"} or {"value":"3-17","offset":1021}, with no white space
// and an offset of at most 18 digits. On anything else it changes nothing
// and reports false.
func compactSend(b []byte, v *sendValue) bool {
	const head, mid = `{"value":"`, `","offset":`
	if len(b) < len(head)+2 || string(b[:len(head)]) != head {
		return false
	}
	i := len(head)
	start := i
	for i < len(b) && plainByte[b[i]] {
		i++
	}
	value := b[start:i]
	switch rest := b[i:]; {
	case string(rest) == `"}`:
		*v = sendValue{value: value, hasValue: true}
		return true
	case len(rest) > len(mid)+1 && string(rest[:len(mid)]) == mid && rest[len(rest)-1] == '}':
		digits := rest[len(mid) : len(rest)-1]
		if len(digits) == 0 || len(digits) > 18 || (digits[0] == '0' && len(digits) > 1) {
			return false
		}
		var off int64
		for _, c := range digits {
			if c-'0' > 9 {
				return false
			}
			off = off*10 + int64(c-'0')
		}
		*v = sendValue{value: value, hasValue: true, offset: off, hasOffset: true}
		return true
	}
	return false
}

// scanPoll is parsePoll's fast path; see scanSend. With a sink, it hands
// the records to it as it reads them.
func scanPoll(b []byte, v *pollValue, sink recordSink) bool {
	s := jsonScanner{b: b}
	return s.scanPollValue(v, sink)
}

func (s *jsonScanner) scanPollValue(v *pollValue, sink recordSink) bool {
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
			if !s.scanRecords(v, sink) {
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

// scanRecords reads {"0":[[1020,"4-9"],[1021,"3-17"]],"2":[[7,"1-2"]]},
// counting the records in v and handing them to sink, if not nil.
func (s *jsonScanner) scanRecords(v *pollValue, sink recordSink) bool {
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
		if !ok || !v.newKey(p) { // a repeated key: encoding/json keeps the last
			return false
		}
		if sink != nil && !sink.group(p) {
			s.stopped = true
			return false
		}
		if sink == nil && !v.spilled {
			v.recGroups = append(v.recGroups, recordGroup{partition: p, start: len(v.recs), end: len(v.recs)})
		}
		if !s.consume(']') {
			for {
				r, ok := s.compactRecord()
				if !ok {
					if !s.consume('[') {
						return false
					}
					if r.offset, ok = s.natural(math.MaxInt64); !ok || !s.consume(',') {
						return false
					}
					if r.value, ok = s.plainString(); !ok || !s.consume(']') {
						return false
					}
					if sink == nil {
						proc, seq, ok := workloadValue(r.value)
						r.proc, r.seq, r.workload = int32(proc), int32(seq), ok
					}
				}
				v.records++
				switch {
				case sink == nil && v.stopNow():
					s.stopped = true
					return false
				case sink != nil:
					if !sink.record(r.offset, r.value) {
						s.stopped = true
						return false
					}
				case v.spilled:
				case len(v.recs) == maxBuffered:
					v.spilled = true
					clear(v.recs)
				default:
					v.recs = append(v.recs, r)
					v.recGroups[len(v.recGroups)-1].end = len(v.recs)
				}
				if !s.consume(',') {
					if !s.consume(']') {
						return false
					}
					break
				}
			}
		}
		if !s.consume(',') {
			return s.consume('}')
		}
	}
}

// compactRecord reads a record as encoding/json writes it,
// [1020,"4-9"] with no white space, an offset of at most 18 digits and a
// plain string (see plainString). On anything else it reads nothing and
// reports false: the caller reads it piece by piece. It reads the value as
// workloadValue does while it scans it (the workload's values are nearly
// every value there is), into the record's proc, seq and workload.
func (s *jsonScanner) compactRecord() (r record, ok bool) {
	b, i := s.b, s.i
	if i >= len(b) || b[i] != '[' {
		return record{}, false
	}
	i++
	start := i
	var off int64
	for i < len(b) && b[i]-'0' <= 9 {
		off = off*10 + int64(b[i]-'0')
		i++
	}
	if n := i - start; n == 0 || n > 18 || (b[start] == '0' && n > 1) || i+1 >= len(b) || b[i] != ',' || b[i+1] != '"' {
		return record{}, false
	}
	i += 2
	start = i
	// "<process>-<sequence>": digits, a dash, digits.
	var proc, seq int
	for i < len(b) && b[i]-'0' <= 9 {
		proc = proc*10 + int(b[i]-'0')
		i++
	}
	dash := i
	if i < len(b) && b[i] == '-' {
		i++
		for i < len(b) && b[i]-'0' <= 9 {
			seq = seq*10 + int(b[i]-'0')
			i++
		}
	}
	workload := i < len(b) && b[i] == '"' && dash < i && b[dash] == '-' &&
		workloadNumber(b[start:dash], proc) && workloadNumber(b[dash+1:i], seq)
	for i < len(b) && plainByte[b[i]] {
		i++
	}
	if i+1 >= len(b) || b[i] != '"' || b[i+1] != ']' {
		return record{}, false
	}
	s.i = i + 2
	r = record{offset: off, value: b[start:i]}
	if workload {
		r.proc, r.seq, r.workload = int32(proc), int32(seq), true
	}
	return r, true
}

// workloadNumber reports whether digits, whose value is n (if it has at
// most 10 digits), is a number workloadValue takes: 1 to 10 digits, no
// leading zero, at most math.MaxInt32.
func workloadNumber(digits []byte, n int) bool {
	return len(digits) > 0 && len(digits) <= 10 && (digits[0] != '0' || len(digits) == 1) && n <= math.MaxInt32
}

// jsonScanner reads the few JSON forms the fast paths accept. Each method
// skips white space first and reports false on anything else.
type jsonScanner struct {
	b       []byte
	i       int
	stopped bool // a recordSink stopped it
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
	if i := s.i; i < len(s.b) && s.b[i] == c {
		s.i = i + 1
		return true
	}
	return s.consumeAfterSpace(c)
}

// consumeAfterSpace is consume's slow path, kept apart so that consume
// inlines.
//
//go:noinline
func (s *jsonScanner) consumeAfterSpace(c byte) bool {
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
	for s.i < len(s.b) && plainByte[s.b[s.i]] {
		s.i++
	}
	if s.i < len(s.b) && s.b[s.i] == '"' {
		s.i++
		return s.b[start : s.i-1], true
	}
	return nil, false
}

// plainByte tells the bytes plainString takes inside a string: printable
// ASCII but the quote and the backslash.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// natural reads a non-negative integer no larger than limit, written as
// JSON writes integers (no leading zeros, no fraction, no exponent).
func (s *jsonScanner) natural(limit int64) (int64, bool) {
	s.skipSpace()
	start := s.i
	var n int64
	for ; s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9'; s.i++ {
		d := int64(s.b[s.i] - '0')
		// Up to 18 digits cannot overflow: compare with the limit after.
		if s.i-start >= 18 && n > (limit-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	if n > limit {
		return 0, false
	}
	switch {
	case s.i == start, s.b[start] == '0' && s.i-start > 1:
		return 0, false
	case s.i < len(s.b) && (s.b[s.i] == '.' || s.b[s.i] == 'e' || s.b[s.i] == 'E'):
		return 0, false
	}
	return n, true
}
