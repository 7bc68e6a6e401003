package checker

import (
	"cmp"
	"math/bits"
	"slices"
)

// UnseenPoint is one point of the queue checker's unseen series (see Queue).
type UnseenPoint struct {
	// Time is in nanoseconds since the test's start, like an op's time.
	Time int64 `json:"time"`
	// Unseen counts the sends acknowledged ok by Time whose value no poll
	// completed by Time had returned.
	Unseen int `json:"unseen"`
}

// unseenPoints is how many points the unseen series has at most.
const unseenPoints = 200

// unseenChange is an ok send becoming unseen (acknowledged before any poll
// read its value) or seen again (first read after that).
type unseenChange struct {
	time  int64
	delta int
}

// unseenSeries samples, at unseenPoints evenly spaced times from the
// history's first op to its last, how many ok sends had been acknowledged
// but not yet read.
func (c *queueCheck) unseenSeries() []UnseenPoint {
	if len(c.ops) == 0 {
		return nil
	}
	span := c.maxTime - c.minTime
	n := unseenPoints
	if span < unseenPoints {
		n = int(span) + 1
	}
	points := make([]UnseenPoint, n)
	for i := range points {
		hi, lo := bits.Mul64(uint64(span), uint64(i+1))
		q, _ := bits.Div64(hi, lo, uint64(n)) // ≤ span, so hi < n
		points[i].Time = c.minTime + int64(q)
	}
	// Each change counts from the first point at or after its time. Times
	// rarely go back in a history, so walk forward, and search when they do.
	delta := make([]int, n)
	i := 0
	for k := range c.unseen.len() {
		ch := c.unseen.at(k)
		if i > 0 && points[i-1].Time >= ch.time {
			i, _ = slices.BinarySearchFunc(points, ch.time, func(p UnseenPoint, t int64) int { return cmp.Compare(p.Time, t) })
		}
		for points[i].Time < ch.time {
			i++
		}
		delta[i] += ch.delta
	}
	unseen := 0
	for i := range points {
		unseen += delta[i]
		points[i].Unseen = unseen
	}
	return points
}
