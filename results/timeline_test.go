package results

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/history"
)

// leadershipHistory is a run observed for 30 s: three ZooKeeper nodes,
// zk1 leading until a partition at 10 s, zk2 from 12 s while zk1 still
// believes it leads until 14 s, zk3 not answering in the partition; three
// brokers, kafka1 the controller, leading partitions 0 and 1 of 3, with
// kafka2 taking partition 0 over at 12 s.
func leadershipHistory() []history.Op {
	var ops []history.Op
	add := func(ms int64, p history.Process, typ history.Type, f, value, errText string) {
		op := history.Op{Index: int64(len(ops)), Time: ms * 1e6, Process: p, Type: typ, F: f, Error: errText}
		if value != "" {
			op.Value = json.RawMessage(value)
		}
		ops = append(ops, op)
	}
	add(10_000, history.Nemesis, history.Invoke, "start-partition", `{"kind":"partition"}`, "")
	add(10_010, history.Nemesis, history.Info, "start-partition", `{"drops":{}}`, "")
	for s := int64(0); s < 30; s++ {
		ms := s * 1000
		if s == 20 {
			add(ms, history.Nemesis, history.Invoke, "stop-partition", "", "")
			add(ms+5, history.Nemesis, history.Info, "stop-partition", `"healed"`, "")
		}
		for i, node := range []string{"zk1", "zk2", "zk3"} {
			t := ms + int64(i)*20 + 10
			add(t, history.Observer, history.Invoke, "zk-mode", fmt.Sprintf(`{"node":%q}`, node), "")
			mode, epoch := "follower", 5
			switch {
			case node == "zk3" && s >= 10 && s < 20:
				add(t+5, history.Observer, history.Info, "zk-mode", fmt.Sprintf(`{"node":%q}`, node), "timeout")
				continue
			case node == "zk1" && s < 14:
				mode = "leader"
			case node == "zk2" && s >= 12:
				mode, epoch = "leader", 6
			case node == "zk1" && s < 16:
				mode = "looking"
			}
			add(t+2, history.Observer, history.OK, "zk-mode", fmt.Sprintf(`{"node":%q,"mode":%q,"epoch":%d,"zxid":1}`, node, mode, epoch), "")
		}
		for i, node := range []string{"kafka1", "kafka2", "kafka3"} {
			t := ms + 100 + int64(i)*20
			add(t, history.Observer, history.Invoke, "kafka-view", fmt.Sprintf(`{"node":%q}`, node), "")
			leaders := `{"0":1,"1":1,"2":3}`
			if s >= 12 && node != "kafka1" || s >= 15 {
				leaders = `{"0":2,"1":1,"2":3}`
			}
			add(t+2, history.Observer, history.OK, "kafka-view", fmt.Sprintf(`{"node":%q,"id":%d,"controller":1,"leaders":%s,"leader_epochs":{}}`, node, i+1, leaders), "")
		}
	}
	return ops
}

func leadershipReport(t *testing.T) Report {
	t.Helper()
	ops := leadershipHistory()
	res := checker.All(checker.Faults{}, checker.Leadership{}).Check(context.Background(), ops, checker.Options{})
	lr := res.Results[1]
	if lr.Valid != checker.Invalid || lr.AnomalyCounts["zk-leader-overlap"] != 1 || lr.AnomalyCounts["partition-leader-overlap"] != 1 {
		t.Fatalf("leadership: %v %v %q %q", lr.Valid, lr.AnomalyCounts, lr.Error, lr.Notes)
	}
	return Report{Workload: "zk-lock", Seed: 1, TimeLimit: 30e9, Valid: res.Valid, Checks: res}
}

func TestTimelinePicture(t *testing.T) {
	r := leadershipReport(t)
	d := r.Checks.Results[1].Details.(*checker.LeadershipDetails)
	b, err := timelinePicture(d, r.Checks.Results[0].Details.(*checker.FaultDetails).Windows)
	if err != nil {
		t.Fatal(err)
	}
	lanesImage(t, b, TimelinePlotFile, 300)
	if _, err := timelinePicture(&checker.LeadershipDetails{}, nil); err == nil {
		t.Error("no nodes: no error")
	}
}

// lanesImage decodes a picture of lanes (timeline.png, locks.png) and
// checks its size: 1056 pixels wide, at least minH high.
func lanesImage(t *testing.T, b []byte, file string, minH int) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w != 1056 || h < minH || h > 1000 {
		t.Errorf("%s is %d×%d", file, w, h)
	}
	return img
}

// writesPicture writes r's files into dir and checks that the picture
// file is there, named by r's result leaf, shown in the report under
// title with its caption, and found again by AttachFiles for again.
func writesPicture(t *testing.T, dir string, r, again Report, leaf int, file, title, caption string) {
	t.Helper()
	if err := WriteFiles(dir, &r); err != nil {
		t.Fatal(err)
	}
	lr := r.Checks.Results[leaf]
	if !slices.Contains(lr.Files, file) {
		t.Fatalf("%s files %v, notes %q", lr.Checker, lr.Files, lr.Notes)
	}
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	lanesImage(t, b, file, 200)
	html, _ := os.ReadFile(filepath.Join(dir, ReportFile))
	if !strings.Contains(string(html), title) || !strings.Contains(string(html), caption) {
		t.Errorf("report.html does not show %s", file)
	}
	AttachFiles(dir, &again)
	if !slices.Contains(again.Checks.Results[leaf].Files, file) {
		t.Errorf("AttachFiles found %v", again.Checks.Results[leaf].Files)
	}
}

// TestWriteFilesTimeline: a run with a leadership result gets
// timeline.png, named in that result and shown in the report.
func TestWriteFilesTimeline(t *testing.T) {
	dir := t.TempDir()
	r := leadershipReport(t)
	writesPicture(t, dir, r, leadershipReport(t), 1, TimelinePlotFile, "Leadership timeline", "What each node believed about leadership over time")
	var b strings.Builder
	PrintSummary(&b, r, "")
	if out := b.String(); !strings.Contains(out, "leadership: false (6 nodes observed; zk leaders 1 (longest 2.0s, during partition); controllers 0; partition leaders 1 (longest 3.0s, during partition)) — a finding, not part of the verdict") {
		t.Errorf("summary:\n%s", out)
	}
	if os.Getenv("FAULTLINE_KEEP_TIMELINE") != "" {
		b, _ := os.ReadFile(filepath.Join(dir, TimelinePlotFile))
		os.WriteFile(os.Getenv("FAULTLINE_KEEP_TIMELINE"), b, 0o644)
	}
}
