package results

import (
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/faultline/faultline/checker"
)

// ReportFile is a run's report: one HTML file, its pictures inline, that
// opens from the disk (file://) as well as from `faultline serve`.
const ReportFile = "report.html"

//go:embed report.html.tmpl
var reportTemplateText string

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"verdictClass": verdictClass,
}).Parse(reportTemplateText))

// maxAnomaliesInReport bounds the anomalies the report shows per checker;
// results.json has them all.
const maxAnomaliesInReport = 20

// reportPage is what the report's template shows.
type reportPage struct {
	Test, Workload, Verdict string
	Start, TimeLimit        string
	Seed                    uint64
	Versions, Nemesis       string
	Concurrency             int
	Dir                     string
	Written                 string
	Notes                   []string
	Checks                  []checkView
	Ops                     []opsRow
	OpsTotal                opsRow
	InTimeLimit             int
	PerSecond               float64
	Faults                  *faultsView
	Pictures                []pictureView
	PictureNotes            []string
	Options                 []optionRow
	Files                   []fileLink
}

type checkView struct {
	Name, Verdict  string
	Finding        bool
	Advisory       string
	Headline       string
	Lines          []string
	Counts         []kindCountView
	Notes          []string
	Error          string
	Anomalies      []anomalyView
	MoreAnomalies  int
	Files          []fileLink
	DurationMS     int64
	AnomaliesTitle string
}

type kindCountView struct {
	Kind  string
	Count int
}

type anomalyView struct {
	Kind, Key, Message string
	At                 string
	Ops                []string
}

type opsRow struct {
	F                                 string
	Calls, OK, Fail, Info, Incomplete int
}

type faultsView struct {
	Timeline template.HTML
	Kinds    []checker.FaultKind
	Windows  []windowView
	Heal     string
	Notes    []string
}

type windowView struct {
	Kind, Start, Stop, What, Error, StopError string
	Applied                                   bool
	Color                                     string
}

type pictureView struct {
	Title, File, Caption string
	Src                  template.URL
}

type optionRow struct{ Key, Value string }

type fileLink struct {
	Name, Href, Note string
}

// verdictWord is "valid", "invalid" or "unknown".
func verdictWord(v checker.Validity) string {
	switch v {
	case checker.Valid:
		return "valid"
	case checker.Invalid:
		return "invalid"
	}
	return "unknown"
}

func verdictClass(v string) string {
	switch v {
	case "valid", "true":
		return "valid"
	case "invalid", "false":
		return "invalid"
	default:
		return "unknown"
	}
}

// source is where a report's run is: its directory (test.json, the
// logs) and its history, which need not be where the report is written
// (`faultline check --out`).
type source struct {
	runDir, history string
}

