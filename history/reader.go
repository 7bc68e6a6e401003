package history

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"
)

// ErrTruncatedTail is returned, wrapped, by Read when the history's last line
// is an incomplete JSON object with no newline after it: the harness stopped
// in the middle of writing it. The ops returned with it are every complete
// line before it, so a caller may accept them:
//
//	ops, err := history.ReadFile(path)
//	if errors.Is(err, history.ErrTruncatedTail) {
//		log.Printf("%v; checking the %d complete ops", err, len(ops))
//	} else if err != nil {
//		return err
//	}
var ErrTruncatedTail = errors.New("history ends in a partly written line")

// wireOp is an Op as decoded, with pointers to tell a missing field from a
// zero one. V is json.RawMessage, or ownedRaw to keep the line's bytes.
type wireOp[V ~[]byte] struct {
	Index   *int64   `json:"index"`
	Time    *int64   `json:"time"`
	Process *Process `json:"process"`
	Type    *Type    `json:"type"`
	F       *string  `json:"f"`
	Key     string   `json:"key"`
	Value   V        `json:"value"`
	Node    string   `json:"node"`
	Error   string   `json:"error"`
}

// ownedRaw is a json.RawMessage that keeps the bytes it is given rather than
// copy them: json.Unmarshal gives it a slice of its input.
type ownedRaw []byte

// UnmarshalJSON keeps b.
func (m *ownedRaw) UnmarshalJSON(b []byte) error {
	*m = b
	return nil
}

// op checks that the required fields are there and makes the Op.
func (w *wireOp[V]) op() (Op, error) {
	switch {
	case w.Index == nil:
		return Op{}, errors.New(`missing "index"`)
	case w.Time == nil:
		return Op{}, errors.New(`missing "time"`)
	case w.Process == nil:
		return Op{}, errors.New(`missing "process"`)
	case w.Type == nil:
		return Op{}, errors.New(`missing "type"`)
	case w.F == nil:
		return Op{}, errors.New(`missing "f"`)
	}
	return Op{
		Index:   *w.Index,
		Time:    *w.Time,
		Process: *w.Process,
		Type:    *w.Type,
		F:       *w.F,
		Key:     w.Key,
		Value:   json.RawMessage(w.Value),
		Node:    w.Node,
		Error:   w.Error,
	}, nil
}

// DefaultMaxLine is the longest line, in bytes without its newline, that Read
// and ReadFile take: 64 MiB. A poll that read half a million records is about
// 10 MiB; a longer line is more likely a file that is not a history (a core
// dump, /dev/zero) than a history, and would otherwise be read into memory
// whole before anything could tell. ReadOptions.MaxLine raises it.
const DefaultMaxLine = 64 << 20

// ErrLineTooLong is returned, wrapped, by Read when a line is longer than the
// limit (DefaultMaxLine, or ReadOptions.MaxLine). Its message names the line
// and the limit and says how to raise it (the --max-line flag of the
// command that reads the history):
//
//	line 3 is longer than 64 MiB, the longest line the history reader takes; raise it with --max-line
var ErrLineTooLong = errors.New("history line too long")

// lineTooLongError is ErrLineTooLong with the line and the limit.
type lineTooLongError struct {
	line  int
	limit int
}

func (e *lineTooLongError) Error() string {
	return fmt.Sprintf("line %d is longer than %s, the longest line the history reader takes; raise it with --max-line", e.line, formatBytes(e.limit))
}

func (e *lineTooLongError) Is(target error) bool { return target == ErrLineTooLong }

