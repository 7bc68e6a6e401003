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
// zero one.
type wireOp struct {
	Index   *int64          `json:"index"`
	Time    *int64          `json:"time"`
	Process *Process        `json:"process"`
	Type    *Type           `json:"type"`
	F       *string         `json:"f"`
	Key     string          `json:"key"`
	Value   json.RawMessage `json:"value"`
	Node    string          `json:"node"`
	Error   string          `json:"error"`
}

// Read reads a history written by a Writer: one JSON object per line.
//
// Malformed input is an error of the form "line N: what is wrong" (bad JSON,
// an unknown field or type, a missing index, time, process, type or f, a
// negative time, an index that does not increase), and Read returns no ops.
// The one exception is a last line that is an incomplete JSON object with no
// newline after it, as a killed harness leaves behind: Read then returns the
// ops before it and an error wrapping ErrTruncatedTail.
//
// Lines may be of any length.
func Read(r io.Reader) ([]Op, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		ops    []Op
		long   []byte // accumulates a line longer than br's buffer
		inLong bool
		lineNo int
		prev   int64 = -1
	)
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, chunk...)
			inLong = true
			continue
		}
		line := chunk
		if inLong {
			long = append(long, chunk...)
			line = long
		}
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("read history after line %d: %w", lineNo, err)
		}
		if len(line) == 0 { // io.EOF right after a newline, or empty input
			return ops, nil
		}
		lineNo++
		last := err == io.EOF // no newline after this line
		op, perr := parseLine(bytes.TrimSuffix(line, []byte("\n")))
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
		ops = append(ops, op)
		long, inLong = long[:0], false
		if last {
			return ops, nil
		}
	}
}

// ReadFile reads the history at path; see Read.
func ReadFile(path string) ([]Op, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	defer f.Close()
	ops, err := Read(f)
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
	var w wireOp
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return Op{}, decodeError(err)
	}
	if dec.InputOffset() != int64(len(bytes.TrimRight(line, " \t\r"))) {
		return Op{}, errors.New("bad JSON: text after the object")
	}
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
	op := Op{
		Index:   *w.Index,
		Time:    *w.Time,
		Process: *w.Process,
		Type:    *w.Type,
		F:       *w.F,
		Key:     w.Key,
		Value:   w.Value,
		Node:    w.Node,
		Error:   w.Error,
	}
	if err := op.Validate(); err != nil {
		return Op{}, err
	}
	return op, nil
}

// isTruncated reports whether line is the beginning of a JSON value that
// ends too early, rather than garbage.
func isTruncated(line []byte) bool {
	if len(bytes.TrimSpace(line)) == 0 {
		return false
	}
	var v any
	err := json.NewDecoder(bytes.NewReader(line)).Decode(&v)
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