// writeReport draws the pictures from the history into dir and writes
// the report. Pictures that cannot be drawn are said so in the report.
func writeReport(dir string, r *Report, src source, info RunInfo, infoErr error) error {
	page := reportPage{
		Test: r.Test, Workload: r.Workload, Verdict: verdictWord(r.Valid), Seed: r.Seed,
		Notes: r.Notes, Dir: src.runDir, Written: time.Now().UTC().Format(time.RFC3339),
		InTimeLimit: r.Ops.InTimeLimit, PerSecond: r.Ops.PerSecond,
	}
	if page.Test == "" {
		page.Test = r.Workload
	}
	if r.TimeLimit > 0 {
		page.TimeLimit = r.TimeLimit.String()
	}
	if infoErr == nil {
		if !info.Start.IsZero() {
			page.Start = info.Start.UTC().Format("2006-01-02 15:04:05 UTC")
		}
		page.Versions, page.Nemesis, page.Concurrency = info.VersionsText(), info.NemesisText(), info.Concurrency
		page.Options = optionRows(info.Raw)
	} else if !os.IsNotExist(infoErr) {
		page.Notes = append(page.Notes, fmt.Sprintf("could not read %s: %v", TestFile, infoErr))
	}
	for _, f := range slices.Sorted(maps.Keys(r.Ops.ByF)) {
		c := r.Ops.ByF[f]
		page.Ops = append(page.Ops, opsRow{f, c.Calls, c.OK, c.Fail, c.Info, c.Incomplete})
	}
	t := r.Ops.Total
	page.OpsTotal = opsRow{"all", t.Calls, t.OK, t.Fail, t.Info, t.Incomplete}

	windows := faultWindows(r.Checks)
	var series *opSeries
	var end int64
	if s, err := readSeries(src.history); err != nil {
		page.PictureNotes = append(page.PictureNotes, fmt.Sprintf("no pictures of the history: %v", err))
	} else {
		series, end = s, s.end
	}
	for _, lr := range r.Checks.Leaves() {
		if fd, ok := lr.Details.(*checker.FaultDetails); ok {
			page.Faults = faultsOf(fd, lr, max(end, int64(r.TimeLimit)), r.TimeLimit)
		}
		page.Checks = append(page.Checks, checkOf(lr, dir))
	}
	if series != nil {
		for _, draw := range []struct {
			title string
			fn    func(*opSeries, []checker.FaultWindow) (picture, error)
		}{{"Latency", latencyPicture}, {"Throughput", throughputPicture}} {
			pic, err := draw.fn(series, windows)
			if err == nil {
				err = os.WriteFile(filepath.Join(dir, pic.File), pic.PNG, 0o644)
			}
			if err != nil {
				page.PictureNotes = append(page.PictureNotes, fmt.Sprintf("could not draw the %s picture: %v", strings.ToLower(draw.title), err))
				continue
			}
			r.Files = append(r.Files, pic.File)
			page.Pictures = append(page.Pictures, pictureView{Title: draw.title, File: pic.File, Caption: pic.Caption, Src: dataURI(pic.PNG)})
		}
	}
	for _, lr := range r.Checks.Leaves() {
		if slices.Contains(lr.Files, UnseenPlotFile) {
			if b, err := os.ReadFile(filepath.Join(dir, UnseenPlotFile)); err == nil {
				page.Pictures = append(page.Pictures, pictureView{Title: "Unseen sends", File: UnseenPlotFile, Src: dataURI(b),
					Caption: "Acknowledged sends that no poll had returned yet, over time (the queue checker's unseen series): it should fall back to zero after every fault; what is still unseen at the end was lost or never read. Shaded bands are the fault windows."})
			}
		}
	}
	for _, lr := range r.Checks.Leaves() {
		if slices.Contains(lr.Files, LocksPlotFile) {
			if b, err := os.ReadFile(filepath.Join(dir, LocksPlotFile)); err == nil {
				page.Pictures = append(page.Pictures, pictureView{Title: "Lock holders", File: LocksPlotFile, Src: dataURI(b), Caption: locksCaption})
			}
		}
	}
	for _, lr := range r.Checks.Leaves() {
		if slices.Contains(lr.Files, TimelinePlotFile) {
			if b, err := os.ReadFile(filepath.Join(dir, TimelinePlotFile)); err == nil {
				page.Pictures = append(page.Pictures, pictureView{Title: "Leadership timeline", File: TimelinePlotFile, Src: dataURI(b), Caption: timelineCaption})
			}
		}
	}
	page.Files = runFiles(dir, src, r)

	f, err := os.CreateTemp(dir, ".report-*.html")
	if err != nil {
		return fmt.Errorf("write %s: %w", ReportFile, err)
	}
	defer os.Remove(f.Name())
	if err := reportTemplate.Execute(f, page); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", ReportFile, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", ReportFile, err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), filepath.Join(dir, ReportFile))
}

func dataURI(png []byte) template.URL {
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
}

// checkOf shows one checker's result.
func checkOf(lr checker.Result, dir string) checkView {
	v := checkView{Name: lr.Checker, Verdict: verdictWord(lr.Valid), Finding: lr.Advisory != "", Advisory: lr.Advisory,
		Notes: lr.Notes, Error: lr.Error, DurationMS: lr.DurationMS, AnomaliesTitle: "Anomalies"}
	if v.Finding {
		v.AnomaliesTitle = "Findings"
	}
	if lr.Details != nil {
		v.Headline, v.Lines = lr.Details.Summary()
	}
	if _, ok := lr.Details.(*checker.FaultDetails); ok {
		v.Lines = nil // the faults have their own section
	}
	for _, k := range slices.Sorted(maps.Keys(lr.AnomalyCounts)) {
		if n := lr.AnomalyCounts[k]; n > 0 {
			v.Counts = append(v.Counts, kindCountView{k, n})
		}
	}
	for i, a := range lr.Anomalies {
		if i == maxAnomaliesInReport {
			v.MoreAnomalies = len(lr.Anomalies) - i
			break
		}
		av := anomalyView{Kind: a.Kind, Key: a.Key, Message: a.Message}
		if a.At != nil {
			b, _ := json.Marshal(a.At)
			av.At = string(b)
		}
		for _, op := range a.Ops {
			b, _ := json.Marshal(op)
			av.Ops = append(av.Ops, clip(string(b), 4096))
		}
		v.Anomalies = append(v.Anomalies, av)
	}
	for _, f := range lr.Files {
		v.Files = append(v.Files, fileLink{Name: f, Href: relHref(dir, filepath.Join(dir, f))})
	}
	return v
}

