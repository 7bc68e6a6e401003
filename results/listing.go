package results

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/faultline/faultline/checker"
)

// The verdicts a listing shows: a checked run's, or None for a run with
// no results.json (it crashed, was interrupted, or is still running).
const (
	VerdictValid   = "valid"
	VerdictInvalid = "invalid"
	VerdictUnknown = "unknown"
	VerdictNone    = "none"
)

// RunEntry is one run of a store, as a listing shows it.
type RunEntry struct {
	// Test and Stamp place the run: store/<Test>/<Stamp>; Path is
	// "<Test>/<Stamp>".
	Test  string `json:"test"`
	Stamp string `json:"stamp"`
	Path  string `json:"path"`
	// Verdict is valid, invalid, unknown or none; Why says why a run has
	// none, or what could not be read.
	Verdict  string    `json:"verdict"`
	Why      string    `json:"why,omitempty"`
	Workload string    `json:"workload,omitempty"`
	Start    time.Time `json:"start"`
	// Duration is from the run's start to its results.json (the whole
	// run: cluster, workload, final reads and check), or to its last
	// write when it has none.
	Duration  time.Duration  `json:"duration"`
	TimeLimit time.Duration  `json:"time_limit,omitempty"`
	Nemesis   string         `json:"nemesis,omitempty"`
	Versions  string         `json:"versions,omitempty"`
	Seed      uint64         `json:"seed"`
	Ops       int            `json:"ops"`
	Anomalies map[string]int `json:"anomalies,omitempty"`
	Findings  map[string]int `json:"findings,omitempty"`
	// Report says whether the run has a report.html.
	Report bool `json:"report"`
}

// AnomalyText renders the anomaly counts, e.g. "lost-write 75, duplicate 2".
func (e RunEntry) AnomalyText() string { return anomalyCounts(e.Anomalies) }

// FindingText renders the finding counts.
func (e RunEntry) FindingText() string { return anomalyCounts(e.Findings) }

// stampPattern matches a run's folder name (see CreateRun).
var stampPattern = regexp.MustCompile(`^\d{8}T\d{6}\.\d{3}Z(-\d+)?$`)

// Index lists a store's runs. It keeps what it read of each run, and
// reads a run's files again only when they changed (size or time): a
// listing of a store of a thousand runs reads the folders and stats two
// files per run. Of results.json it reads only the head, up to the
// checks (see Report's field order), so a run's size does not matter.
type Index struct {
	store string
	mu    sync.Mutex
	runs  map[string]*indexed
}

type indexed struct {
	test, results fileStamp
	entry         RunEntry
}

// fileStamp tells whether a file changed.
type fileStamp struct {
	size int64
	mod  time.Time
	ok   bool
}

func stampOf(path string) fileStamp {
	st, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{size: st.Size(), mod: st.ModTime(), ok: true}
}

// NewIndex indexes the store at dir.
func NewIndex(dir string) *Index {
	return &Index{store: dir, runs: map[string]*indexed{}}
}

