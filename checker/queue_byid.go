package checker

// byID finds an item by a small integer id: ids below the table's limit
// index a slice, larger (or negative) ones a map. Partitions and processes
// are numbered from 0, so the slice is the path taken in practice.
type byID[K ~int | ~int32 | ~int64, V any] struct {
	small []*V
	large map[K]*V
	all   []*V // in order of first appearance
}

// get returns the item of id, making it with newItem on first use; limit
// bounds the slice.
func (t *byID[K, V]) get(id K, limit int, newItem func() *V) *V {
	if id >= 0 && int64(id) < int64(limit) {
		if int(id) < len(t.small) {
			if p := t.small[id]; p != nil {
				return p
			}
		} else {
			t.small = append(t.small, make([]*V, min(limit, max(int(id)+1, 2*len(t.small)))-len(t.small))...)
		}
		p := newItem()
		t.all = append(t.all, p)
		t.small[id] = p
		return p
	}
	if p := t.large[id]; p != nil {
		return p
	}
	if t.large == nil {
		t.large = map[K]*V{}
	}
	p := newItem()
	t.all = append(t.all, p)
	t.large[id] = p
	return p
}
