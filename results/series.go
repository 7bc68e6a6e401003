package results

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"slices"

	"github.com/faultline/faultline/history"
)

// callPoint is one completed client call, as the pictures draw it.
type callPoint struct {
	f       uint16 // index into opSeries.fs
	outcome history.Type
	start   int64 // invocation time, ns on the history's clock
	end     int64 // completion time
}

// opSeries is what the pictures need of a history: each completed client
// call's f, outcome and times. It is read from the history file line by
// line, without the ops' values, so a history of a million ops costs
// tens of megabytes here, not its size.
type opSeries struct {
	fs         []string // the client fs, sorted
	calls      []callPoint
	incomplete int   // client invocations with no completion
	end        int64 // the history's last time
}

// maxPictureFs bounds the fs the pictures show, a panel each.
const maxPictureFs = 16

// seriesLine is the part of a history line the series reads.
type seriesLine struct {
	Time    int64           `json:"time"`
	Process history.Process `json:"process"`
	Type    history.Type    `json:"type"`
	F       string          `json:"f"`
}

// readSeries reads a history file's client calls for the pictures. A line
// it cannot read (a crashed run's cut last line) is skipped: the pictures
// show what can be shown, and the checkers judge the history.
func readSeries(path string) (*opSeries, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return scanSeries(f)
}

func scanSeries(r io.Reader) (*opSeries, error) {
	sc := seriesScan{s: &opSeries{}, fIndex: map[string]uint16{}, open: map[history.Process]pendingCall{}}
	br := bufio.NewReaderSize(r, 1<<20)
	var long []byte
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, line...)
			continue
		}
		if long != nil {
			line = append(long, line...)
			long = nil
		}
		sc.add(line)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	s := sc.s
	s.incomplete = len(sc.open)
	// Sort the fs, keeping the calls' indexes right.
	sorted := slices.Clone(s.fs)
	slices.Sort(sorted)
	remap := make([]uint16, len(s.fs))
	for i, f := range s.fs {
		remap[i] = uint16(slices.Index(sorted, f))
	}
	for i := range s.calls {
		s.calls[i].f = remap[s.calls[i].f]
	}
	s.fs = sorted
	return s, nil
}

type pendingCall struct {
	f     uint16
	start int64
}

// seriesScan pairs a history's client ops as it reads them.
type seriesScan struct {
	s      *opSeries
	fIndex map[string]uint16
	open   map[history.Process]pendingCall
}

func (sc *seriesScan) add(line []byte) {
	if len(bytes.TrimSpace(line)) == 0 {
		return
	}
	var l seriesLine
	if !parseSeriesLine(line, &l) {
		return
	}
	s := sc.s
	s.end = max(s.end, l.Time)
	if !l.Process.IsClient() || l.F == "" {
		return
	}
	if l.Type == history.Invoke {
		fi, ok := sc.fIndex[l.F]
		if !ok {
			if len(s.fs) >= maxPictureFs {
				return // more fs than the pictures can show
			}
			fi = uint16(len(s.fs))
			sc.fIndex[l.F] = fi
			s.fs = append(s.fs, l.F)
		}
		sc.open[l.Process] = pendingCall{f: fi, start: l.Time}
		return
	}
	if p, ok := sc.open[l.Process]; ok {
		delete(sc.open, l.Process)
		s.calls = append(s.calls, callPoint{f: p.f, outcome: l.Type, start: p.start, end: l.Time})
	}
}

// valueField starts a line's value as the history's writer puts it, after
// the fields the series reads.
var valueField = []byte(`,"value":`)

// parseSeriesLine reads the fields the series needs. A line the history's
// writer made has them before its value, which may be large (a poll's
// records): they are read from the part before it, and the whole line
// only when that does not parse.
func parseSeriesLine(line []byte, l *seriesLine) bool {
	if i := bytes.Index(line, valueField); i > 0 {
		head := make([]byte, 0, i+1)
		head = append(append(head, line[:i]...), '}')
		if json.Unmarshal(head, l) == nil {
			return true
		}
		*l = seriesLine{}
	}
	return json.Unmarshal(line, l) == nil
}