// formatBytes renders a size as "64 MiB", "512 KiB" or "1000 bytes".
func formatBytes(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// ReadOptions change how ReadWith reads.
type ReadOptions struct {
	// MaxLine is the longest line, in bytes without its newline, to take;
	// a longer one is an error wrapping ErrLineTooLong. Zero (or less)
	// means DefaultMaxLine.
	MaxLine int
}

// maxLine returns the line limit o sets.
func (o ReadOptions) maxLine() int {
	if o.MaxLine <= 0 {
		return DefaultMaxLine
	}
	return o.MaxLine
}

// Read reads a history written by a Writer: one JSON object per line. It is
// ReadWith with the default options.
func Read(r io.Reader) ([]Op, error) { return ReadWith(r, ReadOptions{}) }

// ReadWith reads a history written by a Writer: one JSON object per line.
//
// Malformed input is an error of the form "line N: what is wrong" (bad JSON,
// an unknown field or type, a missing index, time, process, type or f, a
// negative time, an index that does not increase), and ReadWith returns no
// ops. The one exception is a last line that is an incomplete JSON object
// with no newline after it, as a killed harness leaves behind: ReadWith then
// returns the ops before it and an error wrapping ErrTruncatedTail.
//
// A line longer than opts.MaxLine (DefaultMaxLine, 64 MiB, unless set) is an
// error wrapping ErrLineTooLong, found as soon as that many bytes of the line
// have been read; ReadWith returns no ops with it. Memory is bounded
// accordingly: a line is held whole only while it is being parsed (about
// twice its length at the peak), and a line found to be garbage (a byte JSON
// never allows, such as a NUL) is not held at all while the reader looks for
// its end. So reading /dev/zero ends with ErrLineTooLong after
// opts.MaxLine bytes, holding only the reader's buffer.
func ReadWith(r io.Reader, opts ReadOptions) ([]Op, error) {
	limit := opts.maxLine()
	br := bufio.NewReaderSize(r, readBufSize)
	var (
		ops    []Op
		lr     = longLine{bad: -1}
		lineNo int
		prev   int64 = -1
		names        = interner{m: map[string]string{}}
	)
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if lr.add(chunk) > limit {
				return nil, &lineTooLongError{line: lineNo + 1, limit: limit}
			}
			continue
		}
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("read history after line %d: %w", lineNo, err)
		}
		if lr.n == 0 && len(chunk) == 0 { // io.EOF right after a newline, or empty input
			return ops, nil
		}
		lineNo++
		last := err == io.EOF // no newline after this line
		body := bytes.TrimSuffix(chunk, []byte("\n"))
		if lr.n+len(body) > limit {
			return nil, &lineTooLongError{line: lineNo, limit: limit}
		}
		var (
			op   Op
			perr error
			line []byte // the whole line, for the truncated-tail check
		)
		switch {
		case lr.bad >= 0:
			// Garbage: the prefix kept up to the bad byte tells what
			// is wrong, as the whole line would.
			line = lr.kept()
			_, perr = parseLine(line)
		case lr.n > 0:
			line = lr.join(chunk)
			op, perr = parseOwnedLine(bytes.TrimSuffix(line, []byte("\n")))
		default:
			line = chunk
			op, perr = parseLine(body)
		}
		lr.reset()
		if perr != nil {
			if last && isTruncated(line) {
				return ops, fmt.Errorf("line %d: %w (%d bytes, no newline); the %d lines before it are intact", lineNo, ErrTruncatedTail, len(line), lineNo-1)
			}
			return nil, fmt.Errorf("line %d: %w", lineNo, perr)
		}
		if op.Index <= prev {
			return nil, fmt.Errorf("line %d: index %d is not greater than the previous line's index %d", lineNo, op.Index, prev)
		}
		prev = op.Index
		names.op(&op)
		ops = append(ops, op)
		if last {
			return ops, nil
		}
	}
}

// interner shares the short strings ops repeat from line to line (type, f,
// key, node, error): decoded, each line's would be a copy of its own, some
// 30 bytes an op held as long as the history is.
type interner struct {
	m map[string]string
}

// maxInterned bounds what an interner holds: strings of at most
// maxInternedLen bytes, at most maxInterned of them.
const (
	maxInterned    = 1 << 14
	maxInternedLen = 64
)

// op replaces op's strings with the interner's copies.
func (in *interner) op(op *Op) {
	switch op.Type {
	case Invoke:
		op.Type = Invoke
	case OK:
		op.Type = OK
	case Fail:
		op.Type = Fail
	case Info:
		op.Type = Info
	}
	op.F = in.intern(op.F)
	op.Key = in.intern(op.Key)
	op.Node = in.intern(op.Node)
	op.Error = in.intern(op.Error)
}