// List returns every run of the store, newest first.
func (ix *Index) List() ([]RunEntry, error) {
	tests, err := os.ReadDir(ix.store)
	if err != nil {
		return nil, fmt.Errorf("read the store %s: %w", ix.store, err)
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	seen := map[string]bool{}
	var out []RunEntry
	for _, t := range tests {
		if !t.IsDir() || ValidTestName(t.Name()) != nil {
			continue // latest, stray files
		}
		runs, err := os.ReadDir(filepath.Join(ix.store, t.Name()))
		if err != nil {
			continue
		}
		for _, r := range runs {
			if !r.IsDir() || !stampPattern.MatchString(r.Name()) {
				continue
			}
			key := t.Name() + "/" + r.Name()
			seen[key] = true
			dir := filepath.Join(ix.store, t.Name(), r.Name())
			ts, rs := stampOf(filepath.Join(dir, TestFile)), stampOf(filepath.Join(dir, ResultsFile))
			c := ix.runs[key]
			if c == nil || c.test != ts || c.results != rs || (!rs.ok && time.Since(c.entry.Start) < 24*time.Hour) {
				c = &indexed{test: ts, results: rs, entry: readEntry(dir, t.Name(), r.Name(), ts, rs)}
				ix.runs[key] = c
			}
			if !c.entry.Report && rs.ok {
				c.entry.Report = stampOf(filepath.Join(dir, ReportFile)).ok
			}
			out = append(out, c.entry)
		}
	}
	for k := range ix.runs {
		if !seen[k] {
			delete(ix.runs, k)
		}
	}
	slices.SortFunc(out, func(a, b RunEntry) int {
		if c := b.Start.Compare(a.Start); c != 0 {
			return c
		}
		return strings.Compare(b.Path, a.Path)
	})
	return out, nil
}

// readEntry reads a run's test.json and the head of its results.json.
func readEntry(dir, test, stamp string, ts, rs fileStamp) RunEntry {
	e := RunEntry{Test: test, Stamp: stamp, Path: test + "/" + stamp, Verdict: VerdictNone}
	if t, err := time.Parse(timeLayout, strings.SplitN(stamp, "-", 2)[0]); err == nil {
		e.Start = t
	}
	info, err := ReadRunInfo(dir)
	switch {
	case err == nil:
		e.Workload, e.Seed, e.TimeLimit = info.Workload, info.Seed, info.TimeLimit
		e.Nemesis, e.Versions = info.NemesisText(), info.VersionsText()
		if !info.Start.IsZero() {
			e.Start = info.Start
		}
	case errors.Is(err, os.ErrNotExist):
		e.Why = "no test.json"
	default:
		e.Why = err.Error()
	}
	if !rs.ok {
		last := ts.mod
		for _, f := range []string{HistoryFile, LogFile} {
			if st := stampOf(filepath.Join(dir, f)); st.ok && st.mod.After(last) {
				last = st.mod
			}
		}
		if !last.IsZero() && !e.Start.IsZero() {
			e.Duration = last.Sub(e.Start).Round(time.Second)
		}
		e.Why = strings.TrimPrefix(e.Why+"; no results.json: the run crashed, was interrupted, or is still running", "; ")
		return e
	}
	if !e.Start.IsZero() {
		e.Duration = rs.mod.Sub(e.Start).Round(time.Second)
	}
	h, err := readResultsHead(filepath.Join(dir, ResultsFile))
	if err != nil {
		e.Verdict, e.Why = VerdictUnknown, fmt.Sprintf("results.json cannot be read: %v", err)
		return e
	}
	e.Verdict = verdictWord(h.Valid)
	if e.Workload == "" {
		e.Workload, e.Seed = h.Workload, h.Seed
	}
	e.Ops = h.Ops.InTimeLimit
	if e.Ops == 0 {
		e.Ops = h.Ops.Total.Calls
	}
	e.Anomalies, e.Findings = nonzero(h.AnomalyCounts), nonzero(h.FindingCounts)
	e.Report = stampOf(filepath.Join(dir, ReportFile)).ok
	return e
}

func nonzero(m map[string]int) map[string]int {
	var out map[string]int
	for k, v := range m {
		if v > 0 {
			if out == nil {
				out = map[string]int{}
			}
			out[k] = v
		}
	}
	return out
}

// resultsHead is what a listing reads of results.json.
type resultsHead struct {
	Workload      string           `json:"workload"`
	Seed          uint64           `json:"seed"`
	Valid         checker.Validity `json:"valid"`
	AnomalyCounts map[string]int   `json:"anomaly_counts"`
	FindingCounts map[string]int   `json:"finding_counts"`
	Ops           OpStats          `json:"ops"`
}

// readResultsHead reads results.json's fields up to "checks" and stops
// there. A file written before results.json had its totals is read
// whole, its checks' counts added up.
func readResultsHead(path string) (resultsHead, error) {
	var h resultsHead
	f, err := os.Open(path)
	if err != nil {
		return h, err
	}
	defer f.Close()
	dec := json.NewDecoder(bufio.NewReaderSize(f, 8<<10))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return h, fmt.Errorf("not a JSON object")
	}
	haveValid, haveCounts := false, false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return h, err
		}
		key, _ := tok.(string)
		var dst any
		switch key {
		case "workload":
			dst = &h.Workload
		case "seed":
			dst = &h.Seed
		case "valid":
			dst, haveValid = &h.Valid, true
		case "anomaly_counts":
			dst, haveCounts = &h.AnomalyCounts, true
		case "finding_counts":
			dst = &h.FindingCounts
		case "ops":
			dst = &h.Ops
		case "checks":
			if haveValid && haveCounts {
				return h, nil
			}
			var checks checker.Result
			if err := dec.Decode(&checksOnly{&checks}); err != nil {
				return h, err
			}
			r := Report{Checks: checks}
			r.tally()
			h.AnomalyCounts, h.FindingCounts = r.AnomalyCounts, r.FindingCounts
			continue
		default:
			var skip json.RawMessage
			dst = &skip
		}
		if err := dec.Decode(dst); err != nil {
			return h, fmt.Errorf("%s: %w", key, err)
		}
	}
	if !haveValid {
		return h, errors.New(`no "valid"`)
	}
	return h, nil
}

// checksOnly decodes a stored composed result without its details, whose
// types only the checkers know.
type checksOnly struct{ r *checker.Result }

func (c *checksOnly) UnmarshalJSON(b []byte) error {
	var raw struct {
		Checker       string            `json:"checker"`
		Valid         checker.Validity  `json:"valid"`
		Advisory      string            `json:"advisory"`
		AnomalyCounts map[string]int    `json:"anomaly_counts"`
		Anomalies     []json.RawMessage `json:"anomalies"`
		Results       []json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*c.r = checker.Result{Checker: raw.Checker, Valid: raw.Valid, Advisory: raw.Advisory, AnomalyCounts: raw.AnomalyCounts}
	for _, a := range raw.Anomalies {
		var k struct {
			Kind string `json:"kind"`
		}
		_ = json.Unmarshal(a, &k)
		c.r.Anomalies = append(c.r.Anomalies, checker.Anomaly{Kind: k.Kind})
	}
	for _, sub := range raw.Results {
		var r checker.Result
		if err := (&checksOnly{&r}).UnmarshalJSON(sub); err != nil {
			return err
		}
		c.r.Results = append(c.r.Results, r)
	}
	return nil
}
