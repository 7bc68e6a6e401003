package history

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// A Writer appends ops to a history as they happen. It assigns each op the
// next Index (from 0) and, when it has a Clock, the current Time, and writes
// the op as one JSON line with a single Write call before Append returns: there
// is no buffer to lose, so a harness killed with SIGKILL leaves every op it
// appended readable, except perhaps a partly written last line (see Read).
//
// A Writer is safe for concurrent use. In file order indexes increase and
// times never decrease, because both are taken while the op is being written.
type Writer struct {
	mu     sync.Mutex
	w      io.Writer
	file   *os.File // set by Create: the Writer owns it and closes it
	clock  Clock
	next   int64
	buf    []byte
	err    error // sticky: the first write error
	closed bool
}

// NewWriter returns a Writer that writes to w. If clock is nil, Append keeps
// the Time of the op it is given (useful to copy or build histories).
// Closing the Writer does not close w.
func NewWriter(w io.Writer, clock Clock) *Writer {
	return &Writer{w: w, clock: clock, buf: make([]byte, 0, 256)}
}

// Create creates the history file at path and returns a Writer for it. It
// refuses to overwrite an existing file, so a run never destroys an earlier
// run's history.
func Create(path string, clock Clock) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("create history: %w (each run needs a fresh store directory; move or delete the old history)", err)
		}
		return nil, fmt.Errorf("create history: %w", err)
	}
	w := NewWriter(f, clock)
	w.file = f
	return w, nil
}

// Append stamps op with the next Index and, if the Writer has a Clock, the
// current Time, writes it, and returns the stamped op. It fails if op is
// invalid (see Op.Validate), if the Writer is closed, or if an earlier write
// failed: a history with a hole in it is worthless, so the first write error
// sticks.
func (w *Writer) Append(op Op) (Op, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return op, errors.New("append to history: writer is closed")
	}
	if w.err != nil {
		return op, w.err
	}
	op.Index = w.next
	if w.clock != nil {
		op.Time = w.clock()
	}
	if err := op.Validate(); err != nil {
		return op, fmt.Errorf("append to history: invalid op (%s): %w", op, err)
	}
	line, err := appendOp(w.buf[:0], op)
	if err != nil {
		return op, fmt.Errorf("append to history: invalid op (%s): %w", op, err)
	}
	line = append(line, '\n')
	w.buf = line
	if _, err := w.w.Write(line); err != nil {
		w.err = fmt.Errorf("append to history: %w", err)
		return op, w.err
	}
	w.next++
	return op, nil
}

// Close flushes a file made by Create to disk and closes it. Appends after
// Close fail. Close returns the first write error, if any, so a caller that
// ignored Append's errors still learns that the history is incomplete.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	err := w.err
	if w.file != nil {
		if serr := w.file.Sync(); serr != nil && err == nil {
			err = fmt.Errorf("close history: %w", serr)
		}
		if cerr := w.file.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close history: %w", cerr)
		}
	}
	return err
}