// faultsOf shows the faults: a timeline, a row per window, the heal.
func faultsOf(fd *checker.FaultDetails, lr checker.Result, end int64, limit time.Duration) *faultsView {
	if len(fd.Kinds) == 0 && len(fd.Windows) == 0 && fd.Heal == nil {
		return nil
	}
	fv := &faultsView{Kinds: fd.Kinds, Notes: lr.Notes}
	for _, w := range fd.Windows {
		fv.Windows = append(fv.Windows, windowView{Kind: w.Kind, Start: fmtSec(w.Start), Stop: fmtSec(w.Stop), What: w.What,
			Error: w.Error, StopError: w.StopError, Applied: w.Applied, Color: cssColor(faultColor(w.Kind))})
	}
	switch h := fd.Heal; {
	case h == nil && len(fd.Windows) > 0:
		fv.Heal = "no final heal recorded"
	case h == nil:
	case h.Done:
		fv.Heal = fmt.Sprintf("healed at %s", fmtSec(h.Time))
	default:
		fv.Heal = fmt.Sprintf("the final heal at %s failed: %s", fmtSec(h.Time), h.Error)
	}
	fv.Timeline = timelineSVG(fd, end, limit)
	return fv
}

func fmtSec(ns int64) string { return fmt.Sprintf("%.1fs", float64(ns)/1e9) }

// timelineSVG draws the fault windows as bars on the history's clock, a
// row per kind, with the time limit and the final heal marked.
func timelineSVG(fd *checker.FaultDetails, end int64, limit time.Duration) template.HTML {
	var kinds []string
	for _, k := range fd.Kinds {
		kinds = append(kinds, k.Kind)
	}
	for _, w := range fd.Windows {
		if !slices.Contains(kinds, w.Kind) {
			kinds = append(kinds, w.Kind)
		}
	}
	if fd.Heal != nil {
		end = max(end, fd.Heal.Time)
	}
	end = max(end, int64(time.Second))
	const left, width, rowH, top = 90.0, 880.0, 26.0, 8.0
	h := top + rowH*float64(len(kinds)) + 30
	x := func(ns int64) float64 { return left + width*float64(ns)/float64(end) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="timeline" viewBox="0 0 %.0f %.0f" width="100%%" role="img" aria-label="fault timeline" xmlns="http://www.w3.org/2000/svg">`, left+width+20, h)
	// Axis with round ticks.
	axisY := top + rowH*float64(len(kinds)) + 4
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#555"/>`, left, axisY, left+width, axisY)
	tick := bucketWidth(end) * 10
	for t := int64(0); t <= end; t += tick {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#555"/><text x="%.1f" y="%.1f" font-size="11" text-anchor="middle">%s</text>`,
			x(t), axisY, x(t), axisY+4, x(t), axisY+16, html.EscapeString(fmtSeconds(t)))
	}
	for i, k := range kinds {
		y := top + rowH*float64(i)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="12" text-anchor="end">%s</text>`, left-6, y+rowH/2+4, html.EscapeString(k))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/>`, left, y+rowH/2, left+width, y+rowH/2)
		for _, w := range fd.Windows {
			if w.Kind != k {
				continue
			}
			x0, x1 := x(w.Start), max(x(w.Stop), x(w.Start)+2)
			fill, stroke := cssColor(faultColor(k)), "#888"
			title := fmt.Sprintf("%s %s–%s %s", k, fmtSec(w.Start), fmtSec(w.Stop), w.What)
			if !w.Applied {
				fill, stroke = "#fff", "#d62728"
				title += " — did not apply: " + w.Error
			}
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" stroke="%s"><title>%s</title></rect>`,
				x0, y+4, x1-x0, rowH-8, fill, stroke, html.EscapeString(title))
		}
	}
	if limit > 0 {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333" stroke-dasharray="4 3"><title>time limit %s</title></line>`,
			x(int64(limit)), top-4, x(int64(limit)), axisY, html.EscapeString(limit.String()))
	}
	if fd.Heal != nil {
		c := "#2ca02c"
		if !fd.Heal.Done {
			c = "#d62728"
		}
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2"><title>final heal at %s</title></line>`,
			x(fd.Heal.Time), top-4, x(fd.Heal.Time), axisY, c, fmtSec(fd.Heal.Time))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// optionRows flattens test.json into dotted keys and values. Durations
