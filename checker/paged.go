package checker

// pageBits sets the size of a full page of a paged slice: 8192 items.
const (
	pageBits = 13
	pageSize = 1 << pageBits
	pageMask = pageSize - 1
)

// paged is a growable slice kept in pages, for the queue checker's tables
// that grow with the records read (one entry per value, per offset). Past
// its first page it grows a page at a time, so it never copies what it
// holds and never holds much more than its length: append's doubling would
// allocate up to twice a table's length ahead and, while it copies, hold the
// old table too, three times the memory at the peak. The first page grows
// like a slice, so a small table stays small.
type paged[T any] struct {
	pages [][]T
	n     int
}

// len returns the number of items.
func (p *paged[T]) len() int { return p.n }

// at returns item i, which must be below len().
func (p *paged[T]) at(i int) *T { return &p.pages[i>>pageBits][i&pageMask] }

// push appends v.
func (p *paged[T]) push(v T) {
	p.extend(p.n + 1)
	*p.at(p.n - 1) = v
}

// extend makes the length n, if it is less, with zero items.
func (p *paged[T]) extend(n int) {
	for p.n < n {
		if p.n < pageSize { // the first page grows like a slice
			if len(p.pages) == 0 {
				p.pages = [][]T{nil}
			}
			first := p.pages[0]
			want := min(pageSize, n)
			if want > cap(first) {
				grown := make([]T, want, min(pageSize, max(want, 2*cap(first), 16)))
				copy(grown, first)
				first = grown
			}
			p.pages[0] = first[:want]
			p.n = want
			continue
		}
		if p.n == len(p.pages)*pageSize {
			p.pages = append(p.pages, make([]T, pageSize))
		}
		p.n = min(n, len(p.pages)*pageSize)
	}
}

// pushAll appends vs.
func (p *paged[T]) pushAll(vs []T) {
	for len(vs) > 0 {
		start := p.n
		k := min(pageSize-start&pageMask, len(vs)) // what fits in start's page
		p.extend(start + k)
		copy(p.pages[start>>pageBits][start&pageMask:], vs[:k])
		vs = vs[k:]
	}
}

// slice returns items start to end: a slice of a page if they are all on
// one, else a copy.
func (p *paged[T]) slice(start, end int) []T {
	if start == end {
		return nil
	}
	if start>>pageBits == (end-1)>>pageBits {
		page := p.pages[start>>pageBits]
		return page[start&pageMask : start&pageMask+end-start : start&pageMask+end-start]
	}
	out := make([]T, 0, end-start)
	for i := start; i < end; {
		k := min(pageSize-i&pageMask, end-i)
		out = append(out, p.pages[i>>pageBits][i&pageMask:i&pageMask+k]...)
		i += k
	}
	return out
}

// each calls f with each item in order, until f returns false.
func (p *paged[T]) each(f func(i int, v *T) bool) {
	for i := 0; i < p.n; i++ {
		if !f(i, p.at(i)) {
			return
		}
	}
}