// intern returns the interner's copy of s, making s it if there is room.
func (in *interner) intern(s string) string {
	if s == "" || len(s) > maxInternedLen {
		return s
	}
	if t, ok := in.m[s]; ok {
		return t
	}
	if len(in.m) < maxInterned {
		in.m[s] = s
	}
	return s
}

// readBufSize is the reader's buffer: lines up to this long are parsed in
// place; longer ones are gathered in a longLine.
const readBufSize = 64 << 10

// longLine gathers a line longer than the reader's buffer, one buffer-full
// at a time, then joins it into one slice of exactly its length, which the
// parsed op may keep (see parseOwnedLine). A line found to hold a byte no
// JSON text may hold (a control character other than tab, CR and LF) is
// garbage: only its prefix up to that byte is kept, to say what is wrong.
type longLine struct {
	parts [][]byte
	n     int // bytes of the line so far
	bad   int // offset of the first byte JSON forbids; -1 if none
}

// add appends a buffer-full of the line and returns the line's length so far.
func (l *longLine) add(chunk []byte) int {
	if l.bad < 0 {
		keep := chunk
		if i := controlByte(chunk); i >= 0 {
			l.bad = l.n + i
			keep = chunk[:i+1]
		}
		l.parts = append(l.parts, bytes.Clone(keep))
	}
	l.n += len(chunk)
	return l.n
}

// kept returns the prefix of a garbage line that was kept.
func (l *longLine) kept() []byte { return bytes.Join(l.parts, nil) }

// join returns the whole line: the parts gathered and last, the chunk that
// ends it.
func (l *longLine) join(last []byte) []byte {
	line := make([]byte, 0, l.n+len(last))
	for _, p := range l.parts {
		line = append(line, p...)
	}
	return append(line, last...)
}

// reset readies l for the next line, letting go of this one's parts.
func (l *longLine) reset() { *l = longLine{bad: -1} }

// controlByte returns the offset of the first byte in b that may not appear
// anywhere in a JSON text (a control character other than tab, LF and CR),
// or -1.
func controlByte(b []byte) int {
	for i, c := range b {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			return i
		}
	}
	return -1
}

// ReadFile reads the history at path with the default options; see Read.
func ReadFile(path string) ([]Op, error) { return ReadFileWith(path, ReadOptions{}) }

// ReadFileWith reads the history at path; see ReadWith.
func ReadFileWith(path string, opts ReadOptions) ([]Op, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	defer f.Close()
	ops, err := ReadWith(f, opts)
	if err != nil {
		return ops, fmt.Errorf("read history %s: %w", path, err)
	}
	return ops, nil
}

// parseLine decodes and validates one line (without its newline).
func parseLine(line []byte) (Op, error) {
	if len(bytes.TrimSpace(line)) == 0 {
		return Op{}, errors.New("empty line")
	}
	var w wireOp[json.RawMessage]
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return Op{}, decodeError(err)
	}
	if dec.InputOffset() != int64(len(bytes.TrimRight(line, " \t\r"))) {
		return Op{}, errors.New("bad JSON: text after the object")
	}
	op, err := w.op()
	if err != nil {
		return Op{}, err
	}
	if err := op.Validate(); err != nil {
		return Op{}, err
	}
	return op, nil
}

// parseOwnedLine is parseLine for a line that the reader allocated for it
// alone: the op's Value is a slice of line rather than a copy, so a long line
// (a poll of many records) is held once, not twice or more (json.Decoder's
// buffer and the value's copy). A line of unusual form (unknown, repeated or
// escaped keys, bad JSON) goes through parseLine, so errors read the same.
func parseOwnedLine(line []byte) (Op, error) {
	text := bytes.TrimRight(line, " \t\r")
	if !plainKeys(text) {
		return parseLine(line)
	}
	var w wireOp[ownedRaw]
	if err := json.Unmarshal(text, &w); err != nil {
		if _, syntax := errors.AsType[*json.SyntaxError](err); syntax {
			return parseLine(line)
		}
		return Op{}, decodeError(err)
	}
	op, err := w.op()
	if err != nil {
		return Op{}, err
	}
	// The value is part of valid JSON, so valid itself: check the rest.
	fields := op
	fields.Value = nil
	if err := fields.Validate(); err != nil {
		return Op{}, err
	}
	return op, nil
}

