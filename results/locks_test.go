package results

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
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

// TestLocksPicture: the split brain is marked red above l1's lane where
// it happened (8 to 12 s) and nowhere else.
func TestLocksPicture(t *testing.T) {
	r := lockReport(t)
	d := r.Checks.Results[1].Details.(*checker.LockDetails)
	b, err := locksPicture(d, r.Checks.Results[0].Details.(*checker.FaultDetails).Windows)
	if err != nil {
		t.Fatal(err)
	}
	img := lanesImage(t, b, LocksPlotFile, 200)
	x := timeAxis(t, img, 7, 14) // the partition's shade
	// The mark, then the legend's swatch far to the right.
	runs := columnRuns(img, func(c color.RGBA) bool { return c == overlapColor })
	if len(runs) != 2 {
		t.Fatalf("red columns in runs %v, want the mark and the legend's swatch", runs)
	}
	if got := runs[0]; abs(got[0]-x(8)) > 3 || abs(got[1]-x(12)) > 3 {
		t.Errorf("the split brain's mark spans columns %v, want %d to %d (8 to 12 s)", got, x(8), x(12))
	}
	if _, err := locksPicture(&checker.LockDetails{}, nil); err == nil {
		t.Error("no holds: no error")
	}
}

// TestLocksPictureKeepsLongHoldsWhole: a deposed holder's long belief is
// not hidden by the holds that came after it, however many.
func TestLocksPictureKeepsLongHoldsWhole(t *testing.T) {
	d := &checker.LockDetails{Holds: []checker.LockHold{
		{Lock: "l1", Process: 0, Start: 0, End: 10e9},
		{Lock: "l1", Process: 1, Start: 1e9, End: 2e9},
		{Lock: "l1", Process: 2, Start: 3e9, End: 4e9},
		{Lock: "l1", Process: 3, Start: 5e9, End: 6e9},
		{Lock: "l1", Process: 4, Start: 7e9, End: 8e9},
	}}
	windows := []checker.FaultWindow{{Kind: "partition", Start: 2e9, Stop: 9e9, Applied: true}}
	b, err := locksPicture(d, windows)
	if err != nil {
		t.Fatal(err)
	}
	img := lanesImage(t, b, LocksPlotFile, 200)
	x := timeAxis(t, img, 2, 9)
	// Every row where p0's colour shows at 0.5 s must show it through 9.5 s.
	p0 := processColors[0]
	rows := 0
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		if rgba(img, x(0.5), y) != p0 {
			continue
		}
		rows++
		for s := 0.5; s < 9.6; s += 0.5 {
			if rgba(img, x(s), y) != p0 {
				t.Fatalf("p0's hold is hidden at %.1f s (row %d)", s, y)
			}
		}
	}
	if rows == 0 {
		t.Fatal("p0's hold is not drawn")
	}
}

// timeAxis finds the time axis of a lanes picture from the columns of a
// partition shaded from s0 to s1 seconds, and maps seconds to columns.
func timeAxis(t *testing.T, img image.Image, s0, s1 float64) func(float64) int {
	t.Helper()
	pink := faultColor("partition")
	runs := columnRuns(img, func(c color.RGBA) bool { return c == pink })
	if len(runs) != 1 {
		t.Fatalf("the fault's shade in column runs %v, want one", runs)
	}
	perSecond := float64(runs[0][1]-runs[0][0]) / (s1 - s0)
	return func(s float64) int { return runs[0][0] + int((s-s0)*perSecond+0.5) }
}

// columnRuns lists the runs of adjacent columns that have a pixel which
// is.
func columnRuns(img image.Image, is func(color.RGBA) bool) [][2]int {
	var runs [][2]int
	for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
		for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
			if !is(rgba(img, x, y)) {
				continue
			}
			if k := len(runs) - 1; k >= 0 && runs[k][1] == x-1 {
				runs[k][1] = x
			} else {
				runs = append(runs, [2]int{x, x})
			}
			break
		}
	}
	return runs
}

func rgba(img image.Image, x, y int) color.RGBA {
	r, g, b, a := img.At(x, y).RGBA()
	return color.RGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: uint8(a >> 8)}
}

func abs(n int) int { return max(n, -n) }

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
