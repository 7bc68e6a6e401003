package results

import (
	"bytes"
	"fmt"
	"image/color"
	"math"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/history"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// The pictures of a run, drawn from its history into its directory.
const (
	LatencyPlotFile    = "latency.png"
	ThroughputPlotFile = "throughput.png"
)

// maxPicturePoints bounds the points the latency picture draws; a larger
// history is drawn from every k-th call, and the caption says so.
const maxPicturePoints = 250_000

// The outcomes' colours, in every picture and in the report.
var outcomeColors = map[history.Type]color.RGBA{
	history.OK:   {R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	history.Fail: {R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	history.Info: {R: 0xff, G: 0x8c, B: 0x00, A: 0xff},
}

// outcomes in the order they are drawn: the rare ones on top.
var outcomes = []history.Type{history.OK, history.Info, history.Fail}

// faultColor is the shade of a fault's window, by kind, in the pictures
// and the report's timeline.
func faultColor(kind string) color.RGBA {
	switch kind {
	case "partition":
		return color.RGBA{R: 0xff, G: 0xc8, B: 0xc8, A: 0xff}
	case "kill":
		return color.RGBA{R: 0xd4, G: 0xd4, B: 0xd4, A: 0xff}
	case "pause":
		return color.RGBA{R: 0xc8, G: 0xdc, B: 0xff, A: 0xff}
	case "packet":
		return color.RGBA{R: 0xff, G: 0xeb, B: 0xb4, A: 0xff}
	default:
		return color.RGBA{R: 0xe6, G: 0xd2, B: 0xff, A: 0xff}
	}
}

func cssColor(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// shadeWindows adds the fault windows to p as shaded bands from lo to hi.
func shadeWindows(p *plot.Plot, windows []checker.FaultWindow, lo, hi float64) error {
	for _, w := range windows {
		if !w.Applied {
			continue
		}
		x0, x1 := seconds(w.Start), seconds(w.Stop)
		if x1 <= x0 {
			continue
		}
		shade, err := plotter.NewPolygon(plotter.XYs{{X: x0, Y: lo}, {X: x1, Y: lo}, {X: x1, Y: hi}, {X: x0, Y: hi}})
		if err != nil {
			return err
		}
		shade.Color = faultColor(w.Kind)
		shade.LineStyle.Width = 0
		p.Add(shade)
	}
	return nil
}

// picture is a drawn PNG and what it shows.
type picture struct {
	File    string
	PNG     []byte
	Caption string
}

// latencyPicture draws every completed client call as a point at its
// invocation time, as high as it took (log scale), coloured by outcome,
// a panel per f, with the fault windows shaded.
func latencyPicture(s *opSeries, windows []checker.FaultWindow) (picture, error) {
	pic := picture{File: LatencyPlotFile}
	step := 1
	if len(s.calls) > maxPicturePoints {
		step = (len(s.calls) + maxPicturePoints - 1) / maxPicturePoints
	}
	type key struct {
		f int
		o history.Type
	}
	pts := map[key]plotter.XYs{}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := 0; i < len(s.calls); i += step {
		c := s.calls[i]
		ms := max(float64(c.end-c.start)/1e6, 0.001)
		lo, hi = min(lo, ms), max(hi, ms)
		k := key{int(c.f), c.outcome}
		pts[k] = append(pts[k], plotter.XY{X: seconds(c.start), Y: ms})
	}
	if math.IsInf(lo, 1) {
		lo, hi = 0.1, 1
	}
	lo, hi = lo/1.5, hi*1.5
	xmax := max(seconds(s.end), 1)
	var panels []*plot.Plot
	for fi, f := range s.fs {
		p := plot.New()
		p.Title.Text = "latency of " + f + " (ms, log scale)"
		p.X.Min, p.X.Max = 0, xmax
		p.Y.Min, p.Y.Max = lo, hi
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		if fi == len(s.fs)-1 {
			p.X.Label.Text = "time since the workload began (s)"
		}
		if err := shadeWindows(p, windows, lo, hi); err != nil {
			return pic, err
		}
		for _, o := range outcomes {
			xys := pts[key{fi, o}]
			if len(xys) == 0 {
				continue
			}
			sc, err := plotter.NewScatter(xys)
			if err != nil {
				return pic, err
			}
			sc.GlyphStyle = draw.GlyphStyle{Color: outcomeColors[o], Radius: vg.Points(1), Shape: draw.BoxGlyph{}}
			p.Add(sc)
			p.Legend.Add(fmt.Sprintf("%s %d", o, len(xys)), sc)
		}
		p.Legend.Top = true
		panels = append(panels, p)
	}
	pic.Caption = "Each point is one client call: when it was invoked (x) and how long it took to complete (y, log scale), coloured by outcome (green ok, red fail, orange info), a panel per operation; shaded bands are the fault windows."
	if step > 1 {
		pic.Caption += fmt.Sprintf(" The history has %d calls: every %d-th is drawn.", len(s.calls), step)
	}
	if s.incomplete > 0 {
		pic.Caption += fmt.Sprintf(" %d calls never completed and are not drawn.", s.incomplete)
	}
	var err error
	pic.PNG, err = drawPanels(panels)
	return pic, err
}

// throughputPicture draws, per f, how many calls completed per second
// with each outcome, in buckets of a fixed width, with the fault windows
// shaded.
func throughputPicture(s *opSeries, windows []checker.FaultWindow) (picture, error) {
	pic := picture{File: ThroughputPlotFile}
	end := max(s.end, int64(1e9))
	width := bucketWidth(end)
	n := int(end/width) + 1
	counts := make([]map[history.Type][]float64, len(s.fs))
	for i := range counts {
		counts[i] = map[history.Type][]float64{}
	}
	for _, c := range s.calls {
		b := int(c.end / width)
		if b >= n {
			b = n - 1
		}
		m := counts[c.f]
		if m[c.outcome] == nil {
			m[c.outcome] = make([]float64, n)
		}
		m[c.outcome][b]++
	}
	perSecond := 1e9 / float64(width)
	hi := 1.0
	for _, m := range counts {
		for _, bs := range m {
			for _, v := range bs {
				hi = max(hi, v*perSecond)
			}
		}
	}
	hi *= 1.08
	var panels []*plot.Plot
	for fi, f := range s.fs {
		p := plot.New()
		p.Title.Text = "completed " + f + " calls per second"
		p.X.Min, p.X.Max = 0, seconds(end)
		p.Y.Min, p.Y.Max = 0, hi
		p.Y.Tick.Marker = wholeTicks{}
		if fi == len(s.fs)-1 {
			p.X.Label.Text = fmt.Sprintf("time since the workload began (s); buckets of %s", fmtSeconds(width))
		}
		if err := shadeWindows(p, windows, 0, hi); err != nil {
			return pic, err
		}
		for _, o := range outcomes {
			bs := counts[fi][o]
			if bs == nil {
				continue
			}
			xys := make(plotter.XYs, n)
			for b, v := range bs {
				xys[b] = plotter.XY{X: seconds(int64(b)*width) + seconds(width)/2, Y: v * perSecond}
			}
			line, err := plotter.NewLine(xys)
			if err != nil {
				return pic, err
			}
			line.Color = outcomeColors[o]
			line.Width = vg.Points(1.4)
			p.Add(line)
			p.Legend.Add(string(o), line)
		}
		p.Legend.Top = true
		panels = append(panels, p)
	}
	pic.Caption = fmt.Sprintf("Calls completed per second, per operation and outcome (green ok, red fail, orange info), counted in buckets of %s by completion time; shaded bands are the fault windows.", fmtSeconds(width))
	var err error
	pic.PNG, err = drawPanels(panels)
	return pic, err
}

// bucketWidth picks a round bucket width giving about 100 buckets over
// span nanoseconds, at least 100 ms.
func bucketWidth(span int64) int64 {
	target := float64(span) / 100
	for _, w := range []float64{1e8, 2e8, 5e8, 1e9, 2e9, 5e9, 10e9, 15e9, 30e9, 60e9, 120e9, 300e9, 600e9, 1800e9, 3600e9} {
		if w >= target {
			return int64(w)
		}
	}
	return int64(3600e9)
}

func fmtSeconds(ns int64) string {
	return fmt.Sprintf("%gs", float64(ns)/1e9)
}

// drawPanels stacks plots in one PNG, their axes aligned.
func drawPanels(panels []*plot.Plot) ([]byte, error) {
	if len(panels) == 0 {
		return nil, fmt.Errorf("the history has no completed client calls to draw")
	}
	w, h := 10*vg.Inch, vg.Length(len(panels))*2.3*vg.Inch
	c := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(96))
	dc := draw.New(c)
	rows := make([][]*plot.Plot, len(panels))
	for i, p := range panels {
		rows[i] = []*plot.Plot{p}
	}
	tiles := draw.Tiles{Rows: len(panels), Cols: 1, PadY: vg.Points(6), PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(8)}
	canvases := plot.Align(rows, tiles, dc)
	for i, p := range panels {
		p.Draw(canvases[i][0])
	}
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