// (nanoseconds under a name that says so) are shown as durations too.
func optionRows(raw json.RawMessage) []optionRow {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	var rows []optionRow
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch t := v.(type) {
		case map[string]any:
			if len(t) == 0 {
				rows = append(rows, optionRow{prefix, "{}"})
			}
			for _, k := range slices.Sorted(maps.Keys(t)) {
				key := k
				if prefix != "" {
					key = prefix + "." + k
				}
				walk(key, t[k])
			}
		case float64:
			s := strings.TrimSuffix(fmt.Sprintf("%.0f", t), ".0")
			if t != float64(int64(t)) {
				s = fmt.Sprint(t)
			}
			if durationKey(prefix) && t >= 1e6 {
				s += " (" + time.Duration(int64(t)).String() + ")"
			}
			rows = append(rows, optionRow{prefix, s})
		default:
			b, _ := json.Marshal(t)
			rows = append(rows, optionRow{prefix, string(b)})
		}
	}
	walk("", m)
	return rows
}

func durationKey(k string) bool {
	k = k[strings.LastIndex(k, ".")+1:]
	for _, s := range []string{"timeout", "time_limit", "period", "interval", "delay", "jitter", "tick_time"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

// runFiles lists the files a person digs into from the report: the
// history, results.json, test.json, the log, JUnit, each node's logs and
// configs, and the checkers' files.
func runFiles(dir string, src source, r *Report) []fileLink {
	var out []fileLink
	add := func(name, path, note string) {
		if _, err := os.Stat(path); err == nil || name == ResultsFile {
			out = append(out, fileLink{Name: name, Href: relHref(dir, path), Note: note})
		}
	}
	add(HistoryFile, src.history, "every op, one JSON line each (docs/history.md)")
	add(ResultsFile, filepath.Join(dir, ResultsFile), "the verdict and everything behind it (docs/results.md)")
	add(TestFile, filepath.Join(src.runDir, TestFile), "the test's options, seed, versions and fault schedule")
	add(LogFile, filepath.Join(src.runDir, LogFile), "the harness's log, client libraries' included")
	add(JUnitFile, filepath.Join(dir, JUnitFile), "for CI")
	entries, _ := os.ReadDir(src.runDir)
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		node := e.Name()
		files, _ := os.ReadDir(filepath.Join(src.runDir, node))
		var logs, other []string
		for _, f := range files {
			if !f.Type().IsRegular() {
				continue
			}
			if strings.HasSuffix(f.Name(), ".log") || strings.Contains(f.Name(), ".log.") {
				logs = append(logs, f.Name())
			} else if strings.HasSuffix(f.Name(), ".cfg") || strings.HasSuffix(f.Name(), ".properties") {
				other = append(other, f.Name())
			}
		}
		if len(logs) == 0 {
			continue
		}
		for _, f := range logs {
			add(node+"/"+f, filepath.Join(src.runDir, node, f), node+"'s server log")
		}
		for _, f := range other {
			add(node+"/"+f, filepath.Join(src.runDir, node, f), node+"'s config")
		}
	}
	seen := map[string]bool{}
	for _, lr := range r.Checks.Leaves() {
		for _, f := range lr.Files {
			seen[f] = true
			add(f, filepath.Join(dir, f), lr.Checker)
		}
	}
	if more, _ := filepath.Glob(filepath.Join(dir, "linearizability-*.html")); len(more) > 0 {
		sort.Strings(more)
		for _, p := range more {
			if !seen[filepath.Base(p)] {
				add(filepath.Base(p), p, "porcupine's view")
			}
		}
	}
	for _, f := range r.Files {
		add(f, filepath.Join(dir, f), "")
	}
	return out
}

// relHref is a link from a file in dir to path: relative, so the report
// works from the disk and from `faultline serve` alike.
func relHref(dir, path string) string {
	rel, err := filepath.Rel(dir, path)
	if err != nil {
		abs, _ := filepath.Abs(path)
		return (&url.URL{Scheme: "file", Path: abs}).String()
	}
	parts := strings.Split(filepath.ToSlash(rel), "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}
