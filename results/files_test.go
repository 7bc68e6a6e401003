package results

import (
	"encoding/json"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline/faultline/checker"
)

// page is an artifact for tests.
type page struct{ name, body string }

func (p page) Name() string { return p.name }
func (p page) WriteTo(w io.Writer) (int64, error) {
	n, err := io.WriteString(w, p.body)
	return int64(n), err
}

func testReport() Report {
	faults := checker.Result{Checker: "faults", Valid: checker.Valid, Details: &checker.FaultDetails{
		Kinds:   []checker.FaultKind{{Kind: "partition", Requested: true, Started: 1, Applied: 1}},
		Windows: []checker.FaultWindow{{Kind: "partition", Start: 1e9, Stop: 2e9, Applied: true, What: `{"shape":"one"}`}},
		Heal:    &checker.FaultHeal{Done: true},
	}}
	queue := checker.Result{Checker: "queue", Valid: checker.Invalid, DurationMS: 1234, AnomalyCounts: map[string]int{"lost-write": 2, "duplicate": 0},
		Details:   &checker.QueueDetails{Unseen: 2, UnseenSeries: []checker.UnseenPoint{{Time: 0, Unseen: 0}, {Time: 3e9, Unseen: 2}}},
		Anomalies: []checker.Anomaly{{Kind: "lost-write", Key: "0", Message: "gone"}},
		Artifacts: []checker.Artifact{page{"a.html", "<p>a</p>"}, page{"a.html", "<p>again</p>"}}}
	stale := checker.Result{Checker: "linearizable-reads", Valid: checker.Invalid, Advisory: "not promised by ZooKeeper",
		Anomalies: []checker.Anomaly{{Kind: "stale-read", Message: "read 1 after 2"}}}
	return Report{Workload: "kafka-queue", Seed: 9, TimeLimit: 4e9, Valid: checker.Invalid,
		Ops:    OpStats{InTimeLimit: 40, PerSecond: 10, ByF: map[string]checker.Counts{"send": {Calls: 30, OK: 29, Info: 1}}},
		Checks: checker.Compose(faults, queue, stale)}
}

// TestWriteFiles: every artifact and plot is written, once each, named in
// its result, and results.json holds the report; AttachFiles finds the
// same names again without writing.
func TestWriteFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "made")
	r := testReport()
	if err := WriteFiles(dir, &r); err != nil {
		t.Fatal(err)
	}
	q := r.Checks.Results[1]
	if strings.Join(q.Files, ",") != "a.html,a-2.html,"+UnseenPlotFile {
		t.Errorf("files %v", q.Files)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a-2.html")); string(b) != "<p>again</p>" {
		t.Errorf("a-2.html holds %q", b)
	}
	f, err := os.Open(filepath.Join(dir, UnseenPlotFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil || img.Bounds().Dx() < 500 {
		t.Fatalf("unseen.png: %v", err)
	}
	var back map[string]any
	b, _ := os.ReadFile(filepath.Join(dir, ResultsFile))
	if err := json.Unmarshal(b, &back); err != nil || back["valid"] != false || back["workload"] != "kafka-queue" {
		t.Errorf("results.json: %v %v", err, back)
	}
	again := testReport()
	AttachFiles(dir, &again)
	if got := again.Checks.Results[1].Files; strings.Join(got, ",") != strings.Join(q.Files, ",") {
		t.Errorf("AttachFiles found %v, WriteFiles wrote %v", got, q.Files)
	}
	elsewhere := testReport()
	AttachFiles(t.TempDir(), &elsewhere)
	if got := elsewhere.Checks.Results[1].Files; len(got) != 0 {
		t.Errorf("AttachFiles in an empty directory found %v", got)
	}
}

func TestPrintSummary(t *testing.T) {
	var b strings.Builder
	r := testReport()
	PrintSummary(&b, r, "store/x")
	out := b.String()
	for _, want := range []string{
		"40 ops in 4s, 10 ops/s, seed 9",
		"send  29     0     1           0",
		"faults: true (partition 1/1 applied; healed)",
		"1.0s–   2.0s partition",
		"queue: false",
		"found: lost-write 2\n",
		"lost-write on key 0: gone",
		"linearizable-reads: false — a finding, not part of the verdict: not promised by ZooKeeper",
		"finding: stale-read: read 1 after 2",
		"verdict: INVALID   store/x",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "checked in") {
		t.Errorf("the summary shows timings, which differ between a run and its check:\n%s", out)
	}
}
