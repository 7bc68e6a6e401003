package results

import (
	"cmp"
	"fmt"
	"image/color"
	"math"
	"slices"

	"github.com/faultline/faultline/checker"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// LocksPlotFile is the picture of who believed they held each lock over
// time, drawn from the lock checker's details.
const LocksPlotFile = "locks.png"

// locksCaption says what locks.png shows, in the report.
const locksCaption = "Who believed they held each lock over time (the lock checker's beliefs): a lane per lock, a bar per hold from its acquire's ok completion to the invocation of its release (or its loss, or its process's retirement), coloured by process (the colours repeat every ten processes); a lock's holds share two rows, so that two at once both show whole. Red above a lane: two processes believed they held the lock at once (split brain); orange: both were fenced clients, harmless while fencing holds. Shaded bands are the fault windows."

// maxLockLanes bounds the locks the picture draws a lane for.
const maxLockLanes = 40

// processColors colour the holds by process, mod 10.
var processColors = []color.RGBA{
	{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, {R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}, {R: 0x8c, G: 0x56, B: 0x4b, A: 0xff},
	{R: 0xe3, G: 0x77, B: 0xc2, A: 0xff}, {R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff},
	{R: 0xbc, G: 0xbd, B: 0x22, A: 0xff}, {R: 0x17, G: 0xbe, B: 0xcf, A: 0xff},
	{R: 0x39, G: 0x3b, B: 0x79, A: 0xff}, {R: 0x63, G: 0x79, B: 0x39, A: 0xff},
}

// fencedOverlapColor marks overlaps of two fenced clients.
var fencedOverlapColor = color.RGBA{R: 0xff, G: 0x8c, B: 0x00, A: 0xff}

// writeLocksPlot draws d into dir's locks.png.
func writeLocksPlot(dir string, d *checker.LockDetails, windows []checker.FaultWindow) (string, error) {
	return writePicture(dir, LocksPlotFile, func() ([]byte, error) { return locksPicture(d, windows) })
}

// locksPicture draws a lane per lock with its holds, coloured by process,
// the overlaps marked above, and the fault windows shaded, as a PNG.
func locksPicture(d *checker.LockDetails, windows []checker.FaultWindow) ([]byte, error) {
	if len(d.Holds) == 0 {
		return nil, fmt.Errorf("no lock was held")
	}
	lane := map[string]int{}
	var locks []string
	end := int64(1e9)
	for _, h := range d.Holds {
		end = max(end, h.End)
		if _, ok := lane[h.Lock]; !ok && len(locks) < maxLockLanes {
			lane[h.Lock] = len(locks)
			locks = append(locks, h.Lock)
		}
	}
	for _, w := range windows {
		if w.Applied {
			end = max(end, w.Stop)
		}
	}
	n := len(locks)
	laneY := func(i int) float64 { return float64(n - 1 - i) }
	const half = 0.34
	p := plot.New()
	p.Title.Text = "Who believed they held each lock (shaded: faults; red: split brain)"
	if all := countLocks(d.Holds); n < all {
		p.Title.Text += fmt.Sprintf("; the first %d of %d locks", n, all)
	}
	if d.HoldsLeft > 0 {
		p.Title.Text += fmt.Sprintf("; the first %d holds (%d more not drawn)", len(d.Holds), d.HoldsLeft)
	}
	p.X.Label.Text = "time since the workload began (s)"
	p.X.Min, p.X.Max = 0, seconds(end)
	p.X.Tick.Marker = secondsTicks{}
	p.Y.Min, p.Y.Max = -0.6, float64(n)-0.4
	if err := shadeWindows(p, windows, p.Y.Min, p.Y.Max); err != nil {
		return nil, err
	}
	visible := seconds(end) / 1000 // the least width drawn

	// A lock's holds, by start, go in the first of two rows free by then,
	// so that of two holds at once (a split brain, or a belief that
	// outlived its lock node) both show whole; a third at once goes in
	// the row that frees first.
	byColor := make([][]plotter.XYer, len(processColors))
	order := make([]int, len(d.Holds))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(d.Holds[a].Start, d.Holds[b].Start) })
	rowEnd := map[string]*[2]float64{}
	const row = (half + half/2) / 2
	for _, hi := range order {
		h := d.Holds[hi]
		i, ok := lane[h.Lock]
		if !ok {
			continue
		}
		x0 := seconds(h.Start)
		x1 := max(seconds(h.End), x0+visible)
		ends := rowEnd[h.Lock]
		if ends == nil {
			ends = &[2]float64{math.Inf(-1), math.Inf(-1)}
			rowEnd[h.Lock] = ends
		}
		r := 0 // free, or else the one that frees first
		switch {
		case ends[0] <= x0:
		case ends[1] <= x0, ends[1] < ends[0]:
			r = 1
		}
		ends[r] = max(ends[r], x1)
		lo := laneY(i) - half + float64(r)*row
		k := int(h.Process) % len(processColors)
		if k < 0 {
			k += len(processColors)
		}
		byColor[k] = append(byColor[k], rect(x0, x1, lo, lo+row*0.92))
	}
	for k, rings := range byColor {
		if len(rings) == 0 {
			continue
		}
		poly, err := plotter.NewPolygon(rings...)
		if err != nil {
			return nil, err
		}
		poly.Color = processColors[k]
		poly.LineStyle.Width = 0
		p.Add(poly)
	}

	legend := plot.NewLegend()
	legend.TextStyle.Font.Size = vg.Points(10)
	legend.Top, legend.Left = true, true
	for _, fenced := range []bool{false, true} {
		// Merged per lane, so that overlapping marks are drawn once.
		spans := map[int][][2]float64{}
		drawn := 0
		for _, o := range d.Overlaps {
			i, ok := lane[o.Lock]
			if !ok || (o.Clients == [2]string{"fenced", "fenced"}) != fenced {
				continue
			}
			drawn++
			x0 := seconds(o.Start)
			spans[i] = append(spans[i], [2]float64{x0, max(seconds(o.End), x0+visible)})
		}
		if drawn == 0 {
			continue
		}
		var marks []plotter.XYer
		for i, ss := range spans {
			y := laneY(i)
			for _, s := range mergeSpans(ss) {
				marks = append(marks, rect(s[0], s[1], y+half/2, y+half+0.08))
			}
		}
		poly, err := plotter.NewPolygon(marks...)
		if err != nil {
			return nil, err
		}
		poly.Color, poly.LineStyle.Width = overlapColor, 0
		name, all := "split brain", d.SplitBrains
		if fenced {
			poly.Color = fencedOverlapColor
			name, all = "fenced overlap", d.FencedOverlaps
		}
		label := fmt.Sprintf("%s (%d)", name, all)
		if drawn < all {
			label = fmt.Sprintf("%s (%d, %d drawn)", name, all, drawn)
		}
		p.Add(poly)
		legend.Add(label, poly)
	}
	p.Y.Tick.Marker = plot.TickerFunc(func(lo, hi float64) []plot.Tick {
		ticks := make([]plot.Tick, n)
		for i, l := range locks {
			ticks[i] = plot.Tick{Value: laneY(i), Label: l}
		}
		return ticks
	})
	return lanesPNG(p, legend, n)
}

// countLocks counts the locks holds name.
func countLocks(holds []checker.LockHold) int {
	seen := map[string]bool{}
	for _, h := range holds {
		seen[h.Lock] = true
	}
	return len(seen)
}

// mergeSpans sorts spans and joins those that touch or overlap.
func mergeSpans(spans [][2]float64) [][2]float64 {
	slices.SortFunc(spans, func(a, b [2]float64) int { return cmp.Compare(a[0], b[0]) })
	var out [][2]float64
	for _, s := range spans {
		if k := len(out) - 1; k >= 0 && s[0] <= out[k][1] {
			out[k][1] = max(out[k][1], s[1])
			continue
		}
		out = append(out, s)
	}
	return out
}
