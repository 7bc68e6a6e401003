package results

import (
	"fmt"
	"image/color"
	"path/filepath"
	"strconv"

	"github.com/faultline/faultline/checker"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// UnseenPlotFile is the plot of a kafka-queue run's unseen sends.
const UnseenPlotFile = "unseen.png"

// writeUnseenPlot draws the unseen series over time, with the fault
// windows shaded, as Jepsen's Kafka checker does, into dir.
func writeUnseenPlot(dir string, points []checker.UnseenPoint, windows []checker.FaultWindow) (string, error) {
	p := plot.New()
	p.Title.Text = "Acknowledged sends no read had returned yet (shaded: faults)"
	p.X.Label.Text = "time since the test began (s)"
	p.Y.Label.Text = "unseen sends"
	top := 1.0
	xys := make(plotter.XYs, len(points))
	for i, pt := range points {
		xys[i].X, xys[i].Y = seconds(pt.Time), float64(pt.Unseen)
		top = max(top, xys[i].Y)
	}
	top *= 1.05
	if err := shadeWindows(p, windows, 0, top); err != nil {
		return "", err
	}
	if len(xys) > 0 {
		line, err := plotter.NewLine(xys)
		if err != nil {
			return "", err
		}
		line.Color = color.RGBA{B: 200, A: 255}
		line.Width = vg.Points(1.5)
		p.Add(line)
	}
	p.Y.Min, p.Y.Max = 0, top
	p.X.Min = 0
	p.Y.Tick.Marker = wholeTicks{}
	if err := p.Save(10*vg.Inch, 4*vg.Inch, filepath.Join(dir, UnseenPlotFile)); err != nil {
		return "", fmt.Errorf("write %s: %w", UnseenPlotFile, err)
	}
	return UnseenPlotFile, nil
}

func seconds(ns int64) float64 { return float64(ns) / 1e9 }

// wholeTicks labels an axis of counts without decimals.
type wholeTicks struct{}

// Ticks returns plot's default ticks, labelled as whole numbers.
func (wholeTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = strconv.FormatFloat(ticks[i].Value, 'f', 0, 64)
		}
	}
	return ticks
}
