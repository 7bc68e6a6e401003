package results

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/faultline/faultline/checker"
)

// WriteFiles writes into dir every file a person reads of a report: the
// checkers' artifacts (porcupine's visualizations), the plots, the
// pictures drawn from the history, results.json, report.html and
// junit.xml. It records in each checker's result the files written for
// it, and the run's own in r.Files. A file that cannot be drawn is noted
// in that result (or the report); an error means results.json, the
// report or junit.xml could not be written.
//
// The history and test.json are read from dir, unless From says where
// the run is (`faultline check --out` writes elsewhere).
func WriteFiles(dir string, r *Report, opts ...WriteOption) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("make %s: %w (give a directory faultline can write)", dir, err)
	}
	src := source{runDir: dir, history: filepath.Join(dir, HistoryFile)}
	for _, o := range opts {
		o(&src)
	}
	eachFile(r, dir, true)
	r.tally()
	r.Files = nil
	info, infoErr := ReadRunInfo(src.runDir)
	if err := WriteJUnit(filepath.Join(dir, JUnitFile), JUnitRun(*r, src.runDir, info)); err != nil {
		return err
	}
	if err := writeReport(dir, r, src, info, infoErr); err != nil {
		return err
	}
	r.Files = append(r.Files, ReportFile, JUnitFile)
	return WriteJSON(filepath.Join(dir, ResultsFile), r)
}

// WriteOption says where a report's run is.
type WriteOption func(*source)

// From says that the run whose report WriteFiles writes is in runDir
// (its test.json, log and nodes' folders), with its history at
// historyPath.
func From(runDir, historyPath string) WriteOption {
	return func(s *source) { s.runDir, s.history = runDir, historyPath }
}

// AttachFiles records in a report the files WriteFiles wrote for it into
// dir earlier (when a run is checked again without writing), so the
// summary points at them as the run's did.
func AttachFiles(dir string, r *Report) {
	eachFile(r, dir, false)
	r.Files = nil
	for _, f := range []string{LatencyPlotFile, ThroughputPlotFile, ReportFile, JUnitFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			r.Files = append(r.Files, f)
		}
	}
}

// eachFile names the files of a report's results, in a fixed order, and
// writes them, or keeps the names of those already in dir.
func eachFile(r *Report, dir string, write bool) {
	windows := faultWindows(r.Checks)
	taken := map[string]bool{ResultsFile: true}
	exists := func(name string) bool {
		_, err := os.Stat(filepath.Join(dir, name))
		return err == nil
	}
	writeLeaves(&r.Checks, func(res *checker.Result) {
		res.Files = nil
		for _, a := range res.Artifacts {
			name := uniqueName(a.Name(), taken)
			if !write {
				if exists(name) {
					res.Files = append(res.Files, name)
				}
				continue
			}
			if err := writeArtifact(filepath.Join(dir, name), a); err != nil {
				res.Notes = append(res.Notes, fmt.Sprintf("could not write %s: %v", name, err))
				continue
			}
			res.Files = append(res.Files, name)
		}
		if ld, ok := res.Details.(*checker.LeadershipDetails); ok && len(ld.Nodes) > 0 {
			switch {
			case !write:
				if exists(TimelinePlotFile) {
					res.Files = append(res.Files, TimelinePlotFile)
				}
			default:
				if name, err := writeTimelinePlot(dir, ld, windows); err != nil {
					res.Notes = append(res.Notes, fmt.Sprintf("could not draw the timeline: %v", err))
				} else {
					res.Files = append(res.Files, name)
				}
			}
		}
		if ld, ok := res.Details.(*checker.LockDetails); ok {
			switch {
			case !write:
				if exists(LocksPlotFile) {
					res.Files = append(res.Files, LocksPlotFile)
				}
			case len(ld.Holds) > 0:
				if name, err := writeLocksPlot(dir, ld, windows); err != nil {
					res.Notes = append(res.Notes, fmt.Sprintf("could not draw the lock holders: %v", err))
				} else {
					res.Files = append(res.Files, name)
				}
			}
		}
		if qd, ok := res.Details.(*checker.QueueDetails); ok {
			if !write {
				if exists(UnseenPlotFile) {
					res.Files = append(res.Files, UnseenPlotFile)
				}
				return
			}
			name, err := writeUnseenPlot(dir, qd.UnseenSeries, windows)
			if err != nil {
				res.Notes = append(res.Notes, fmt.Sprintf("could not draw the unseen plot: %v", err))
			} else {
				res.Files = append(res.Files, name)
			}
		}
	})
}

// writeLeaves calls fn on every leaf of a composed result, in place.
func writeLeaves(r *checker.Result, fn func(*checker.Result)) {
	if len(r.Results) == 0 {
		fn(r)
		return
	}
	for i := range r.Results {
		writeLeaves(&r.Results[i], fn)
	}
}

// faultWindows finds the fault windows among a result's leaves.
func faultWindows(r checker.Result) []checker.FaultWindow {
	for _, lr := range r.Leaves() {
		if fd, ok := lr.Details.(*checker.FaultDetails); ok {
			return fd.Windows
		}
	}
	return nil
}

// uniqueName returns name, or name with -2, -3... before its extension
// when taken, and marks it taken.
func uniqueName(name string, taken map[string]bool) string {
	ext := filepath.Ext(name)
	base := strings.TrimSuffix(name, ext)
	out := name
	for n := 2; taken[out]; n++ {
		out = fmt.Sprintf("%s-%d%s", base, n, ext)
	}
	taken[out] = true
	return out
}

func writeArtifact(path string, a checker.Artifact) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := a.WriteTo(f); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}
