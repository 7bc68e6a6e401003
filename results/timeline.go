package results

import (
	"bytes"
	"cmp"
	"fmt"
	"image/color"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/faultline/faultline/checker"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// TimelinePlotFile is the picture of what each node believed about
// leadership over time, drawn from the leadership checker's details.
const TimelinePlotFile = "timeline.png"

// timelineCaption says what timeline.png shows, in the report.
const timelineCaption = "What each node believed about leadership over time, as the observer saw it about once a second: a lane per node, coloured by the role it believed it had (ZooKeeper leader, follower, looking; a broker that names itself the controller; a KRaft controller that names itself the quorum's leader; grey while it did not answer). Under a broker's lane, the blue strip darkens with the number of partitions it believed it led. Red marks over two lanes are overlaps: times both nodes believed they led the same thing (brief ones during a failover are expected). Shaded bands are the fault windows."

// roleColors colour the roles a node may believe it has.
var roleColors = map[string]color.RGBA{
	"leader":     {R: 0xe6, G: 0x55, B: 0x0d, A: 0xff},
	"controller": {R: 0x75, G: 0x4b, B: 0xb0, A: 0xff},
	"follower":   {R: 0x74, G: 0xc4, B: 0x76, A: 0xff},
	"observer":   {R: 0xc7, G: 0xe9, B: 0xc0, A: 0xff},
	"broker":     {R: 0x9e, G: 0xca, B: 0xe1, A: 0xff},
	"looking":    {R: 0xff, G: 0xd9, B: 0x2f, A: 0xff},
	"unattached": {R: 0xff, G: 0xd9, B: 0x2f, A: 0xff},
	"standalone": {R: 0x80, G: 0xb1, B: 0xd3, A: 0xff},
	"unanswered": {R: 0xbd, G: 0xbd, B: 0xbd, A: 0xff},
}

// otherRoleColor colours a role not in roleColors.
var otherRoleColor = color.RGBA{R: 0xc8, G: 0xb4, B: 0x96, A: 0xff}

// The legend's order of roles.
var roleOrder = []string{"leader", "controller", "follower", "observer", "broker", "standalone", "looking", "unattached", "unanswered"}

var overlapColor = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}

// leadsShade is the colour of a broker leading n of at most most
// partitions: from a pale to a dark blue, opaque (so the fault shading
// behind does not tint it).
func leadsShade(n, most int) color.RGBA {
	pale, dark := [3]float64{0xc6, 0xdb, 0xef}, [3]float64{0x08, 0x30, 0x6b}
	f := float64(n) / float64(max(most, 1))
	var c [3]uint8
	for i := range c {
		c[i] = uint8(pale[i] + (dark[i]-pale[i])*f)
	}
	return color.RGBA{R: c[0], G: c[1], B: c[2], A: 0xff}
}

// secondsTicks labels a time axis in seconds at round steps, about ten.
type secondsTicks struct{}

// Ticks returns ticks every 1, 2, 5, 10, 15, 30, 60, 120, ... seconds.
func (secondsTicks) Ticks(lo, hi float64) []plot.Tick {
	step := 3600.0
	for _, s := range []float64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800} {
		if (hi-lo)/s <= 12 {
			step = s
			break
		}
	}
	var ticks []plot.Tick
	for t := math.Ceil(lo/step) * step; t <= hi; t += step {
		ticks = append(ticks, plot.Tick{Value: t, Label: strconv.FormatFloat(t, 'f', -1, 64)})
	}
	return ticks
}

// overlapSource is the f whose lanes an overlap of a kind is drawn on.
func overlapSource(kind string) string {
	switch kind {
	case "zk-leader":
		return "zk-mode"
	case "kraft-leader":
		return "kraft-quorum"
	}
	return "kafka-view"
}

// writeTimelinePlot draws d into dir's timeline.png.
func writeTimelinePlot(dir string, d *checker.LeadershipDetails, windows []checker.FaultWindow) (string, error) {
	return writePicture(dir, TimelinePlotFile, func() ([]byte, error) { return timelinePicture(d, windows) })
}