// opKeys are the keys of an op's JSON object.
var opKeys = [...]string{"index", "time", "process", "type", "f", "key", "value", "node", "error"}

// plainKeys reports whether text looks like a JSON object whose keys are
// each one of opKeys, written plainly (no escapes), at most once. It does not
// check the values' syntax (json.Unmarshal does); it only skips them.
func plainKeys(text []byte) bool {
	s := skipper{b: text}
	if !s.byte('{') {
		return false
	}
	if s.byte('}') {
		return s.end()
	}
	var seen [len(opKeys)]bool
	for {
		key, ok := s.plainString()
		if !ok || !s.byte(':') {
			return false
		}
		k := slices.Index(opKeys[:], string(key))
		if k < 0 || seen[k] {
			return false
		}
		seen[k] = true
		if !s.value() {
			return false
		}
		if !s.byte(',') {
			return s.byte('}') && s.end()
		}
	}
}

// skipper walks JSON text without decoding it, for plainKeys.
type skipper struct {
	b []byte
	i int
}

func (s *skipper) space() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\r' || s.b[s.i] == '\n') {
		s.i++
	}
}

// byte reads c, after white space.
func (s *skipper) byte(c byte) bool {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *skipper) end() bool {
	s.space()
	return s.i == len(s.b)
}

// plainString reads a string with no escapes and returns its bytes.
func (s *skipper) plainString() ([]byte, bool) {
	if !s.byte('"') {
		return nil, false
	}
	start := s.i
	for ; s.i < len(s.b); s.i++ {
		switch s.b[s.i] {
		case '"':
			s.i++
			return s.b[start : s.i-1], true
		case '\\':
			return nil, false
		}
	}
	return nil, false
}

// value skips one value: a string, an object or array (with what it
// holds), or anything else up to the next delimiter.
func (s *skipper) value() bool {
	s.space()
	if s.i == len(s.b) {
		return false
	}
	depth := 0
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '"':
			if !s.skipString() {
				return false
			}
			if depth == 0 {
				return true
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return true // the end of the enclosing object
			}
			if depth--; depth == 0 {
				s.i++
				return true
			}
		case ',', ' ', '\t', '\r', '\n':
			if depth == 0 {
				return true
			}
		}
		s.i++
	}
	return depth == 0
}

// skipString skips a string, escapes and all.
func (s *skipper) skipString() bool {
	for s.i++; s.i < len(s.b); s.i++ {
		switch s.b[s.i] {
		case '"':
			s.i++
			return true
		case '\\':
			s.i++
		}
	}
	return false
}

// isTruncated reports whether line is the beginning of a JSON object that
// ends too early, rather than garbage. It decodes nothing: json.Decoder finds
// the end of the input before it would decode.
func isTruncated(line []byte) bool {
	text := bytes.TrimSpace(line)
	if len(text) == 0 || text[0] != '{' {
		return false
	}
	var v struct{}
	err := json.NewDecoder(bytes.NewReader(text)).Decode(&v)
	return errors.Is(err, io.ErrUnexpectedEOF)
}

// decodeError turns an error from decoding a line into one that says what is
// wrong in the history's terms.
func decodeError(err error) error {
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("bad JSON: %w", err)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return fmt.Errorf("bad JSON: a line must be one JSON object, not a JSON %s", typ.Value)
		}
		want := "a string"
		if typ.Type.Kind() == reflect.Int64 {
			want = "an integer"
		}
		return fmt.Errorf("field %q is a JSON %s, want %s", typ.Field, typ.Value, want)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fmt.Errorf("%s (an op has index, time, process, type, f, key, value, node and error)", strings.TrimPrefix(err.Error(), "json: "))
	}
	return err
}
