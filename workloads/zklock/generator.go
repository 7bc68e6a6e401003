package zklock

import (
	"math/rand/v2"
	"strconv"
	"sync"
)

// generator makes the choices the seed drives: which lock an acquire
// aims at, and the values written, unique within the run. What a process
// does next follows from what it holds (see client.next).
type generator struct {
	mu        sync.Mutex
	rng       *rand.Rand
	locks     int
	nextValue int64
}

func newGenerator(seed uint64, locks int) *generator {
	return &generator{rng: rand.New(rand.NewPCG(seed, seed^0x6a09e667f3bcc908)), locks: locks, nextValue: 1}
}

// lock draws a lock.
func (g *generator) lock() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return lockName(g.rng.IntN(g.locks))
}

// value is the next value to write.
func (g *generator) value() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	v := g.nextValue
	g.nextValue++
	return v
}

// lockName names lock i (from 0): l1, l2, ...
func lockName(i int) string { return "l" + strconv.Itoa(i+1) }
