package results

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/history"
)

// lockReport checks a zk-lock history of 20 s: processes 0 and 1 take
// lock l1 in turn, and from 8 s to 12 s, in a partition, both believe they
// hold it (a split brain); process 2 holds l2 alone.
func lockReport(t *testing.T) Report {
	t.Helper()
	var ops []history.Op
	add := func(ms int64, p history.Process, typ history.Type, f, key, value string) {
		op := history.Op{Index: int64(len(ops)), Time: ms * 1e6, Process: p, Type: typ, F: f, Key: key}
		if value != "" {
			op.Value = json.RawMessage(value)
		}
		ops = append(ops, op)
	}
	token := int64(0)
	hold := func(p history.Process, lock string, from, to int64) {
		token++
		add(from-5, p, history.Invoke, "acquire", lock, `{"client":"naive"}`)
		add(from, p, history.OK, "acquire", lock, fmt.Sprintf(`{"token":%d,"node":"/faultline/locks/%s/lock-%010d","session":"0x%x"}`, token, lock, token, 0x100+int(p)))
		v := fmt.Sprintf(`{"token":%d}`, token)
		add(to, p, history.Invoke, "release", lock, v)
		add(to+3, p, history.OK, "release", lock, v)
	}
	add(7000, history.Nemesis, history.Invoke, "start-partition", "", `{"kind":"partition"}`)
	add(7010, history.Nemesis, history.Info, "start-partition", "", `{"drops":{}}`)
	hold(0, "l1", 1000, 3000)
	hold(1, "l1", 3100, 5000)
	hold(2, "l2", 1000, 19_000)
	hold(0, "l1", 5100, 12_000)
	hold(1, "l1", 8000, 15_000) // p0's session expired in the partition
	add(14_000, history.Nemesis, history.Invoke, "stop-partition", "", "")
	add(14_005, history.Nemesis, history.Info, "stop-partition", "", `"healed"`)
	slices.SortStableFunc(ops, func(a, b history.Op) int { return int(a.Time - b.Time) })
	for i := range ops {
		ops[i].Index = int64(i)
	}
	res := checker.All(checker.Faults{}, checker.Lock{}).Check(context.Background(), ops, checker.Options{})
	if lr := res.Results[1]; lr.AnomalyCounts["split-brain"] != 1 {
		t.Fatalf("lock: %v %v %q %q", lr.Valid, lr.AnomalyCounts, lr.Error, lr.Notes)
	}
	return Report{Workload: "zk-lock", Seed: 1, TimeLimit: 20e9, Valid: res.Valid, Checks: res}
}

// TestLocksPicture: a lane per lock; the split brain is marked red above
// l1's lane where it happened (8 to 12 s) and nowhere else.
func TestLocksPicture(t *testing.T) {
	r := lockReport(t)
	d := r.Checks.Results[1].Details.(*checker.LockDetails)
	b, err := locksPicture(d, r.Checks.Results[0].Details.(*checker.FaultDetails).Windows)
	if err != nil {
		t.Fatal(err)
	}
	img := lanesImage(t, b, LocksPlotFile, 200)
	// Find the plot's time axis from the red pixels: they must form one
	// run, of about 4 s in 20 s (a fifth of the axis, give or take the
	// legend's red swatch, which lies far to the right).
	var xs []int
	for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
		for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
			if isRed(img, x, y) {
				xs = append(xs, x)
				break
			}
		}
	}
	if len(xs) == 0 {
		t.Fatal("no split brain drawn")
	}
	runs := [][2]int{{xs[0], xs[0]}}
	for _, x := range xs[1:] {
		if x == runs[len(runs)-1][1]+1 {
			runs[len(runs)-1][1] = x
		} else {
			runs = append(runs, [2]int{x, x})
		}
	}
	// The mark, and the legend's swatch.
	if len(runs) != 2 {
		t.Fatalf("red columns in runs %v, want the mark and the legend's swatch", runs)
	}
	if width := runs[0][1] - runs[0][0]; width < 120 || width > 220 {
		t.Errorf("the split brain's mark is %d pixels wide, want about a fifth of the ~850 pixel axis", width)
	}
	if _, err := locksPicture(&checker.LockDetails{}, nil); err == nil {
		t.Error("no holds: no error")
	}
}

func isRed(img image.Image, x, y int) bool {
	r, g, b, _ := img.At(x, y).RGBA()
	return r>>8 == uint32(overlapColor.R) && g>>8 == uint32(overlapColor.G) && b>>8 == uint32(overlapColor.B)
}

// TestWriteFilesLocks: a zk-lock run gets locks.png, named in the lock
// result and shown in the report; a check again finds it.
func TestWriteFilesLocks(t *testing.T) {
	dir := t.TempDir()
	writesPicture(t, dir, lockReport(t), lockReport(t), 1, LocksPlotFile, "Lock holders", "Who believed they held each lock over time")
	if out := os.Getenv("FAULTLINE_KEEP_LOCKS"); out != "" {
		b, _ := os.ReadFile(filepath.Join(dir, LocksPlotFile))
		os.WriteFile(out, b, 0o644)
	}
}

// BenchmarkLocksPicture draws the most holds and overlaps the lock
// checker keeps, over 10 locks and an hour.
func BenchmarkLocksPicture(b *testing.B) {
	d := &checker.LockDetails{}
	for i := range checker.MaxLockHolds {
		start := int64(i) * 72e6 // an hour in all
		d.Holds = append(d.Holds, checker.LockHold{Lock: fmt.Sprintf("l%d", i%10), Process: history.Process(i % 30), Client: "naive", Token: int64(i), Start: start, End: start + 700e6})
	}
	for i := range checker.MaxLockOverlaps {
		start := int64(i) * 360e6
		d.Overlaps = append(d.Overlaps, checker.LockOverlap{Lock: fmt.Sprintf("l%d", i%10), Clients: [2]string{"naive", "naive"}, Start: start, End: start + 10e6})
	}
	for b.Loop() {
		if _, err := locksPicture(d, nil); err != nil {
			b.Fatal(err)
		}
	}
}