// timelinePicture draws a lane per observed node, coloured by the role it
// believed it had, with the fault windows shaded and the overlaps marked,
// as a PNG.
func timelinePicture(d *checker.LeadershipDetails, windows []checker.FaultWindow) ([]byte, error) {
	if len(d.Nodes) == 0 {
		return nil, fmt.Errorf("no node was observed")
	}
	n := len(d.Nodes)
	laneY := func(i int) float64 { return float64(n - 1 - i) }
	const half = 0.34 // a lane's bar is 2*half high
	p := plot.New()
	p.Title.Text = "What each node believed about leadership (shaded: faults; red: overlaps)"
	p.X.Label.Text = "time since the workload began (s)"
	end := max(d.End, int64(1e9))
	for _, w := range windows {
		if w.Applied {
			end = max(end, w.Stop)
		}
	}
	p.X.Min, p.X.Max = 0, seconds(end)
	p.X.Tick.Marker = secondsTicks{}
	p.Y.Min, p.Y.Max = -0.6, float64(n)-0.4
	if err := shadeWindows(p, windows, p.Y.Min, p.Y.Max); err != nil {
		return nil, err
	}

	// One polygon per role, a ring per interval.
	rings := map[string][]plotter.XYer{}
	maxLeads := 0
	for _, nd := range d.Nodes {
		for _, iv := range nd.Intervals {
			maxLeads = max(maxLeads, iv.Leads)
		}
	}
	type leadsRect struct {
		x0, x1, y float64
		leads     int
	}
	var leads []leadsRect
	for i, nd := range d.Nodes {
		y := laneY(i)
		for _, iv := range nd.Intervals {
			x0, x1 := seconds(iv.Start), seconds(iv.End)
			if x1 <= x0 {
				continue
			}
			lo := y - half
			if nd.Source == "kafka-view" {
				lo = y - half/3 // the strip below shows the partitions led
				if iv.Role != "unanswered" {
					leads = append(leads, leadsRect{x0, x1, y, iv.Leads})
				}
			}
			rings[iv.Role] = append(rings[iv.Role], rect(x0, x1, lo, y+half))
		}
	}
	legend := plot.NewLegend()
	legend.TextStyle.Font.Size = vg.Points(10)
	legend.Top, legend.Left = true, true
	rank := func(role string) int {
		if i := slices.Index(roleOrder, role); i >= 0 {
			return i
		}
		return len(roleOrder)
	}
	roles := slices.SortedFunc(maps.Keys(rings), func(a, b string) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a, b))
	})
	for _, role := range roles {
		poly, err := plotter.NewPolygon(rings[role]...)
		if err != nil {
			return nil, err
		}
		c, ok := roleColors[role]
		if !ok {
			c = otherRoleColor
		}
		poly.Color = c
		poly.LineStyle.Width = 0
		p.Add(poly)
		legend.Add(role, poly)
	}
	if maxLeads > 0 {
		byLeads := map[int][]plotter.XYer{}
		for _, l := range leads {
			if l.leads > 0 {
				byLeads[l.leads] = append(byLeads[l.leads], rect(l.x0, l.x1, l.y-half, l.y-half/3))
			}
		}
		for _, k := range slices.Sorted(maps.Keys(byLeads)) {
			poly, err := plotter.NewPolygon(byLeads[k]...)
			if err != nil {
				return nil, err
			}
			poly.Color = leadsShade(k, maxLeads)
			poly.LineStyle.Width = 0
			p.Add(poly)
			if k == maxLeads {
				legend.Add(fmt.Sprintf("leads partitions (darkest: %d)", maxLeads), poly)
			}
		}
	}
	if len(d.Overlaps) > 0 {
		lane := map[[2]string]int{}
		for i, nd := range d.Nodes {
			lane[[2]string{nd.Node, nd.Source}] = i
		}
		var marks []plotter.XYer
		for _, o := range d.Overlaps {
			x0, x1 := seconds(o.Start), seconds(o.End)
			x1 = max(x1, x0+seconds(end)/500) // visible however brief
			for _, node := range o.Nodes {
				if i, ok := lane[[2]string{node, overlapSource(o.Kind)}]; ok {
					y := laneY(i)
					marks = append(marks, rect(x0, x1, y+half, y+half+0.12))
				}
			}
		}
		if len(marks) > 0 {
			poly, err := plotter.NewPolygon(marks...)
			if err != nil {
				return nil, err
			}
			poly.Color = overlapColor
			poly.LineStyle.Width = 0
			p.Add(poly)
			legend.Add(fmt.Sprintf("overlap (%d)", len(d.Overlaps)), poly)
		}
	}
	p.Y.Tick.Marker = plot.TickerFunc(func(lo, hi float64) []plot.Tick {
		ticks := make([]plot.Tick, n)
		for i, nd := range d.Nodes {
			ticks[i] = plot.Tick{Value: laneY(i), Label: nd.Node}
		}
		return ticks
	})
	return lanesPNG(p, legend, n)
}

// lanesPNG renders a picture of n lanes (timeline.png, locks.png), its
// legend to the right, as a PNG 11 inches wide at 96 dpi.
func lanesPNG(p *plot.Plot, legend plot.Legend, n int) ([]byte, error) {
	p.Y.Tick.Label.Font.Size = vg.Points(10)
	const legendW = 2.1 * vg.Inch
	w, h := 11*vg.Inch, max(2.6*vg.Inch, vg.Inch+0.42*vg.Inch*vg.Length(n))
	c := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(96))
	dc := draw.New(c)
	p.Draw(draw.Crop(dc, vg.Points(4), -legendW, vg.Points(4), -vg.Points(4)))
	legend.Draw(draw.Crop(dc, w-legendW+vg.Points(10), 0, 0, -vg.Points(28)))
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writePicture writes the PNG that draw makes into dir's file, and
// returns the file's name.
func writePicture(dir, file string, draw func() ([]byte, error)) (string, error) {
	png, err := draw()
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, file), png, 0o644)
	}
	if err != nil {
		return "", fmt.Errorf("write %s: %w", file, err)
	}
	return file, nil
}

// rect is a rectangle's corners, as a polygon's ring.
func rect(x0, x1, y0, y1 float64) plotter.XYs {
	return plotter.XYs{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}}
}
