package zkregister

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"

	"github.com/faultline/faultline/history"
)

// generator chooses ops: a key among those in use, an f by the read mode,
// unique values, and expected versions near the latest one seen so that
// some compare-and-sets succeed and some fail. Its choices follow from the
// seed; which process gets which op follows the processes' timing.
type generator struct {
	mu        sync.Mutex
	made      *sync.Cond // signalled when a slot's fresh key is made (or not)
	rng       *rand.Rand
	reads     bool
	opsPerKey int
	slots     []slot
	nextKey   int
	nextValue int64
	versions  map[string]int32 // the highest version seen per key
	keysMade  []string         // every key whose znode exists, in order
}

// slot is a key in use and how many ops it has been given; making says a
// process is creating the slot's next key.
type slot struct {
	key    string
	ops    int
	making bool
}

func newGenerator(seed uint64, o Options) *generator {
	g := &generator{
		rng:       rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		reads:     o.Reads != ReadNone,
		opsPerKey: o.OpsPerKey,
		slots:     make([]slot, o.Keys),
		nextValue: 1,
		versions:  map[string]int32{},
	}
	g.made = sync.NewCond(&g.mu)
	return g
}

// freshKey names the next key.
func (g *generator) freshKey() string {
	k := "r" + strconv.Itoa(g.nextKey)
	g.nextKey++
	return k
}

// next picks the next op. When the chosen slot's key is spent, it asks
// ensure to make a fresh key, and fails if that fails. ensure runs without
// the lock, so a slow create (ZooKeeper without quorum) stalls only its own
// process: the others use the other slots meanwhile, or wait if every slot
// is being remade. No op on a key is handed out before the key exists.
func (g *generator) next(ensure func(key string) error) (history.Op, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	i := g.rng.IntN(len(g.slots))
	for g.slots[i].making {
		j := g.readySlot(i)
		if j >= 0 {
			i = j
			break
		}
		g.made.Wait()
	}
	s := &g.slots[i]
	if s.key == "" || s.ops >= g.opsPerKey {
		key := g.freshKey()
		s.making = true
		g.mu.Unlock()
		err := ensure(key)
		g.mu.Lock()
		s.making = false
		g.made.Broadcast()
		if err != nil {
			return history.Op{}, err
		}
		*s = slot{key: key}
		g.keysMade = append(g.keysMade, key)
	}
	s.ops++
	op := history.Op{Type: history.Invoke, Key: s.key}
	roll := g.rng.IntN(10)
	switch {
	case g.reads && roll < 4:
		op.F = "read"
	case roll%2 == 0:
		op.F = "write"
		op.Value = mustJSON(writeValue{Value: g.value()})
	default:
		op.F = "cas"
		expected := g.versions[s.key]
		switch g.rng.IntN(5) { // mostly the latest version seen; sometimes a neighbour
		case 0:
			expected++
		case 1:
			expected = max(0, expected-1)
		}
		op.Value = mustJSON(casValue{ExpectedVersion: expected, Value: g.value()})
	}
	return op, nil
}

func (g *generator) value() int64 {
	v := g.nextValue
	g.nextValue++
	return v
}

// observe learns the version an op saw or made.
func (g *generator) observe(version int32, key string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if version > g.versions[key] {
		g.versions[key] = version
	}
}

// readySlot returns a slot after i (cyclically) whose key is not being
// remade, or -1 if every slot is.
func (g *generator) readySlot(i int) int {
	for k := 1; k <= len(g.slots); k++ {
		if j := (i + k) % len(g.slots); !g.slots[j].making {
			return j
		}
	}
	return -1
}

// keys lists every key made so far.
func (g *generator) keys() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.keysMade)
}
