package results_test

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/faultline/faultline/internal/fixture"
	"github.com/faultline/faultline/results"
	"golang.org/x/net/html"
)

// page is a parsed report: its text, links and images.
type page struct {
	text   string
	links  []string
	images []string
	raw    string
}

func parseReport(t *testing.T, path string) page {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s does not parse: %v", path, err)
	}
	p := page{raw: string(b)}
	var text strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		switch {
		case n.Type == html.TextNode:
			text.WriteString(n.Data)
		case n.Type == html.ElementNode && n.Data == "a":
			for _, a := range n.Attr {
				if a.Key == "href" {
					p.links = append(p.links, a.Val)
				}
			}
		case n.Type == html.ElementNode && n.Data == "img":
			for _, a := range n.Attr {
				if a.Key == "src" {
					p.images = append(p.images, a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	p.text = strings.Join(strings.Fields(text.String()), " ")
	return p
}

// TestReportsOfTheFixtureRuns: each fixture run's report.html (written by
// WriteFiles, as a run or `faultline check --out` writes it) shows the
// verdict and every checker's part, findings as findings, the options,
// seed and versions, the op counts, the anomalies with their ops as the
// history has them, the fault timeline, its pictures inline, and links
// that all lead to files of the run; it loads nothing from elsewhere.
func TestReportsOfTheFixtureRuns(t *testing.T) {
	store := t.TempDir()
	if _, err := fixture.Materialize(store); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		run  string
		says []string
		pics int
	}{
		{fixture.ValidRun, []string{"zk-register valid", "linearizable-writes", "sequential", "seed 4242", "zk 3.8.4",
			"partition: 1/1 applied", "healed at", "Latency", "Throughput", "nemesis partition",
			"nemesis.partition", "zk-leader", "workload_options.reads"}, 2},
		{fixture.InvalidRun, []string{"kafka-queue invalid", "queue", "lost-write 75", "inconsistent-offsets 76",
			`"f":"send","key":"1","value":{"value":"9-1561"`, "kafka 3.9.2", "Unseen sends", "seed 1",
			"workload_options.acks", "\"leader\""}, 3},
		{fixture.UnknownRun, []string{"zk-register unknown", "faults unknown", "kill faults were requested but none applied",
			"did not apply: kill zk2: signal the server", "seed 977"}, 2},
	}
	for _, tc := range cases {
		t.Run(filepath.Dir(tc.run), func(t *testing.T) {
			dir := filepath.Join(store, tc.run)
			p := parseReport(t, filepath.Join(dir, results.ReportFile))
			for _, want := range tc.says {
				if !strings.Contains(p.text, want) {
					t.Errorf("the report does not say %q", want)
				}
			}
			if len(p.images) != tc.pics {
				t.Errorf("%d pictures, want %d", len(p.images), tc.pics)
			}
			for _, src := range p.images {
				data, ok := strings.CutPrefix(src, "data:image/png;base64,")
				if !ok {
					t.Errorf("picture %.40s is not inline", src)
					continue
				}
				b, err := base64.StdEncoding.DecodeString(data)
				if err != nil {
					t.Fatal(err)
				}
				img, err := png.Decode(bytes.NewReader(b))
				if err != nil || img.Bounds().Dx() < 500 {
					t.Errorf("picture: %v", err)
				}
			}
			if regexp.MustCompile(`(src|href)="(https?:)?//`).MatchString(p.raw) {
				t.Error("the report loads something from elsewhere")
			}
			if !strings.Contains(p.raw, `<svg class="timeline"`) {
				t.Error("no fault timeline")
			}
			found := map[string]bool{}
			for _, l := range p.links {
				if strings.HasPrefix(l, "#") {
					continue
				}
				u, err := url.Parse(l)
				if err != nil || u.IsAbs() {
					t.Errorf("link %q is not relative", l)
					continue
				}
				if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(u.Path))); err != nil && u.Path != results.ResultsFile {
					t.Errorf("link %q leads nowhere: %v", l, err)
				}
				found[u.Path] = true
			}
			for _, want := range []string{results.HistoryFile, results.ResultsFile, results.TestFile, results.LogFile, results.JUnitFile, "zk1/zookeeper.log"} {
				if !found[want] {
					t.Errorf("no link to %s among %v", want, p.links)
				}
			}
			if tc.run == fixture.InvalidRun && !found["kafka1/server.log"] {
				t.Error("no link to kafka1/server.log")
			}
		})
	}
}

// TestReportOfACheckElsewhere: `faultline check --out DIR` writes the
// report into DIR, its links leading back to the run's files.
func TestReportOfACheckElsewhere(t *testing.T) {
	store := t.TempDir()
	if err := os.CopyFS(store, os.DirFS(fixture.Dir())); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(store, fixture.ValidRun)
	rep, err := fixture.Check(run, false)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	if err := results.WriteFiles(out, &rep, results.From(run, filepath.Join(run, results.HistoryFile))); err != nil {
		t.Fatal(err)
	}
	p := parseReport(t, filepath.Join(out, results.ReportFile))
	var history string
	for _, l := range p.links {
		if strings.HasSuffix(l, results.HistoryFile) {
			history = l
		}
	}
	if history == "" {
		t.Fatalf("no link to the history: %v", p.links)
	}
	if _, err := os.Stat(filepath.Join(out, filepath.FromSlash(history))); err != nil {
		t.Errorf("the history's link %s leads nowhere: %v", history, err)
	}
	if len(p.images) != 2 {
		t.Errorf("%d pictures drawn from the run's history", len(p.images))
	}
	for _, f := range []string{results.JUnitFile, results.ResultsFile, results.LatencyPlotFile} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	if _, err := os.Stat(filepath.Join(run, results.ReportFile)); err == nil {
		t.Error("the report was written into the run's directory too")
	}
}

// TestReportWithoutAHistory: a report whose history cannot be read says
// so where the pictures would be.
func TestReportWithoutAHistory(t *testing.T) {
	store := t.TempDir()
	if err := os.CopyFS(store, os.DirFS(fixture.Dir())); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(store, fixture.ValidRun)
	rep, err := fixture.Check(run, false)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := results.WriteFiles(out, &rep, results.From(run, filepath.Join(run, "gone.jsonl"))); err != nil {
		t.Fatal(err)
	}
	p := parseReport(t, filepath.Join(out, results.ReportFile))
	if !strings.Contains(p.text, "no pictures of the history") || len(p.images) != 0 {
		t.Errorf("a report without its history: %d pictures, text %q", len(p.images), p.text)
	}
}
