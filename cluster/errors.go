package cluster

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// NodeError says which node failed and points at its log.
type NodeError struct {
	Node    string
	Err     error
	LogFile string
}

func (e *NodeError) Error() string {
	msg := fmt.Sprintf("%s did not come up: %v", e.Node, e.Err)
	if e.LogFile != "" {
		msg += "; its log is " + e.LogFile
	}
	return msg
}

func (e *NodeError) Unwrap() error { return e.Err }

// LogTail is the end of the node's log, for showing below the error.
func (e *NodeError) LogTail(lines int) string {
	if e.LogFile == "" {
		return ""
	}
	return tailFile(e.LogFile, lines)
}

// tailFile returns the last lines of a file, reading at most its last 64 KiB.
func tailFile(path string, lines int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const window = 64 << 10
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(0, st.Size()-window)
	buf := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil {
		return ""
	}
	all := strings.Split(strings.TrimRight(string(buf), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// ErrNoRun is what a backend's Status, Exec and Down say (errors.Is) when
// asked for the only run there is and it has none: the command may then
// ask another backend.
var ErrNoRun = errors.New("no run")

// NoRun is an error that says msg and is ErrNoRun.
func NoRun(msg string) error { return noRunError(msg) }

type noRunError string

func (e noRunError) Error() string        { return string(e) }
func (e noRunError) Is(target error) bool { return target == ErrNoRun }
